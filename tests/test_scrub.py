"""Credential values never leave a step: scrubbing of text, JSON, and end to end."""

from __future__ import annotations

import base64
import json
import urllib.parse

from app.scrub import MASK, Scrubber
from workers.runtime.protocol import StepRequest
from workers.runtime.sandbox import Sandbox


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secret_with_regex_metacharacters_is_masked_literally():
    secret = "p@$$w0rd.*+?[]"
    scrubber = Scrubber.from_configuration({"password": secret})
    assert scrubber.scrub_text(f"login with {secret} failed") == "login with *** failed"
    # As a regex, ".*" would have eaten the whole line; literal matching leaves it alone.
    assert scrubber.scrub_text("p@$$w0rdXXXX nothing secret") == "p@$$w0rdXXXX nothing secret"


def test_unicode_secret_and_its_base64_are_masked():
    secret = "pässwörd-秘密"
    scrubber = Scrubber.from_configuration({"apiKey": secret})
    assert scrubber.scrub_text(f"key={secret}; again {secret}") == "key=***; again ***"
    assert secret not in scrubber.scrub_text(f"encoded: {b64(secret)}")
    assert b64(secret).rstrip("=") not in scrubber.scrub_text(f"encoded: {b64(secret)}")


def test_basic_auth_header_of_username_and_password_is_masked():
    config = {"username": "admin", "password": "district"}
    header = f"Authorization: Basic {b64('admin:district')}"
    scrubbed = Scrubber.from_configuration(config).scrub_text(header)
    assert b64("admin:district").rstrip("=") not in scrubbed
    assert scrubbed.startswith("Authorization: Basic ***")


def test_login_and_pwd_pairs_count_as_credentials_too():
    config = {"login": "svc-sync", "pwd": "hunter2!"}
    scrubbed = Scrubber.from_configuration(config).scrub_text(f"Basic {b64('svc-sync:hunter2!')}")
    assert b64("svc-sync:hunter2!").rstrip("=") not in scrubbed
    assert scrubbed.startswith(f"Basic {MASK}")


def test_short_values_and_non_secret_keys_are_not_masked():
    config = {
        "username": "admin",
        "host": "db.example.org",
        "baseUrl": "https://play.dhis2.org",
        "port": "5432",
        "database": "warehouse",
        "pin": "123",
        "password": "s3cret-value",
    }
    scrubber = Scrubber.from_configuration(config)
    text = "admin@db.example.org:5432/warehouse via https://play.dhis2.org pin 123"
    assert scrubber.scrub_text(text) == text
    assert scrubber.scrub_text("pw s3cret-value") == "pw ***"


def test_nested_configuration_and_lists_are_collected():
    config = {"oauth": {"client": {"secret": "deep-secret-1"}}, "keys": ["list-secret-2", "ab"]}
    scrubber = Scrubber.from_configuration(config)
    assert scrubber.scrub_text("deep-secret-1 list-secret-2 ab") == "*** *** ab"


def test_longer_secret_is_masked_whole_before_a_shorter_one_inside_it():
    scrubber = Scrubber.from_configuration({"a": "token", "b": "token-extended"})
    assert scrubber.scrub_text("token-extended") == "***"


def test_scrub_json_masks_values_and_keys_at_any_depth():
    scrubber = Scrubber.from_configuration({"apiToken": "tok-12345"})
    value = {"data": [{"note": "sent tok-12345"}, 7, None], "tok-12345": True, "n": 1.5}
    assert scrubber.scrub_json(value) == {
        "data": [{"note": "sent ***"}, 7, None],
        "***": True,
        "n": 1.5,
    }


def test_empty_configuration_scrubs_nothing():
    scrubber = Scrubber.from_configuration({})
    assert not scrubber
    assert scrubber.scrub_text("anything at all") == "anything at all"


def test_a_job_that_prints_and_returns_the_secret_leaks_neither():
    secret = "p@$$w0rd.*+?[]-秘密"
    body = (
        "def leak(state):\n"
        "    secret = state['configuration']['password']\n"
        "    print('the password is', secret)\n"
        "    print('basic', state['basic'])\n"
        "    state['data'] = {'copy': secret, 'nested': [secret + '!'], secret: 1}\n"
        "    return state\n"
        "fn(leak)\n"
    )
    state = {
        "configuration": {"username": "admin", "password": secret},
        "basic": b64(f"admin:{secret}"),
    }
    with Sandbox() as sandbox:
        result = sandbox.run(StepRequest(body=body, adaptor="common", state=state))
    assert result.status == "success", result.error
    assert "configuration" not in result.state
    assert result.state["data"] == {"copy": MASK, "nested": [MASK + "!"], MASK: 1}
    messages = [line.message for line in result.logs if line.source == "job"]
    assert messages == ["the password is ***", "basic ***"]
    assert secret not in repr(result)
    assert b64(f"admin:{secret}").rstrip("=") not in repr(result)


def test_secrets_written_into_json_or_a_url_are_masked_too():
    secret = 'pa$$"w0rd(ü)*/ok'
    scrubber = Scrubber.from_configuration({"username": "ana", "password": secret})
    as_json_ascii = json.dumps({"password": secret})
    as_json_unicode = json.dumps({"password": secret}, ensure_ascii=False)
    in_a_query = "GET https://x.example/api?key=" + urllib.parse.quote(secret, safe="")
    in_a_form = "key=" + urllib.parse.quote_plus(secret, safe="")
    for text in (as_json_ascii, as_json_unicode, in_a_query, in_a_form):
        scrubbed = scrubber.scrub_text(text)
        assert "w0rd" not in scrubbed and "***" in scrubbed, scrubbed
