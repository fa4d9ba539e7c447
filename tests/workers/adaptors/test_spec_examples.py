"""Every example in every adaptor spec runs as a worker runs it: through the real fork-server
sandboxes (`AdaptorSandboxes`), against the loopback stand-ins and the local PostgreSQL.

Cases come from adaptor_specs/*.json, one per (adaptor, operation, example), so a new
operation or example is picked up without touching this file. The credential is the spec's
own example credential with its address (base URL; host and database for PostgreSQL) and
secrets pointed at the stand-in, which the egress allowlist lets the step reach.
"""

from __future__ import annotations

import importlib
import re

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support import database_url, postgresql_credential, recreate_database
from tests.workers.adaptors.servers import (
    FakeCommCare,
    FakeDhis2,
    FakeFhir,
    FakeServer,
    Recorded,
    Reply,
    json_reply,
)
from workers.adaptors import ADAPTORS, spec
from workers.runtime.protocol import StepRequest
from workers.runtime.sandboxes import AdaptorSandboxes

CASES = [
    (name, operation["name"], operation["example"])
    for name in ADAPTORS
    for operation in spec(name)["operations"]
    # A family's examples (collections.get) need Ferry's own API: they run against it in
    # tests/workers/test_collections_docs.py.
    if "." not in operation["name"]
]
PATIENTS = [
    {"id": "p1", "name": "Ana", "active": True, "address": {"city": "Accra"}},
    {"id": "p2", "name": "Bo", "active": False},
]
CURSOR = "2024-01-01T00:00:00.000Z"
# What the examples read from the state, per adaptor (and per operation where its example
# needs another shape): a new example reading something else fails here, naming the path.
INPUT_DATA: dict[str, dict] = {
    "common": {
        "patients": PATIENTS,
        "patient": {"name": "Ana"},
        "active": True,
        "id": "p1",
        "org_unit": "DiszpKrYNg8",
        "count": 2,
        "tags": ["new", "urgent"],
        "body": "id;name\n1;Ana\n2;Bo\n",
    },
    "http": {"id": "p1", "name": "Ana"},
    "dhis2": {"name": "Ngelehun CHC", "code": "OU_559", "event": "EvtUid00001"},
    "commcare": {"name": "Ana", "age": 31},
    "fhir": {
        "resourceType": "Patient",
        "id": "1",
        "patient_id": "1",
        "first_name": "Ana",
        "last_name": "Okafor",
        "name": "Okafor",
    },
    "postgresql": {"external_id": "e1", "name": "Ana"},
}
INPUT_DATA_FOR = {("common", "fn"): PATIENTS, ("common", "chunk"): PATIENTS}


class PatientsApi(FakeServer):
    """A small JSON API for the http adaptor's examples: /api/patients and /api/health."""

    def __init__(self) -> None:
        super().__init__()
        self.patients: dict[str, dict] = {}

    def handle(self, request: Recorded) -> Reply:
        """CRUD on /api/patients[/<id>]; each write bumps the record's version."""
        parts = request.path.strip("/").split("/")
        if parts == ["api", "health"]:
            return json_reply(200, {"status": "up"})
        if parts[:2] != ["api", "patients"] or len(parts) > 3:
            return json_reply(404, {"error": "no route"})
        if len(parts) == 2 and request.method == "GET":
            return json_reply(200, list(self.patients.values()))
        ident = parts[2] if len(parts) == 3 else f"p{len(self.patients) + 1}"
        if request.method == "DELETE":
            found = self.patients.pop(ident, None)
            return json_reply(404 if found is None else 200, {"deleted": ident})
        if request.method == "PATCH" and ident not in self.patients:
            return json_reply(404, {"error": f"no patient {ident}"})
        if request.method in ("POST", "PUT", "PATCH"):
            old = self.patients.get(ident, {"version": 0}) if request.method == "PATCH" else {}
            version = self.patients.get(ident, {}).get("version", 0) + 1
            self.patients[ident] = {**old, **request.json(), "id": ident, "version": version}
        return json_reply(201 if request.method == "POST" else 200, self.patients.get(ident))


def example_credential(name: str) -> dict:
    """The spec's example credential: each non-secret field's first example."""
    properties = spec(name)["credential_schema"]["properties"]
    return {
        field: schema["examples"][0]
        for field, schema in properties.items()
        if schema.get("examples") and not schema.get("secret")
    }


class SpecCommCare(FakeCommCare):
    """CommCare HQ that knows the spec's example user and app."""

    USER = example_credential("commcare")["username"]
    APP_ID = example_credential("commcare")["app_id"]


@pytest.fixture(scope="module")
def dsn():
    """A database with the table the postgresql examples use, dropped afterwards."""
    url = database_url("spec_examples")
    recreate_database(url)
    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(False),
                         autocommit=True) as conn:  # fmt: skip
        conn.execute(
            "CREATE TABLE patients (id serial PRIMARY KEY, external_id text UNIQUE, "
            "name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())"
        )
    yield url
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stand_ins():
    """One running stand-in per HTTP adaptor, shared by this module's examples."""
    with (
        PatientsApi() as http,
        FakeDhis2() as dhis2,
        SpecCommCare() as commcare,
        FakeFhir() as fhir,
    ):
        yield {"http": http, "dhis2": dhis2, "commcare": commcare, "fhir": fhir}


@pytest.fixture(scope="module")
def sandboxes():
    """The worker's sandboxes (postgresql steps in a server of their own)."""
    with AdaptorSandboxes() as running:
        yield running


# The secrets each stand-in accepts (a spec has no examples for secrets).
SECRETS = {
    "http": {},
    "dhis2": {"password": FakeDhis2.PASSWORD},
    "commcare": {"api_key": FakeCommCare.API_KEY},
    "fhir": {"access_token": FakeFhir.TOKEN},
}


def credential(name: str, stand_ins: dict, dsn: str) -> dict | None:
    """The spec's example credential, pointed at the stand-in (with the secrets it accepts)."""
    if name == "common":
        return None
    if name == "postgresql":
        where = {**postgresql_credential(dsn), "ssl_mode": "disable"}
    else:
        server = stand_ins[name]
        base_url = server.base if isinstance(server, FakeFhir) else server.origin
        where = {"base_url": base_url, **SECRETS[name]}
    return {**example_credential(name), **where}


def prepare(name: str, stand_ins: dict, dsn: str) -> None:
    """Put what the examples act on in place: the objects they update, read and delete."""
    if name == "http":
        stand_ins["http"].patients["p1"] = {"id": "p1", "name": "Ana", "version": 1}
    elif name == "dhis2":
        units = stand_ins["dhis2"].metadata["organisationUnits"]
        units["DiszpKrYNg8"] = {"id": "DiszpKrYNg8", "name": "Ngelehun", "code": "OU_559"}
        stand_ins["dhis2"].tracker["events"]["EvtUid00001"] = {"event": "EvtUid00001"}
    elif name == "fhir":
        patient = {"resourceType": "Patient", "id": "1", "name": [{"family": "Okafor"}]}
        stand_ins["fhir"].store.setdefault("Patient", {})["1"] = patient
    elif name == "postgresql":
        with psycopg.connect(make_url(dsn).set(drivername="postgresql").render_as_string(False),
                             autocommit=True) as conn:  # fmt: skip
            conn.execute("TRUNCATE patients")
            conn.execute("INSERT INTO patients (external_id, name) VALUES ('e0', 'Old')")


@pytest.mark.parametrize("name", ADAPTORS)
def test_every_operation_of_the_adaptor_has_an_example(name):
    exported = importlib.import_module(f"workers.adaptors.{name}").OPERATIONS
    snake_case = {operation for operation in exported if not re.search(r"[A-Z]", operation)}
    assert snake_case == {operation for adaptor, operation, _ in CASES if adaptor == name}


@pytest.mark.parametrize(
    ("adaptor", "operation", "example"), CASES, ids=[f"{a}.{o}" for a, o, _ in CASES]
)
def test_spec_example_runs_in_the_sandbox(sandboxes, stand_ins, dsn, adaptor, operation, example):
    prepare(adaptor, stand_ins, dsn)
    data = INPUT_DATA_FOR.get((adaptor, operation), INPUT_DATA[adaptor])
    state = {"data": data, "references": [{"id": "ref-1"}], "cursor": CURSOR}
    config = credential(adaptor, stand_ins, dsn)
    if config is not None:
        state["configuration"] = config
    server = stand_ins.get(adaptor)
    seen = len(server.requests) if server is not None else 0
    host = str((config or {}).get("host") or "127.0.0.1")
    request = StepRequest(body=example, adaptor=adaptor, state=state, timeout_s=30,
                          egress_allow=sorted({"127.0.0.1", host}))  # fmt: skip

    result = sandboxes.run(request)

    assert result.status == "success", result.error
    written = next(o["writes"] for o in spec(adaptor)["operations"] if o["name"] == operation)
    for key in written:
        assert key in result.state, f"the spec says {operation} writes {key!r}"
    if "response" in written:
        assert 200 <= result.state["response"]["status"] < 300, result.state["response"]
    if server is not None:
        assert len(server.requests) > seen, "the example sent nothing to the stand-in"
    if "data" in written:
        assert result.state["data"] != data, "the example did not change data"
    assert "configuration" not in result.state
