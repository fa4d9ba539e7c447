"""Security headers on every response, and the endpoint that receives CSP violation reports."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from flask import Response

from app.web import security_headers

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'; report-uri /csp-report"
)


def assert_protected(response, name: str = "") -> None:
    """Every header at its exact value; the content policy enforced, with no way around it."""
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", name
    assert headers.get("X-Frame-Options") == "DENY", name
    assert headers.get("Referrer-Policy") == "same-origin", name
    policy = headers.get("Content-Security-Policy")
    assert policy == POLICY, name
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["frame-ancestors"] == "'none'", name
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'", name
    for loophole in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "nonce-", "*"):
        assert loophole not in policy, (name, loophole)
    # Enforced, not only reported: no report-only header weakening or doubling it.
    assert "Content-Security-Policy-Report-Only" not in headers, name
    assert len(headers.getlist("Content-Security-Policy")) == 1, name
    assert "Strict-Transport-Security" not in headers, name  # the test app's BASE_URL is http


def test_the_sign_in_page_carries_the_security_headers(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert_protected(response)


def test_signed_in_pages_and_htmx_fragments_carry_them(signed_in, project):
    page = signed_in.get(f"/projects/{project.id}/history")
    fragment = signed_in.get(f"/projects/{project.id}/history/rows", headers={"HX-Request": "true"})
    for response in (page, fragment):
        assert response.status_code == 200
        assert_protected(response)


def test_api_webhook_static_and_error_responses_carry_them(client, signed_in, project):
    from app.models import Role
    from tests import factories

    hook = factories.workflow(project).triggers[0]
    # Someone else's credential shared into the project: its edit page is theirs alone (403).
    other = factories.user()
    factories.member(project, other, Role.EDITOR)
    foreign = factories.shared_dhis2_credential(other, project, "secret-password")
    responses = {
        "api": client.get("/api/v1/projects"),
        "webhook (fast path)": client.post("/i/no-such-trigger", json={"a": 1}),
        "webhook accepted (fast path)": client.post(f"/i/{hook.id}", json={"a": 1}),
        "webhook sub-path (Flask)": client.post(f"/i/{hook.id}/a/../b", json={}),
        "static": client.get("/static/css/ferry.css"),
        "vendored script": client.get("/static/vendor/htmx-2.0.11/htmx.min.js"),
        "not found page": client.get("/no/such/page"),
        "page": signed_in.get(f"/projects/{project.id}/settings/members"),
        "fragment": signed_in.get(
            f"/projects/{project.id}/history/rows", headers={"HX-Request": "true"}
        ),
        "forbidden page": signed_in.get(f"/credentials/{foreign.id}/edit"),
        "health": client.get("/health"),
        "csp report": client.post("/csp-report", data=b"", content_type="application/csp-report"),
    }
    assert responses["api"].status_code == 401
    assert responses["webhook (fast path)"].status_code == 404
    assert responses["webhook accepted (fast path)"].status_code == 200
    assert responses["webhook sub-path (Flask)"].status_code == 400
    assert responses["static"].status_code == 200
    assert responses["vendored script"].status_code == 200
    assert responses["not found page"].status_code == 404
    assert responses["page"].status_code == 200
    assert responses["fragment"].status_code == 200
    assert responses["forbidden page"].status_code == 403
    assert "text/html" in responses["not found page"].content_type
    assert responses["csp report"].status_code == 204
    for name, response in responses.items():
        response.close()
        assert_protected(response, name)


def test_a_500_page_carries_them(app, signed_in, monkeypatch):
    """errors/error.html drawn for an unexpected exception is protected like every page."""
    from app.services import projects
    from tests.support import csrf_token_from

    def broken_create(owner, name, description=""):
        raise RuntimeError("boom")

    token = csrf_token_from(signed_in.get("/projects/new").get_data(as_text=True))
    monkeypatch.setattr(projects, "create_project", broken_create)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = signed_in.post("/projects", data={"name": "Malaria", "csrf_token": token})
    assert response.status_code == 500
    assert "text/html" in response.content_type
    assert_protected(response, "500 page")


def test_a_body_over_the_limit_gets_the_413_page_with_them(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/login", data={"email": "x" * 4096})
    assert response.status_code == 413
    assert "text/html" in response.content_type
    assert_protected(response, "413 page")


def test_hsts_is_sent_on_pages_and_webhooks_only_when_base_url_is_https(app, settings):
    import dataclasses

    from app import create_app

    # `app` has created and migrated the test database this one reads.
    for base_url, expected in [
        ("https://ferry.example.org", security_headers.HSTS),
        ("http://ferry.internal:5000", None),
    ]:
        app = create_app(dataclasses.replace(settings, base_url=base_url))
        client = app.test_client()
        page = client.get("/login")
        webhook = client.post("/i/no-such-trigger", json={"a": 1})  # the fast path
        assert webhook.status_code == 404
        for response in (page, webhook):
            assert response.headers.get("Strict-Transport-Security") == expected, base_url
    assert security_headers.HSTS == "max-age=31536000"


def test_a_header_a_view_already_set_is_left_alone(app):
    own = Response(
        "embeddable",
        headers={
            "Content-Security-Policy": "frame-ancestors https://portal.example.org",
            "Referrer-Policy": "no-referrer",
        },
    )
    with app.test_request_context("/"):
        response = security_headers.add_security_headers(own)
    assert response.headers["Content-Security-Policy"] == (
        "frame-ancestors https://portal.example.org"
    )
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# What the policy would refuse, found in the source: the browser test (tests/browser/test_csp.py)
# sees only what its seeded pages draw; a retry banner or a bulk rerun's progress bar, say,
# appear only in states it does not build.
APP = Path(__file__).resolve().parents[2] / "app"
REFUSED_IN_TEMPLATES = {
    "an inline event handler": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "a style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "an inline <script> (only JSON data blocks may have no src)": re.compile(
        r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")", re.IGNORECASE
    ),
    "a <style> element": re.compile(r"<style", re.IGNORECASE),
    "htmx code (hx-on, hx-vars, js: values)": re.compile(r"hx-on|hx-vars|[\"']js:"),
    "an htmx trigger filter, which htmx evaluates": re.compile(r"hx-trigger=\"[^\"]*\]"),
}
REFUSED_IN_SCRIPTS = {
    "eval or new Function": re.compile(r"\beval\(|new Function\("),
    "a style attribute": re.compile(r"setAttribute\(\s*[\"']style|style=|\.cssText\b"),
    "a <style> element": re.compile(r"createElement\(\s*[\"']style"),
}


def test_templates_and_scripts_hold_nothing_the_policy_refuses():
    found = []
    # Mail templates are read in mail clients, never served under the policy.
    templates = [p for p in (APP / "templates").rglob("*.html") if "mail" not in p.parts]
    scripts = [p for p in (APP / "static" / "js").rglob("*.js")]
    for paths, rules in ((templates, REFUSED_IN_TEMPLATES), (scripts, REFUSED_IN_SCRIPTS)):
        for path in paths:
            # Comments may name what they avoid: Jinja's {# #}, and // lines in scripts.
            text = re.sub(
                r"\{#.*?#\}|^\s*//.*$",
                lambda m: "\n" * m.group().count("\n"),  # keeping the line numbers
                path.read_text(),
                flags=re.S | re.M,
            )
            # A trigger's `from:` may name a CSS selector with brackets; that is no filter.
            text = re.sub(r"from:find [^,\"]+", "", text)
            for what, pattern in rules.items():
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{path.relative_to(APP)}:{line}: {what}")
    assert found == []


def legacy_report(directive: str, blocked: str) -> bytes:
    return json.dumps(
        {
            "csp-report": {
                "document-uri": "http://ferry.example.org/login",
                "violated-directive": directive,
                "effective-directive": directive,
                "blocked-uri": blocked,
                "disposition": "report",
            }
        }
    ).encode()


def test_a_violation_report_is_logged_with_its_directive_and_blocked_uri(client, caplog):
    caplog.set_level(logging.WARNING, logger="ferry.security")
    response = client.post(
        "/csp-report",
        data=legacy_report("script-src-elem", "inline"),
        content_type="application/csp-report",
    )
    assert response.status_code == 204
    assert response.get_data() == b""
    warnings = [r for r in caplog.records if r.name == "ferry.security"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    message = warnings[0].getMessage()
    assert "script-src-elem" in message
    assert "inline" in message
    assert "http://ferry.example.org/login" in message


def test_reporting_api_batches_are_logged_too(client, caplog):
    caplog.set_level(logging.WARNING, logger="ferry.security")
    batch = [
        {
            "type": "csp-violation",
            "url": "http://ferry.example.org/",
            "body": {
                "documentURL": "http://ferry.example.org/",
                "effectiveDirective": "style-src-attr",
                "blockedURL": "inline",
            },
        }
    ]
    response = client.post(
        "/csp-report", data=json.dumps(batch), content_type="application/reports+json"
    )
    assert response.status_code == 204
    messages = [r.getMessage() for r in caplog.records if r.name == "ferry.security"]
    assert len(messages) == 1
    assert "style-src-attr" in messages[0]


def test_a_report_body_over_16_kb_is_ignored(client, caplog):
    caplog.set_level(logging.DEBUG, logger="ferry.security")
    padded = legacy_report("img-src", "https://tracker.example.org/" + "x" * 17_000)
    response = client.post("/csp-report", data=padded, content_type="application/csp-report")
    assert response.status_code == 204
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"csp-report": "text"}', b""])
def test_a_malformed_report_is_answered_204_and_not_logged_as_a_violation(client, caplog, body):
    caplog.set_level(logging.WARNING, logger="ferry.security")
    response = client.post("/csp-report", data=body, content_type="application/csp-report")
    assert response.status_code == 204
    assert not [r for r in caplog.records if r.name == "ferry.security"]


def test_logged_fields_are_cut_short_and_kept_on_one_line(client, caplog):
    caplog.set_level(logging.WARNING, logger="ferry.security")
    forged = legacy_report("script-src\nFAKE LOG LINE", "https://a.example.org/" + "y" * 5000)
    client.post("/csp-report", data=forged, content_type="application/csp-report")
    message = next(r.getMessage() for r in caplog.records if r.name == "ferry.security")
    assert "\n" not in message
    assert len(message) < 1200
