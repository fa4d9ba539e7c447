"""Credentials: forms from every adaptor schema, write-only secrets, encryption at rest,
owner-only changes, audit entries, and what runs and run pages receive."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Credential
from app.models.credentials import AuditTrailIsAppendOnly
from app.services import adaptor_catalog, audit
from app.services.credentials import forms as credential_forms
from app.services.credentials import lookup, store
from app.services.credentials.forms import BodyInvalid
from app.services.encryption import decrypt_json
from app.services.errors import Forbidden, Invalid, NotFound
from tests import factories

SECRET = "s3cret-Hunter2-do-not-leak"


def submission(**values) -> dict[str, list[str]]:
    """What a browser posts for these body fields."""
    return {f"body.{key}": [str(value)] for key, value in values.items()}


def make_credential(owner, name="DHIS2 test", schema="dhis2", production=False, **values):
    """A credential saved through the service, as the form would save it."""
    values = values or {
        "base_url": "https://dhis2.example.org",
        "username": "admin",
        "password": SECRET,
    }
    return store.create_credential(owner, name, schema, submission(**values), production)


# --- forms from the specs ---------------------------------------------------------------


def test_every_adaptor_with_a_credential_schema_has_a_form_type():
    names = {t.name for t in credential_forms.credential_types()}
    for adaptor in adaptor_catalog.adaptor_names():
        if (adaptor_catalog.spec(adaptor)["credential_schema"] or {}).get("properties"):
            assert adaptor in names
    assert "raw" in names


def test_fields_have_the_right_kind_label_help_and_required_mark():
    fields = {f.name: f for f in credential_forms.credential_type("postgresql").fields}
    assert fields["password"].kind == "secret" and fields["password"].secret
    assert fields["port"].kind == "integer" and fields["port"].maximum == 65535
    assert fields["ssl_mode"].kind == "choice" and "verify-full" in fields["ssl_mode"].choices
    assert fields["host"].required and not fields["port"].required
    assert fields["host"].label == "Host"
    assert "db.example.org" in fields["host"].help
    dhis2 = {f.name: f for f in credential_forms.credential_type("dhis2").fields}
    assert dhis2["base_url"].kind == "url"
    http = {f.name: f for f in credential_forms.credential_type("http").fields}
    assert http["verify_tls"].kind == "boolean" and http["verify_tls"].default is True


def test_parsing_types_values_and_reports_every_problem_at_once():
    body = credential_forms.parse_submission(
        "postgresql",
        {
            **submission(host="db.example.org", database="registry", user="ferry", port="6543"),
            "body.ssl_mode": ["require"],
            "body.password": ["pw-123456"],
        },
    )
    assert body == {
        "host": "db.example.org",
        "database": "registry",
        "user": "ferry",
        "port": 6543,
        "ssl_mode": "require",
        "password": "pw-123456",
    }
    with pytest.raises(BodyInvalid) as caught:
        credential_forms.parse_submission(
            "postgresql", submission(host="", database="x", port="five", statement_timeout_ms="-1")
        )
    errors = caught.value.errors
    assert errors["host"] == "Host is required."
    assert errors["user"] == "User is required."
    assert errors["port"] == "Enter a whole number, e.g. 5432."
    assert errors["statement_timeout_ms"] == "Must be at least 0."


def test_bad_url_and_unknown_choice_are_refused():
    with pytest.raises(BodyInvalid) as caught:
        credential_forms.parse_submission("dhis2", submission(base_url="dhis2.example.org"))
    assert "https://" in caught.value.errors["base_url"]
    with pytest.raises(BodyInvalid) as caught:
        credential_forms.parse_submission(
            "postgresql", submission(host="h", database="d", user="u", ssl_mode="maybe")
        )
    assert "Choose one of" in caught.value.errors["ssl_mode"]


def test_checkbox_posts_false_unless_ticked():
    unticked = credential_forms.parse_submission("http", {"body.verify_tls": ["false"]})
    ticked = credential_forms.parse_submission("http", {"body.verify_tls": ["false", "true"]})
    assert unticked == {"verify_tls": False} and ticked == {"verify_tls": True}


def test_raw_json_must_be_an_object():
    assert credential_forms.parse_submission("raw", {"body.body": ['{"token": "x"}']}) == {
        "token": "x"
    }
    for text, words in (("", "JSON object"), ("[1]", "in braces"), ("{nope", "not valid JSON")):
        with pytest.raises(BodyInvalid) as caught:
            credential_forms.parse_submission("raw", {"body.body": [text]})
        assert words in caught.value.errors["body"]


def test_echoed_values_never_include_secrets():
    echoed = credential_forms.echo_values(
        "dhis2", submission(base_url="https://x.org", username="admin", password=SECRET)
    )
    assert echoed == {"base_url": "https://x.org", "username": "admin"}
    assert credential_forms.echo_values("raw", {"body.body": [f'{{"t": "{SECRET}"}}']}) == {}


def test_unknown_type_is_not_found():
    with pytest.raises(NotFound):
        credential_forms.credential_type("no-such-adaptor")


# --- saving, encryption, write-only secrets ---------------------------------------------


def test_body_is_stored_encrypted_and_never_in_clear(db, user):
    credential = make_credential(user)
    stored = db.session.execute(
        select(Credential.body_encrypted).where(Credential.id == credential.id)
    ).scalar_one()
    assert SECRET.encode() not in bytes(stored)
    assert decrypt_json(stored)["password"] == SECRET


def test_stored_values_hide_secrets(db, user):
    credential = make_credential(user)
    values, secrets = store.stored_values(credential)
    assert values == {"base_url": "https://dhis2.example.org", "username": "admin"}
    assert secrets == {"password"}


def test_blank_secret_keeps_the_stored_value_and_remove_clears_it(db, user):
    credential = make_credential(user)
    store.update_credential(
        user,
        credential.id,
        "DHIS2 test",
        False,
        submission(base_url="https://other.example.org", username="admin", password=""),
    )
    body = decrypt_json(credential.body_encrypted)
    assert body == {
        "base_url": "https://other.example.org",
        "username": "admin",
        "password": SECRET,
    }
    store.update_credential(
        user,
        credential.id,
        "DHIS2 test",
        False,
        {**submission(base_url="https://other.example.org", password=""), "clear.password": ["1"]},
    )
    assert decrypt_json(credential.body_encrypted) == {"base_url": "https://other.example.org"}


def test_names_are_unique_per_owner(db, user):
    make_credential(user, "Shared name")
    with pytest.raises(Invalid) as caught:
        make_credential(user, "  Shared   name ")
    assert caught.value.field == "name"
    make_credential(factories.user(), "Shared name")  # another owner may use it


# --- ownership ----------------------------------------------------------------------------


def test_only_the_owner_may_change_or_delete(db, user):
    credential = make_credential(user)
    for person in (factories.user(), factories.user(superuser=True)):
        with pytest.raises(Forbidden):
            store.update_credential(person, credential.id, "x", False, {})
        with pytest.raises(Forbidden):
            store.delete_credential(person, credential.id, credential.name)


def test_strangers_cannot_even_see_it(db, user):
    credential = make_credential(user)
    with pytest.raises(NotFound):
        lookup.credential_for(factories.user(), credential.id)
    assert lookup.credential_for(factories.user(superuser=True), credential.id)


def test_delete_needs_the_typed_name(db, user):
    credential = make_credential(user)
    with pytest.raises(Invalid):
        store.delete_credential(user, credential.id, "wrong")
    assert store.delete_credential(user, credential.id, " DHIS2 test ") == "DHIS2 test"
    assert db.session.get(Credential, credential.id) is None


# --- audit ----------------------------------------------------------------------------------


def test_audit_names_changed_fields_but_never_values(db, user):
    credential = make_credential(user)
    store.update_credential(
        user,
        credential.id,
        "DHIS2 renamed",
        True,
        submission(
            base_url="https://dhis2.example.org", username="admin2", password="n3w-" + SECRET
        ),
    )
    store.delete_credential(user, credential.id, "DHIS2 renamed")
    entries = audit.trail(audit.CREDENTIAL, credential.id)
    assert [e.event for e in entries] == ["deleted", "updated", "created"]
    assert entries[1].changes == {"fields": ["production", "name", "password", "username"]}
    assert all(e.actor == user.display_name for e in entries)
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.item_id == credential.id))
    assert all(SECRET not in str(row.changes) for row in rows)


def test_saving_unchanged_writes_no_entry(db, user):
    credential = make_credential(user)
    store.update_credential(
        user,
        credential.id,
        credential.name,
        False,
        submission(base_url="https://dhis2.example.org", username="admin"),
    )
    assert [e.event for e in audit.trail(audit.CREDENTIAL, credential.id)] == ["created"]


def test_audit_entries_cannot_be_changed_or_deleted(db, user):
    credential = make_credential(user)
    entry = db.session.scalars(select(AuditEvent).where(AuditEvent.item_id == credential.id)).one()
    entry.event = "nothing happened"
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    entry = db.session.scalars(select(AuditEvent).where(AuditEvent.item_id == credential.id)).one()
    db.session.delete(entry)
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()


# --- runs and run pages -------------------------------------------------------------------


def test_runs_get_bodies_only_for_credentials_shared_into_their_project(db, user):
    from app.services.credentials import sharing

    project = factories.project(user)
    shared, unshared = make_credential(user, "Shared"), make_credential(user, "Not shared")
    sharing.share(user, shared.id, project.id)
    gone = make_credential(user, "Gone")
    store.delete_credential(user, gone.id, "Gone")
    result = store.credentials_for_run({shared.id, unshared.id, gone.id}, project.id)
    assert result.bodies == {shared.id: decrypt_json(shared.body_encrypted)}
    assert "no longer shared into this project" in result.problems[unshared.id]
    assert "deleted" in result.problems[gone.id]
    assert store.bodies_for_run({shared.id, unshared.id}) == {
        shared.id: decrypt_json(shared.body_encrypted),
        unshared.id: decrypt_json(unshared.body_encrypted),
    }


def test_run_pages_show_values_scrubbed(db, user):
    from app.services.credentials import sharing

    project = factories.project(user)
    credential = make_credential(user)
    sharing.share(user, credential.id, project.id)
    shown = store.scrubbed_for_display(
        project.id, {"log": f"logging in with {SECRET} as admin", SECRET: [SECRET]}
    )
    assert shown == {"log": "logging in with *** as admin", "***": ["***"]}
    other = make_credential(
        user, "Step's own", base_url="https://x.example.org", password="an0ther-s3cret"
    )
    assert store.scrubbed_for_display(project.id, "an0ther-s3cret", [other.id]) == "***"
