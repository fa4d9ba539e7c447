"""Every route of the app, called as anonymous, outsider, viewer, editor, admin, owner and
superuser, answers as its entry in tests/authz/routes_*.py says; a route without an entry
fails the suite.

CSRF stays on: each role's session carries a real token sent in X-CSRFToken, as htmx sends
it. Turning CSRF off would test another app (an anonymous form post would then reach
the view instead of being refused first), and a CSRF failure among allowed answers would go
unnoticed; here it fails the case.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app import create_app
from app.config import Settings
from tests.authz.rules import ROLES, Rule, check, collect, endpoints, url_params
from tests.support import database_url, redis_url

MATRIX = collect()
ROUTES = endpoints(
    create_app(Settings(env="test", database_url=database_url("main"), redis_url=redis_url()))
)


def _id(route) -> str:
    endpoint, method, _ = route
    return f"{endpoint}-{method}"


def _cross_project(rule: Rule, rule_text: str) -> bool:
    """Whether the route holds a project id and another object of the project."""
    names = url_params(rule_text)
    derived = rule.project_scoped and "project_id" in names and len(names) > 1
    return derived if rule.cross_project is None else rule.cross_project


CROSS = [
    route
    for route in ROUTES
    if route[0] in MATRIX.routes and _cross_project(MATRIX.routes[route[0]], route[2])
]


def test_every_route_has_an_entry(app):
    """A route added without an entry in tests/authz/routes_*.py fails here, naming it."""
    problems = check(app, collect())
    assert not problems, "Fix the route x role matrix:\n" + "\n".join(problems)


def test_a_route_added_without_an_entry_is_reported(settings):
    """The check notices a new route (each method) and an entry for a vanished one."""
    app = create_app(settings)
    app.add_url_rule(
        "/projects/<uuid:project_id>/gadgets/<uuid:gadget_id>",
        "gadgets.show",
        lambda project_id, gadget_id: "",
        methods=["GET", "POST"],
    )
    matrix = collect()
    matrix.routes["gadgets.gone"] = Rule("viewer")
    problems = check(app, matrix)
    assert (
        "no entry for gadgets.show (GET /projects/<uuid:project_id>/gadgets/<uuid:gadget_id>)"
        in problems
    )
    assert (
        "no entry for gadgets.show (POST /projects/<uuid:project_id>/gadgets/<uuid:gadget_id>)"
        in problems
    )
    assert "entry for gadgets.gone, which is not a route any more" in problems
    matrix.routes["gadgets.show"] = Rule("viewer")
    assert "gadgets.show: no value for the URL parameter <gadget_id>" in check(app, matrix)


def verdict(expected, status: int, location: str, body: str) -> str | None:
    """None when the answer is what `expected` asks for, else what went wrong."""
    if status >= 500:
        return f"{status}, a server error"
    login = status in (301, 302, 303, 307) and _is_login_redirect(location)
    if expected == "login":
        return None if login else f"{status} {location}, not a redirect to /login?next="
    if expected == "allowed":
        if status in (401, 403, 404) or login:
            return f"refused: {status} {location}".strip()
        if status == 400 and "security token" in body:
            return "400: the CSRF token was refused (the matrix's own mistake)"
        return None
    return None if status == expected else f"{status} {location}, expected {expected}".strip()


def _names_the_role(needed: str, body: str) -> str | None:
    """A member refused for a weak role is told which role the action needs."""
    return None if f"needs the {needed} role" in body else f"403 without 'needs the {needed} role'"


def _is_login_redirect(location: str) -> bool:
    parts = urlsplit(location)
    return parts.path == "/login" and "next" in parse_qs(parts.query)


@pytest.mark.parametrize("route", ROUTES, ids=_id)
def test_each_role_gets_the_answer_its_rule_says(caller, route):
    """Denied roles get exactly the refusal their rule implies; allowed roles get through."""
    endpoint, method, rule_text = route
    rule = MATRIX.routes.get(endpoint)
    assert rule is not None, f"no entry for {endpoint} in tests/authz/routes_*.py"
    wrong = []
    for role in ROLES:
        expected = rule.outcome(role)
        url, status, location, body = caller.send(role, method, rule_text, rule)
        problem = verdict(expected, status, location, body)
        if not problem and expected == 403 and rule.project_scoped and role not in rule.expect:
            problem = _names_the_role(rule.need, body)
        if not problem and expected == "login":
            # htmx: 401 and HX-Redirect, so the whole page (not a fragment) goes to sign in.
            url, status, location, _ = caller.send(role, method, rule_text, rule, htmx=True)
            if status != 401 or not _is_login_redirect(location):
                problem = f"htmx: {status} {location}, not 401 with HX-Redirect to /login?next="
        if problem:
            wrong.append(f"  {role}: {method} {url} -> {problem} (expected {expected})")
    assert not wrong, f"{endpoint} ({rule.need}):\n" + "\n".join(wrong)


@pytest.mark.parametrize("route", CROSS, ids=_id)
def test_objects_of_another_project_answer_404(caller, route):
    """The owner of another project asking, under that project's URL, for this project's
    objects gets 404: objects are loaded within the project of the URL."""
    endpoint, method, rule_text = route
    rule = MATRIX.routes[endpoint]
    other = {"project_id": caller.world.other_project.id}
    wrong = []
    # htmx requests too: several URLs answer them with a fragment drawn by other code.
    for htmx in (False, True):
        url, status, location, _ = caller.send(
            "other_owner", method, rule_text, rule, other, htmx=htmx
        )
        if status != 404:
            wrong.append(f"{method} {url}{' (htmx)' if htmx else ''} -> {status} {location}")
    assert not wrong, "As the other project's owner:\n" + "\n".join(wrong)
