"""Signed "turn off these alerts" links: round trip, and every kind of tampering refused."""

from __future__ import annotations

import uuid

import pytest

from app.services.errors import Invalid
from app.services.notifications import links


@pytest.fixture
def request_(app):
    with app.app_context():
        yield links.Unsubscribe(uuid.uuid4(), uuid.uuid4(), links.FAILURE_ALERTS, uuid.uuid4())


def test_a_token_round_trips(app, request_):
    with app.app_context():
        token = links.unsubscribe_token(request_)
        assert links.read_unsubscribe_token(token) == request_
        assert links.unsubscribe_url(request_).endswith(f"/unsubscribe/{token}")


def test_a_project_wide_token_has_no_workflow(app, request_):
    with app.app_context():
        whole = links.Unsubscribe(request_.user_id, request_.project_id, links.DIGEST)
        assert links.read_unsubscribe_token(links.unsubscribe_token(whole)).workflow_id is None


@pytest.mark.parametrize(
    "tamper",
    [
        # Not the last character: its low bits are base64 padding, so swapping A for B
        # there can leave the signature's bytes unchanged (a flaky test, once).
        lambda t: t[:-5] + ("A" if t[-5] != "A" else "Q") + t[-4:],
        lambda t: t[:10],
        lambda t: "",
        lambda t: t + "x",
        lambda t: "\x00" + t,
        lambda t: "a" * 5000,
    ],
)
def test_a_changed_token_is_refused(app, request_, tamper):
    with app.app_context(), pytest.raises(Invalid):
        links.read_unsubscribe_token(tamper(links.unsubscribe_token(request_)))


def test_a_token_signed_with_another_key_is_refused(app, request_):
    with app.app_context():
        token = links.unsubscribe_token(request_)
        original = app.config["SECRET_KEY"]
        app.config["SECRET_KEY"] = "another-secret-key-that-is-long-enough-0123456789"
        try:
            with pytest.raises(Invalid):
                links.read_unsubscribe_token(token)
        finally:
            app.config["SECRET_KEY"] = original


def test_unknown_kinds_cannot_be_signed(app, request_):
    with app.app_context(), pytest.raises(ValueError):
        links.unsubscribe_token(links.Unsubscribe(request_.user_id, request_.project_id, "all"))
