"""The matrix's fixtures: one `World` per test module, built in a transaction that is rolled
back at the end, a signed-in session per role, and `Caller`, which sends one case inside a
savepoint of its own (so no case sees what an earlier one changed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import Connection
from sqlalchemy.orm import scoped_session, sessionmaker

from app.extensions import db as _db
from tests.authz.rules import ROLES, Rule, World, collect
from tests.authz.world import Session, build_world, sign_in

PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass
class Caller:
    """Sends the requests of the matrix for one world."""

    app: Flask
    connection: Connection
    world: World
    sessions: dict[str, Session]
    params: dict

    def url(self, rule_text: str, rule: Rule, overrides: dict | None = None) -> str:
        """The URL rule with every parameter filled in from the world (or `overrides`)."""
        params = self.params

        def value(match: re.Match) -> str:
            name = match.group(1)
            if overrides and name in overrides:
                found = overrides[name]
            else:
                factory = rule.params.get(name) or params[name]
                found = factory(self.world)
            return quote(str(found), safe="/")

        return PARAM.sub(value, rule_text)

    def send(self, role, method, rule_text, rule, overrides=None, *, htmx=False):
        """One request as `role` ("anonymous", a role name, or "other_owner"), inside a
        savepoint rolled back afterwards; returns (url, status, location, body), where
        location is the Location or HX-Redirect header."""
        case = self.connection.begin_nested()
        try:
            url = self.url(rule_text, rule, overrides)
            response = self._open(role, method, url, rule, htmx)
            try:
                # An event stream never ends: its body is not read (closing ends it).
                endless = response.mimetype == "text/event-stream"
                body = "" if endless else response.get_data(as_text=True)
                # Where it sends the browser: a redirect, or htmx's HX-Redirect.
                headers = response.headers
                location = headers.get("Location") or headers.get("HX-Redirect") or ""
                return url, response.status_code, location, body
            finally:
                response.close()
        finally:
            _db.session.rollback()
            if case.is_active:
                case.rollback()

    def _open(self, role: str, method: str, url: str, rule: Rule, htmx: bool):
        client = self.app.test_client(use_cookies=False)
        headers = {"HX-Request": "true"} if htmx else {}
        kwargs: dict = {"query_string": dict(rule.query)}
        if rule.api:
            if role != "anonymous":
                headers["Authorization"] = f"Bearer {self.world.tokens[role]}"
            if method in ("POST", "PUT", "PATCH"):
                kwargs["json"] = dict(rule.data or {})
        else:
            session = self.sessions[role]
            headers["Cookie"] = f"session={session.cookie}"
            headers["X-CSRFToken"] = session.csrf_token
            headers["Accept"] = "text/html,application/xhtml+xml"
            if method != "GET":
                kwargs["data"] = dict(rule.data or {})
        return client.open(url, method=method, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def caller(app):
    """The world, built once for the module, and a Caller for it."""
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        original = _db.session
        _db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        try:
            world = build_world()
            sessions = {
                role: sign_in(app, None if role == "anonymous" else world.users[role])
                for role in ROLES
            }
            sessions["other_owner"] = sign_in(app, world.other_owner)
            yield Caller(app, connection, world, sessions, collect().params)
        finally:
            _db.session.remove()
            _db.session = original
            outer.rollback()
            connection.close()
