"""The route x role matrix's vocabulary: `Rule` (who may call a route), `World` (the rows every
case points at), and `collect`/`check`, which gather every tests/authz/routes_*.py module and
compare their entries with the app's URL map.

Writing entries (one module per area, e.g. tests/authz/routes_members.py):

    from tests.authz.rules import Rule

    ROUTES = {
        "members.index": Rule("viewer"),
        "members.update": Rule("admin"),
        "api.get_run": Rule("viewer", api=True),
        "credentials.edit": Rule("owner", expect={"superuser": 403}, note="credential owner only"),
    }
    # Values for URL parameters the matrix does not know yet (see KNOWN_PARAMS), by name:
    PARAMS = {"member_id": lambda world: world.viewer_membership_id}

How a case is judged (roles: anonymous, outsider, viewer, editor, admin, owner, superuser):
- anonymous: redirected to /login?next=... ("login"); `api=True` routes answer 401 (JSON);
- `need="public"`: everybody is allowed; `"signed_in"`: every signed-in user is allowed;
- a project role (viewer < editor < admin < owner) is a role in `world.project`: outsiders get
  404, members whose role is too weak 403, superusers act as owner;
- `"superuser"`: everybody else signed in gets 404, as if the page did not exist.
"Allowed" means: not 401/403/404, not a redirect to /login?next=, no CSRF failure, never 5xx.
`expect={"role": outcome}` overrides the outcome for a role (an int status, "login" or
"allowed"); say why in `note`.

Each request runs inside a savepoint that is rolled back afterwards, so a DELETE allowed for the
owner never deletes what the next case needs. A PARAMS function may therefore create the row it
needs (it is called once per request, inside that savepoint).

`World` objects are detached snapshots: read their columns (ids, keys, names), not their
relationships.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from flask import Flask

NEEDS = ("public", "signed_in", "viewer", "editor", "admin", "owner", "superuser")
PROJECT_ROLES = ("viewer", "editor", "admin", "owner")
ROLES = ("anonymous", "outsider", "viewer", "editor", "admin", "owner", "superuser")
OUTCOMES = ("allowed", "login", 401, 403, 404)
SKIPPED_ENDPOINTS = frozenset({"static"})
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})

ParamFactory = Callable[["World"], Any]


@dataclass(frozen=True, eq=False)
class Rule:
    """Who may call one endpoint (every method of it), and what the others get."""

    need: str
    # Token-authenticated JSON API: anonymous callers get 401, signed-in cookies mean nothing.
    api: bool = False
    # Per-role outcome that differs from what `need` implies: {"superuser": 403}.
    expect: Mapping[str, int | str] = field(default_factory=dict)
    # URL parameter values for this endpoint only (over PARAMS and the built-in ones).
    params: Mapping[str, ParamFactory] = field(default_factory=dict)
    # Query string and body sent with every case (form fields; a JSON object for `api`).
    query: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] | None = None
    # Ask for world.project's objects under another project's URL, as that project's owner,
    # and expect 404. None: whenever the URL holds a project_id and another object id.
    cross_project: bool | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.need not in NEEDS:
            raise ValueError(f"need must be one of {NEEDS}, not {self.need!r}")
        for role, outcome in self.expect.items():
            if role not in ROLES or outcome not in OUTCOMES:
                raise ValueError(f"expect: {role!r} -> {outcome!r} is not a role and outcome")
        object.__setattr__(self, "expect", MappingProxyType(dict(self.expect)))

    @property
    def project_scoped(self) -> bool:
        """True when the need is a role in world.project."""
        return self.need in PROJECT_ROLES

    def outcome(self, role: str) -> int | str:
        """What `role` should get: "allowed", "login", 401, 403 or 404."""
        if role in self.expect:
            return self.expect[role]
        if self.need == "public":
            return "allowed"
        if role == "anonymous":
            return 401 if self.api else "login"
        if self.need == "signed_in" or role == "superuser":
            return "allowed"
        if self.need == "superuser" or role == "outsider":
            return 404
        held, needed = PROJECT_ROLES.index(role), PROJECT_ROLES.index(self.need)
        return "allowed" if held >= needed else 403


@dataclass
class World:
    """The rows every case points at, built once per test module (tests/authz/world.py)."""

    project: Any  # the project every role but outsider and superuser is a member of
    other_project: Any  # a project only `other_owner` is in (none of the users below)
    owner: Any
    admin: Any
    editor: Any
    viewer: Any
    outsider: Any  # signed in, member of no project
    superuser: Any  # member of no project; acts as owner everywhere
    other_owner: Any  # owner of other_project only: asks for project's objects under it
    workflow: Any  # in project: webhook trigger -> "fetch" -> "load"
    trigger: Any  # the workflow's webhook trigger (no auth)
    step: Any  # the workflow's first step ("fetch")
    work_order: Any  # a failed work order of the workflow, with one run
    run: Any  # that run (two step runs, log lines)
    step_run: Any  # the run's first step run
    dataclip: Any  # the work order's input
    saved_input: Any  # a named test input of the project
    credential: Any  # a DHIS2 credential owned by `owner`, shared into project
    oauth_credential: Any  # an OAuth credential (through oauth_client) of `owner`, shared too
    transfer_token: str  # a pending transfer of `credential` from owner to editor
    oauth_client: Any  # an OAuth client (instance-wide)
    bulk_rerun: Any  # a finished bulk rerun in project
    other_workflow: Any  # a workflow in other_project
    users: dict[str, Any] = field(default_factory=dict)  # role name -> user (not anonymous)
    tokens: dict[str, str] = field(default_factory=dict)  # role name -> API token
    extra: dict[str, Any] = field(default_factory=dict)  # free room for later areas

    def webhook_reference(self) -> str:
        """The /i/<reference> path of the workflow's webhook trigger."""
        return str(self.trigger.id)


# URL parameters the matrix fills in itself; PARAMS add to these.
KNOWN_PARAMS: dict[str, ParamFactory] = {
    "project_id": lambda w: w.project.id,
    "workflow_id": lambda w: w.workflow.id,
    "trigger_id": lambda w: w.trigger.id,
    "step_id": lambda w: w.step.id,
    "work_order_id": lambda w: w.work_order.id,
    "run_id": lambda w: w.run.id,
    "step_run_id": lambda w: w.step_run.id,
    "dataclip_id": lambda w: w.dataclip.id,
    "bulk_rerun_id": lambda w: w.bulk_rerun.id,
    "job_id": lambda w: str(w.bulk_rerun.id),
    "credential_id": lambda w: w.credential.id,
    "client_id": lambda w: w.oauth_client.id,
    "schema": lambda w: "dhis2",
    "reference": lambda w: w.webhook_reference(),
}


@dataclass
class Matrix:
    """Every entry of every routes_*.py module, and what is wrong with them."""

    routes: dict[str, Rule]
    params: dict[str, ParamFactory]
    problems: list[str]


def collect(package: str = "tests.authz") -> Matrix:
    """Import every `<package>.routes_*` module and merge their ROUTES and PARAMS; an endpoint
    or parameter named by two modules is a problem (which one would win is an accident)."""
    routes: dict[str, Rule] = {}
    params: dict[str, ParamFactory] = dict(KNOWN_PARAMS)
    origin: dict[str, str] = {}
    problems: list[str] = []
    base = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(base.__path__), key=lambda i: i.name):
        if not info.name.startswith("routes_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for endpoint, rule in getattr(module, "ROUTES", {}).items():
            if not isinstance(rule, Rule):
                problems.append(f"{info.name}: {endpoint} is not a Rule")
            elif endpoint in routes:
                problems.append(f"{endpoint} has entries in {origin[endpoint]} and {info.name}")
            else:
                routes[endpoint], origin[endpoint] = rule, info.name
        for name, factory in getattr(module, "PARAMS", {}).items():
            if name in params:
                where = origin.get(f"param:{name}", "the built-in parameters")
                problems.append(f"URL parameter {name} is defined in {where} and {info.name}")
            else:
                params[name], origin[f"param:{name}"] = factory, info.name
    return Matrix(routes, params, problems)


def endpoints(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every route of the app, HEAD/OPTIONS and static skipped."""
    found = []
    for url_rule in app.url_map.iter_rules():
        if url_rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        for method in sorted((url_rule.methods or set()) - IGNORED_METHODS):
            found.append((url_rule.endpoint, method, url_rule.rule))
    return sorted(found)


def check(app: Flask, matrix: Matrix) -> list[str]:
    """Every problem with the entries: endpoints without one, entries for endpoints that no
    longer exist, URL parameters nobody knows how to fill in, and collection problems."""
    problems = list(matrix.problems)
    seen = set()
    for endpoint, method, rule in endpoints(app):
        seen.add(endpoint)
        entry = matrix.routes.get(endpoint)
        if entry is None:
            problems.append(f"no entry for {endpoint} ({method} {rule})")
            continue
        for name in url_params(rule):
            if name not in entry.params and name not in matrix.params:
                problems.append(f"{endpoint}: no value for the URL parameter <{name}>")
    for endpoint in sorted(set(matrix.routes) - seen):
        problems.append(f"entry for {endpoint}, which is not a route any more")
    return problems


def url_params(rule: str) -> list[str]:
    """The parameter names in a URL rule, in order."""
    return re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule)
