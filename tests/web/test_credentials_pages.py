"""Credential pages: a form per adaptor schema that validates on the server, secrets that
never come back in any page or API response, and owner-only rules on every route."""

from __future__ import annotations

import logging
import re

import pytest

from app.models import Credential, Role
from app.services import accounts, mail
from app.services.credentials import forms
from app.services.credentials import sharing as credential_sharing
from tests import factories
from tests.services.credentials.test_sharing import workflow_using
from tests.services.credentials.test_store import make_credential
from tests.support import log_in, post_form

TYPES = [t.name for t in forms.credential_types()]
# A distinctive value per secret field, to look for in every response.
SECRET_VALUES = {
    "password": "pw-Zq81-never-shown",
    "access_token": "tok-Xv55-never-shown",
    "api_key": "key-Ra27-never-shown",
}
RAW_SECRET = "raw-Mm90-never-shown"
SEP = "\u203a"  # the right-pointing quote between project, workflow and step names
VALID = {
    "url": "https://system.example.org",
    "text": "something",
    "integer": "42",
    "number": "1.5",
    "choice": None,  # first choice
    "boolean": "true",
    "json": '{"a": 1}',
}


def valid_submission(schema: str) -> dict[str, str]:
    """A complete, valid form body for the type, secrets included."""
    if schema == "raw":
        return {"body.body": f'{{"token": "{RAW_SECRET}"}}'}
    data = {}
    for f in forms.credential_type(schema).fields:
        if f.secret:
            data[f.input_name] = SECRET_VALUES.get(f.name, f"{f.name}-Kk12-never-shown")
        elif f.kind == "choice":
            data[f.input_name] = f.choices[0]
        elif f.name == "port":
            data[f.input_name] = "5432"
        else:
            data[f.input_name] = VALID[f.kind]
    return data


def secrets_of(data: dict[str, str]) -> list[str]:
    return re.findall(r"[\w-]+-never-shown", " ".join(data.values()))


def create(client, schema: str, name: str, **extra):
    data = {"name": name, "schema": schema, **valid_submission(schema), **extra}
    return post_form(client, f"/credentials/new/{schema}", "/credentials", data)


@pytest.mark.parametrize("schema", TYPES)
def test_each_type_renders_its_form(signed_in, schema):
    response = signed_in.get(f"/credentials/new/{schema}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    ctype = forms.credential_type(schema)
    for f in ctype.fields:
        assert f'name="{f.input_name}"' in html
        assert f.label in html
    for f in ctype.fields:
        tag = re.search(
            rf'<(input|select|textarea)[^>]*name="{re.escape(f.input_name)}"[^>]*>',
            html.replace("\n", " "),
        )
        tag = (
            tag.group(0)
            if f.kind != "boolean"
            else re.findall(
                rf'<input[^>]*name="{re.escape(f.input_name)}"[^>]*>', html.replace("\n", " ")
            )[-1]
        )
        expected = {
            "secret": 'type="password"',
            "url": 'type="url"',
            "integer": 'type="number"',
            "boolean": 'type="checkbox"',
            "choice": "<select",
            "json": "<textarea",
            "text": 'type="text"',
        }[f.kind]
        assert expected in tag, (f.name, tag)
        if f.required and f.kind not in {"boolean"}:
            assert "required" in tag
    if any(f.kind == "secret" for f in ctype.fields):
        assert "data-ferry-reveal" in html and "js/credentials.js" in html


@pytest.mark.parametrize("schema", TYPES)
def test_each_type_saves_valid_input(signed_in, user, db, schema):
    response = create(signed_in, schema, f"My {schema}")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert db.session.query(Credential).filter_by(user_id=user.id, schema=schema).count() == 1


def _invalid_cases(schema: str):
    """(field, bad value, words in the error) for each kind of mistake the type allows."""
    ctype = forms.credential_type(schema)
    if schema == "raw":
        return [("body", "", "JSON object"), ("body", "[1, 2]", "in braces")]
    cases = [(f.name, "", "is required") for f in ctype.fields if f.required][:1]
    cases += [(f.name, "not a url", "https://") for f in ctype.fields if f.kind == "url"][:1]
    cases += [(f.name, "many", "whole number") for f in ctype.fields if f.kind == "integer"][:1]
    cases += [(f.name, "{broken", "not valid JSON") for f in ctype.fields if f.kind == "json"][:1]
    cases += [(f.name, "nope", "Choose one of") for f in ctype.fields if f.kind == "choice"][:1]
    return cases


CASES = [(schema, *case) for schema in TYPES for case in _invalid_cases(schema)]


@pytest.mark.parametrize(("schema", "field", "bad", "words"), CASES)
def test_server_side_validation_shows_the_error_on_the_field(signed_in, schema, field, bad, words):
    good = valid_submission(schema)
    response = create(signed_in, schema, "Broken", **{f"body.{field}": bad})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'id="field-{re.escape(field)}-error">([^<]*)<', html)
    assert error and words in error.group(1)
    assert 'value="Broken"' in html  # what was typed is kept
    for secret in secrets_of(good):
        assert secret not in html  # except secrets


def test_type_errors_from_the_json_schema_show_on_the_field(signed_in):
    data = valid_submission("postgresql")
    response = create(signed_in, "postgresql", "Too big", **{"body.port": "70000"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="field-port-error">Must be at most 65535.<' in html
    assert 'value="70000"' in html
    assert data["body.password"] not in html


def test_a_missing_name_is_shown_with_the_body_errors(signed_in):
    response = create(signed_in, "dhis2", "", **{"body.base_url": "nope"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the credential a name." in html and 'id="field-base_url-error"' in html


def _every_page(client, credential_id, project_id) -> list[str]:
    urls = [
        "/credentials",
        f"/credentials/{credential_id}",
        f"/credentials/{credential_id}/edit",
        f"/credentials/{credential_id}/delete",
        f"/credentials/{credential_id}/shares/{project_id}/delete",
        f"/projects/{project_id}/credentials",
        "/credentials/new",
        "/outbox",
    ]
    return [client.get(url).get_data(as_text=True) for url in urls]


@pytest.mark.parametrize("schema", TYPES)
def test_secrets_never_appear_in_any_page_or_api_response(app, signed_in, user, db, schema, caplog):
    caplog.set_level(logging.DEBUG)
    project = factories.project(user, "Scan")
    data = valid_submission(schema)
    secrets = secrets_of(data)
    saved = create(signed_in, schema, "Scanned")
    credential = db.session.query(Credential).filter_by(name="Scanned").one()
    credential_sharing.share(user, credential.id, project.id)
    workflow = workflow_using(project, "Scanned")
    edited = post_form(
        signed_in,
        f"/credentials/{credential.id}/edit",
        f"/credentials/{credential.id}",
        {"name": "Scanned", **{k: v for k, v in data.items() if "never-shown" not in v}},
    )
    assert edited.status_code == 302
    member = factories.user()
    factories.member(project, member, Role.ADMIN)
    token = accounts.create_api_token(user.email)
    responses = [saved.get_data(as_text=True), edited.get_data(as_text=True)]
    responses += _every_page(signed_in, credential.id, project.id)
    member_client = app.test_client()
    log_in(member_client, member.email, factories.PASSWORD)
    responses += _every_page(member_client, credential.id, project.id)
    headers = {"Authorization": f"Bearer {token}"}
    for url in (f"/api/v1/projects/{project.id}/workflows", f"/api/v1/workflows/{workflow.id}"):
        api = signed_in.get(url, headers=headers)
        assert api.status_code == 200
        responses.append(api.get_data(as_text=True))
    assert "Scanned" in responses[3]
    for secret in secrets:
        for body in responses:
            assert secret not in body
        assert secret not in caplog.text
        assert all(secret not in m.text for m in mail.outbox())
    assert secrets and all(
        v in str(forms.parse_submission(schema, {k: [v] for k, v in data.items()})) for v in secrets
    )


def test_edit_shows_non_secret_values_and_leave_blank_to_keep(signed_in, user, db):
    credential = make_credential(user)
    html = signed_in.get(f"/credentials/{credential.id}/edit").get_data(as_text=True)
    assert 'value="https://dhis2.example.org"' in html and 'value="admin"' in html
    assert "Leave blank to keep the stored value" in html
    assert 'name="clear.password"' in html


# --- owner-only rules on every route -------------------------------------------------------


def _owner_routes(credential_id, project_id):
    c = f"/credentials/{credential_id}"
    return [
        ("get", f"{c}/edit"),
        ("post", c),
        ("get", f"{c}/delete"),
        ("post", f"{c}/delete"),
        ("post", f"{c}/shares"),
        ("get", f"{c}/shares/{project_id}/delete"),
        ("post", f"{c}/shares/{project_id}/delete"),
        ("post", f"{c}/transfer"),
        ("post", f"{c}/transfer/cancel"),
        ("post", f"{c}/reauthorize"),
    ]


def _call(client, method, url):
    if method == "get":
        return client.get(url)
    token = re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/credentials").get_data(as_text=True)
    ).group(1)
    return client.post(url, data={"csrf_token": token, "name": "x", "confirm_name": "x"})


@pytest.mark.parametrize("who", ["viewer", "editor", "admin", "owner", "superuser", "stranger"])
def test_only_the_owner_reaches_the_owner_routes(app, db, user, who):
    project = factories.project(user, "Shared")
    credential = make_credential(user)
    credential_sharing.share(user, credential.id, project.id)
    other = factories.user(superuser=who == "superuser")
    if who in {r.value for r in Role}:
        factories.member(project, other, Role(who))
    client = app.test_client()
    log_in(client, other.email, factories.PASSWORD)
    expected = 404 if who == "stranger" else 403
    for method, url in _owner_routes(credential.id, project.id):
        assert _call(client, method, url).status_code == expected, (method, url)
    show = client.get(f"/credentials/{credential.id}")
    assert show.status_code == (404 if who == "stranger" else 200)
    if who != "stranger":
        html = show.get_data(as_text=True)
        assert "History" in html if who == "superuser" else "History" not in html
        assert 'href="/credentials/' + str(credential.id) + '/edit"' not in html
    assert db.session.get(Credential, credential.id).name == "DHIS2 test"


def test_the_owner_reaches_them(signed_in, user, db):
    project = factories.project(user, "Shared")
    credential = make_credential(user)
    credential_sharing.share(user, credential.id, project.id)
    for method, url in _owner_routes(credential.id, project.id):
        if url.endswith("/reauthorize"):
            continue  # only OAuth credentials have a provider to go back to (test_oauth.py)
        assert _call(signed_in, method, url).status_code not in {403, 404, 500}, (method, url)


# --- sharing, deleting, transfer, lists ----------------------------------------------------


def test_share_unshare_and_project_list(signed_in, user, db):
    project = factories.project(user, "Malaria")
    credential = make_credential(user, "DHIS2 production", production=True)
    page = f"/credentials/{credential.id}"
    response = post_form(signed_in, page, f"{page}/shares", {"project_id": str(project.id)})
    assert response.status_code == 302
    listing = signed_in.get(f"/projects/{project.id}/credentials").get_data(as_text=True)
    assert "DHIS2 production" in listing and "production</span>" in listing
    assert 'href="/projects/' + str(project.id) + '/credentials"' in listing  # sidebar entry
    workflow_using(project, "DHIS2 production")
    confirm = signed_in.get(f"{page}/shares/{project.id}/delete").get_data(as_text=True)
    assert f"Patient sync {SEP} Load into DHIS2" in confirm
    post_form(signed_in, page, f"{page}/shares/{project.id}/delete", {})
    listing = signed_in.get(f"/projects/{project.id}/credentials").get_data(as_text=True)
    assert "No credentials shared into this project" in listing


def test_delete_warns_lists_steps_and_needs_the_name(signed_in, user, db):
    project = factories.project(user, "Malaria")
    credential = make_credential(user, "DHIS2 production")
    credential_sharing.share(user, credential.id, project.id)
    workflow_using(project, "DHIS2 production")
    url = f"/credentials/{credential.id}/delete"
    html = signed_in.get(url).get_data(as_text=True)
    assert "1 step uses this credential" in html
    assert f"Malaria {SEP} Patient sync {SEP} Load into DHIS2" in html
    assert post_form(signed_in, url, url, {"confirm_name": "DHIS2"}).status_code == 422
    assert post_form(signed_in, url, url, {"confirm_name": "DHIS2 production"}).status_code == 302
    assert db.session.get(Credential, credential.id) is None


def test_transfer_refusal_lists_projects_and_the_link_page_works(app, signed_in, user, db):
    one, two = factories.project(user, "Malaria"), factories.project(user, "Nutrition")
    credential = make_credential(user)
    for project in (one, two):
        credential_sharing.share(user, credential.id, project.id)
    recipient = factories.user()
    factories.member(one, recipient, Role.EDITOR)
    page = f"/credentials/{credential.id}"
    refused = post_form(signed_in, page, f"{page}/transfer", {"email": recipient.email})
    assert refused.status_code == 422
    assert "Missing: Nutrition." in refused.get_data(as_text=True)
    factories.member(two, recipient, Role.VIEWER)
    sent = post_form(signed_in, page, f"{page}/transfer", {"email": recipient.email})
    assert sent.status_code == 302
    link = re.search(r"/credentials/transfers/\S+", mail.outbox()[0].text).group(0)
    assert "Waiting for" in signed_in.get(page).get_data(as_text=True)
    assert signed_in.get(link).status_code == 404  # the sender cannot accept it
    other = app.test_client()
    log_in(other, recipient.email, factories.PASSWORD)
    assert "Accept the credential" in other.get(link).get_data(as_text=True)
    assert post_form(other, link, link, {}).status_code == 302
    assert db.session.get(Credential, credential.id).user_id == recipient.id


def test_outbox_is_for_superusers_while_mail_url_is_unset(app, client, db):
    mail.send_mail("someone@example.org", "Visible in the outbox", "Body text.")
    admin = factories.user(superuser=True)
    log_in(client, admin.email, factories.PASSWORD)
    html = client.get("/outbox").get_data(as_text=True)
    assert "Visible in the outbox" in html and "Body text." in html
    import dataclasses

    settings = app.config["FERRY_SETTINGS"]
    app.config["FERRY_SETTINGS"] = dataclasses.replace(settings, mail_url="smtp://mail:25")
    try:
        assert client.get("/outbox").status_code == 404
    finally:
        app.config["FERRY_SETTINGS"] = settings
    person = app.test_client()
    log_in(person, factories.user().email, factories.PASSWORD)
    assert person.get("/outbox").status_code == 404
