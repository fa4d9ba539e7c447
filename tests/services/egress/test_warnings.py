"""Build-time warnings: the addresses a step names (in its code or fields, or through its
credential) that a run would be refused, judged without any DNS lookup."""

from __future__ import annotations

import socket

import pytest

from app.services.credentials import sharing, store
from app.services.egress import allowlist, warnings
from tests import factories


def entries(*texts: str) -> list[allowlist.Entry]:
    return [allowlist.parse_entry(t) for t in texts]


def addresses(text: str, *allow: str) -> list[tuple[str, str]]:
    return [(w.address, w.entry) for w in warnings.check_texts([text], entries(*allow), "code")]


@pytest.fixture(autouse=True)
def no_dns(monkeypatch):
    """Any lookup fails the test: the warnings must never wait on DNS."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a DNS lookup was made: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)


def test_a_loopback_url_is_warned_about_with_the_entry_that_would_open_it():
    found = warnings.check_texts(['get("http://127.0.0.1:8080/patients")'], [], "the step's code")
    assert len(found) == 1
    assert found[0].address == "127.0.0.1:8080"
    assert found[0].entry == "127.0.0.1:8080"
    assert found[0].reason == "loopback address"
    assert found[0].where == "the step's code"


def test_an_entry_opens_the_url_only_on_its_port():
    url = 'post("http://10.0.0.5:8080/x", body={})'
    assert addresses(url, "10.0.0.5:8080") == []
    assert addresses(url, "10.0.0.0/24") == []
    assert addresses(url, "10.0.0.5:8081") == [("10.0.0.5:8080", "10.0.0.5:8080")]


@pytest.mark.parametrize(
    ("code", "address", "entry"),
    [
        (
            'get("http://169.254.169.254/latest/meta-data/")',
            "169.254.169.254:80",
            "169.254.169.254:80",
        ),
        ('get("https://[::1]/api")', "[::1]:443", "[::1]:443"),
        ('get("http://[::ffff:127.0.0.1]:81/")', "[::ffff:127.0.0.1]:81", "127.0.0.1:81"),
        ('get("http://127.1:9000/")', "127.1:9000", "127.0.0.1:9000"),
        ('get("http://2130706433/")', "2130706433:80", "127.0.0.1:80"),
        ('get("HTTP://LOCALHOST:5000/x")', "localhost:5000", "localhost:5000"),
        ("x = 'http://192.168.1.20/api'", "192.168.1.20:80", "192.168.1.20:80"),
    ],
)
def test_internal_addresses_in_any_written_form_are_found(code, address, entry):
    assert addresses(code) == [(address, entry)]


def test_public_urls_and_hostnames_are_not_judged():
    code = 'get("https://example.org/x")\nget("http://dhis2.office.lan/api")\nget("http://{host}/")'
    assert addresses(code) == []


def test_localhost_is_open_only_when_named_or_both_loopbacks_are():
    url = 'get("http://localhost:5000/")'
    assert addresses(url, "localhost:5000") == []
    assert addresses(url, "127.0.0.1", "::1") == []
    assert addresses(url, "127.0.0.1") == [("localhost:5000", "localhost:5000")]


def test_each_address_is_warned_about_once_and_malformed_urls_are_skipped():
    code = "\n".join(['get("http://127.0.0.1:1/a")'] * 5 + ['get("http://1.2.3.4:99999/")'])
    assert addresses(code) == [("127.0.0.1:1", "127.0.0.1:1")]


def test_the_number_of_warnings_and_the_text_scanned_are_bounded():
    many = " ".join(f"http://10.0.{i // 200}.{i % 200 + 1}/" for i in range(500))
    assert len(warnings.check_texts([many], [], "code")) == warnings.MAX_WARNINGS
    hidden = "x" * warnings.MAX_TEXT + ' get("http://127.0.0.1/")'
    assert warnings.check_texts([hidden], [], "code") == []


def test_a_step_is_judged_against_its_projects_saved_allowlist(db, project):
    project.egress_allowlist = ["127.0.0.1:8080", "not valid at all"]
    db.session.commit()
    texts = ['get("http://127.0.0.1:8080/")', 'get("http://127.0.0.1:8081/")']
    found = warnings.for_step(project.id, texts, None)
    assert [w.address for w in found] == ["127.0.0.1:8081"]


def test_the_credentials_base_url_is_checked(db, user, project):
    credential = store.create_credential(
        user,
        "Local DHIS2",
        "dhis2",
        {
            "body.base_url": ["http://10.1.2.3:8080"],
            "body.username": ["a"],
            "body.password": ["pw"],
        },
    )
    sharing.share(user, credential.id, project.id)
    found = warnings.for_step(project.id, ["get('trackedEntities')"], "Local DHIS2")
    assert [(w.where, w.address, w.entry) for w in found] == [
        ("credential “Local DHIS2”", "10.1.2.3:8080", "10.1.2.3:8080")
    ]
    # The secret is never part of a warning.
    assert "pw" not in repr(found)
    project.egress_allowlist = ["10.1.2.3:8080"]
    db.session.commit()
    assert warnings.for_step(project.id, [], "Local DHIS2") == []


def test_a_database_credentials_host_and_port_are_checked(db, user, project):
    credential = store.create_credential(
        user,
        "Registry",
        "postgresql",
        {"body.host": ["127.0.0.1"], "body.database": ["r"], "body.user": ["u"]},
    )
    sharing.share(user, credential.id, project.id)
    found = warnings.for_step(project.id, [], "Registry")
    assert [(w.address, w.entry) for w in found] == [("127.0.0.1:5432", "127.0.0.1:5432")]


def test_a_credential_not_shared_into_the_project_is_not_read(db, user, project):
    store.create_credential(user, "Elsewhere", "http", {"body.base_url": ["http://127.0.0.1:9"]})
    assert warnings.for_step(project.id, [], "Elsewhere") == []
    assert warnings.for_step(project.id, [], "No such credential") == []
    other = factories.project(user)
    db.session.commit()
    assert warnings.for_step(other.id, [], "Elsewhere") == []
