"""Credentials made from inside a project stay in it: the project's navigation, shared into
that project by default, back to its list afterwards; and every credential page names fields
in words (the schema's titles), never by their keys, with examples that cannot pass for
values."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models import Credential, ProjectCredential, Role
from app.services.credentials import forms
from app.services.credentials.labels import humanise
from tests import factories
from tests.services.credentials.test_store import make_credential
from tests.support import post_form
from tests.web.test_credentials_pages import valid_submission


def _shared_into(db, credential_id):
    return set(
        db.session.scalars(
            select(ProjectCredential.project_id).where(
                ProjectCredential.credential_id == credential_id
            )
        )
    )


def _create_in(client, project, schema="dhis2", name="Registry", **extra):
    page = f"/projects/{project.id}/credentials/new/{schema}"
    data = {"name": name, "schema": schema, "share": "y", **valid_submission(schema), **extra}
    return post_form(client, page, f"/projects/{project.id}/credentials", data)


def test_create_credential_on_a_project_page_keeps_the_project(signed_in, user, db):
    project = factories.project(user, "Zanzibar clinics")
    listing = signed_in.get(f"/projects/{project.id}/credentials").get_data(as_text=True)
    assert f'href="/projects/{project.id}/credentials/new"' in listing

    choose = signed_in.get(f"/projects/{project.id}/credentials/new").get_data(as_text=True)
    assert 'aria-label="Project"' in choose  # the project's sidebar
    assert f'href="/projects/{project.id}/credentials/new/dhis2"' in choose

    form = signed_in.get(f"/projects/{project.id}/credentials/new/dhis2").get_data(as_text=True)
    assert 'aria-label="Project"' in form
    assert f'action="/projects/{project.id}/credentials"' in form
    assert re.search(r'<a class="nav-link active"[^>]*href="[^"]*/credentials"', form)
    assert re.search(r'id="share"[^>]*checked|checked[^>]*id="share"', form)


def test_a_credential_created_in_a_project_is_shared_into_that_project(signed_in, user, db):
    first = factories.project(user, "Alpha first by name")
    chosen = factories.project(user, "Zulu chosen")
    response = _create_in(signed_in, chosen)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{chosen.id}/credentials"
    credential = db.session.scalar(select(Credential).where(Credential.name == "Registry"))
    assert _shared_into(db, credential.id) == {chosen.id}
    assert first.id not in _shared_into(db, credential.id)
    back = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "shared into “Zulu chosen”" in back
    assert "Registry" in back


def test_unticking_share_creates_it_unshared(signed_in, user, db):
    project = factories.project(user, "Clinic")
    page = f"/projects/{project.id}/credentials/new/dhis2"
    data = {"name": "Private", "schema": "dhis2", **valid_submission("dhis2")}
    response = post_form(signed_in, page, f"/projects/{project.id}/credentials", data)
    assert response.status_code == 302
    credential = db.session.scalar(select(Credential).where(Credential.name == "Private"))
    assert _shared_into(db, credential.id) == set()


def test_a_bad_submission_stays_in_the_project_and_stores_nothing(signed_in, user, db):
    project = factories.project(user, "Clinic")
    response = _create_in(signed_in, project, **{"body.base_url": "not a url"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-label="Project"' in html
    assert "Enter a full web address" in html
    assert db.session.scalar(select(Credential).where(Credential.name == "Registry")) is None


def test_viewers_cannot_create_in_the_project(client, db, user):
    project = factories.project(user, "Clinic")
    viewer = factories.user()
    factories.member(project, viewer, Role.VIEWER)
    from tests.support import log_in

    log_in(client, viewer.email, factories.PASSWORD)
    assert client.get(f"/projects/{project.id}/credentials/new").status_code == 403
    listing = client.get(f"/projects/{project.id}/credentials").get_data(as_text=True)
    assert "/credentials/new" not in listing


def test_the_share_form_picks_no_project_for_the_owner(signed_in, user, db):
    factories.project(user, "Alpha")
    factories.project(user, "Beta")
    credential = make_credential(user, "Unshared")
    html = signed_in.get(f"/credentials/{credential.id}").get_data(as_text=True)
    select_tag = re.search(r'<select[^>]*id="project_id".*?</select>', html, re.S).group(0)
    options = re.findall(r"<option([^>]*)>([^<]*)</option>", select_tag)
    assert options[0][1] == "Choose a project…" and 'value=""' in options[0][0]
    assert [name for _, name in options[1:]] == ["Alpha", "Beta"]
    assert not any("selected" in attrs for attrs, _ in options[1:])


def test_details_page_names_fields_in_words(signed_in, user, db):
    data = {"name": "HTTP thing", "schema": "http", **valid_submission("http")}
    post_form(signed_in, "/credentials/new/http", "/credentials", data)
    credential = db.session.scalar(select(Credential).where(Credential.name == "HTTP thing"))
    html = signed_in.get(f"/credentials/{credential.id}").get_data(as_text=True)
    for key in ("base_url", "verify_tls", "password", "api_key_header"):
        assert f"<code>{key}</code>" not in html and f">{key}<" not in html
    assert ">Base URL<" in html
    labels = {f.name: f.label for f in forms.credential_type("http").fields}
    assert f">{labels['verify_tls']}<" in html
    assert "Fields: " in html and "base_url" not in html.split("Fields: ", 1)[1][:300]


def test_boolean_fields_show_no_example_and_placeholders_are_not_values(signed_in):
    for ctype in forms.credential_types():
        html = signed_in.get(f"/credentials/new/{ctype.name}").get_data(as_text=True)
        assert "Example: true" not in html and "Example: false" not in html
        for field in ctype.fields:
            for example in field.examples:
                assert f'placeholder="{example}"' not in html
    html = signed_in.get("/credentials/new/dhis2").get_data(as_text=True)
    assert "e.g. https://play.dhis2.org/40" in html
    assert re.search(r'class="form-text"[^>]*>[^<]*e\.g\. https://play\.dhis2\.org/40', html)


def test_humanise_turns_keys_into_words():
    assert humanise("base_url") == "Base URL"
    assert humanise("verify_tls") == "Verify TLS"
    assert humanise("statementTimeoutMs") == "Statement timeout ms"
    assert humanise("") == ""
