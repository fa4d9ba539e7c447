"""The workflows in examples/ run with `ferry execute` (the real CLI, a real sandbox) against
local stand-ins: HTTP servers speaking DHIS2's, CommCare's and FHIR's APIs, and the real
PostgreSQL. Each example is copied to a temporary directory and given credentials that
point at the stand-ins; nothing else about it changes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support import database_url, postgresql_credential, recreate_database
from tests.workers.adaptors.servers import FakeCommCare, FakeDhis2, FakeFhir

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def copy_example(name: str, tmp_path: Path, credentials: dict[str, dict]) -> Path:
    """The example's directory copied under tmp_path, with credentials written into it."""
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target)
    for file_name, body in credentials.items():
        (target / "credentials" / file_name).write_text(json.dumps(body))
    return target


def ferry_execute(*args: str) -> subprocess.CompletedProcess:
    """`ferry execute ARGS` as a user runs it; loopback is allowed for the stand-ins."""
    command = [sys.executable, "-m", "workers", "execute", *args, "--allow", "127.0.0.1"]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_every_example_has_a_workflow_and_example_credentials():
    examples = sorted(p for p in EXAMPLES.iterdir() if p.is_dir())
    assert [p.name for p in examples] == [
        "commcare-to-fhir",
        "csv-to-postgresql",
        "webhook-to-dhis2",
    ]
    for example in examples:
        assert (example / "workflow.yaml").exists()
        assert list((example / "credentials").glob("*.example.json")), example.name


def test_webhook_registrations_become_dhis2_tracked_entities(tmp_path):
    with FakeDhis2() as dhis2:
        credential = {"base_url": dhis2.origin, "username": dhis2.USER, "password": dhis2.PASSWORD}
        example = copy_example("webhook-to-dhis2", tmp_path, {"dhis2.json": credential})
        done = ferry_execute(str(example / "workflow.yaml"), "-s", str(example / "request.json"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"] == {"created": 2}
    people = sorted(dhis2.tracker["trackedEntities"].values(), key=lambda p: p["trackedEntity"])
    values = [{a["attribute"]: a["value"] for a in person["attributes"]} for person in people]
    assert values[0]["w75KJ2mc4zz"] == "Aminata" and values[0]["AuPLng5hLbE"] == "SL-104-2231"
    assert values[1] == {"w75KJ2mc4zz": "Ibrahim", "zDhUuAYrxNC": "Sesay", "cejWyOfXge6": "Male"}
    assert {person["orgUnit"] for person in people} == {"DiszpKrYNg8"}
    assert "mapped 2 registrations" in done.stderr
    assert dhis2.PASSWORD not in done.stdout + done.stderr


def test_webhook_to_dhis2_without_registrations_fails_with_the_reason(tmp_path):
    with FakeDhis2() as dhis2:
        credential = {"base_url": dhis2.origin, "username": dhis2.USER, "password": dhis2.PASSWORD}
        example = copy_example("webhook-to-dhis2", tmp_path, {"dhis2.json": credential})
        empty = tmp_path / "empty.json"
        empty.write_text(json.dumps({"data": {"clinic": {"org_unit": "x"}, "registrations": []}}))
        done = ferry_execute(str(example / "workflow.yaml"), "-s", str(empty))
    assert done.returncode == 1
    assert "the request has no registrations" in done.stderr
    assert dhis2.tracker["trackedEntities"] == {}  # the DHIS2 step never ran


def test_commcare_cases_become_fhir_patients(tmp_path):
    with FakeCommCare(cases=0) as commcare, FakeFhir() as fhir:
        commcare.cases = [
            {"case_id": f"c{n}", "properties": {"case_name": f"Mariama Conteh{n}", "sex": "F",
                                                "dob": "2019-05-0" + str(n + 1)}}
            for n in range(3)
        ] + [{"case_id": "c-unnamed", "properties": {"case_name": " "}}]  # fmt: skip
        credentials = {
            "commcare.json": {
                "base_url": commcare.origin,
                "domain": commcare.DOMAIN,
                "username": commcare.USER,
                "api_key": commcare.API_KEY,
                "app_id": commcare.APP_ID,
            },
            "fhir.json": {"base_url": fhir.base, "access_token": fhir.TOKEN},
        }
        example = copy_example("commcare-to-fhir", tmp_path, credentials)
        done = ferry_execute(str(example / "workflow.yaml"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"]["saved"] == ["Patient/c0", "Patient/c1", "Patient/c2"]
    patient = fhir.store["Patient"]["c1"]
    assert patient["name"][0] == {
        "text": "Mariama Conteh1",
        "family": "Conteh1",
        "given": ["Mariama"],
    }
    assert patient["gender"] == "female" and patient["birthDate"] == "2019-05-02"
    assert patient["identifier"] == [
        {"system": "https://www.commcarehq.org/case_id", "value": "c1"}
    ]
    assert "skipped cases without a name: c-unnamed" in done.stderr
    assert "fetched 4 open patient cases" in done.stderr
    assert commcare.API_KEY not in done.stdout + done.stderr


@pytest.fixture
def registry():
    """A fresh database with the example's schema; yields (credential, connection)."""
    url = make_url(database_url("examples"))
    recreate_database(url.render_as_string(hide_password=False))
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute((EXAMPLES / "csv-to-postgresql" / "schema.sql").read_text())
        yield postgresql_credential(plain), conn
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def test_csv_export_is_upserted_into_postgresql(tmp_path, registry):
    credential, conn = registry
    conn.execute(
        "INSERT INTO members (member_id, full_name, village, joined_on, savings) "
        "VALUES ('SG-002', 'Mohamed OBrien', 'Mano', '2025-03-17', 10)"
    )
    example = copy_example("csv-to-postgresql", tmp_path, {"postgresql.json": credential})
    done = ferry_execute(str(example / "workflow.yaml"), "-s", str(example / "export.json"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"] == [
        {"member_id": "SG-001"}, {"member_id": "SG-002"}, {"member_id": "SG-003"}
    ]  # fmt: skip
    rows = conn.execute(
        "SELECT member_id, full_name, village, joined_on::text, savings::text FROM members "
        "ORDER BY member_id"
    ).fetchall()
    assert rows == [
        ("SG-001", "Fatmata Koroma", "Mano", "2025-01-04", "1250.50"),
        ("SG-002", "Mohamed O'Brien", "Mano", "2025-03-17", "80.00"),  # updated, not doubled
        ("SG-003", "Hawa Bangura", "Kpetema", "2026-11-02", "0.00"),
    ]
    assert "3 members in the export" in done.stderr
