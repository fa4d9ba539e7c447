"""The superuser's SSO provider pages: list, add, edit and delete; the client secret is never
shown again; bad input answers 4xx next to the field and stores nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.models import OidcProvider, UserIdentity
from app.services import accounts
from app.services.sso import providers
from tests import factories
from tests.sso_support import CLIENT_SECRET, provider_fields
from tests.support import free_port, log_in, post_form

NEW, LIST = "/admin/sso-providers/new", "/admin/sso-providers"


@pytest.fixture
def superuser_client(client, db):
    """A client signed in as a superuser."""
    boss = factories.user(superuser=True)
    assert log_in(client, boss.email, factories.PASSWORD).status_code == 302
    return client


def form_data(oidc_provider, **overrides) -> dict:
    """What a superuser types into the form."""
    data = provider_fields(oidc_provider, **overrides)
    for flag in ("sso_only", "enabled"):  # an unticked box is simply not sent
        data[flag] = "y" if data[flag] else None
    return {k: v for k, v in data.items() if v is not None}


def count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(OidcProvider))


def test_people_who_are_not_superusers_do_not_see_the_pages(client, signed_in, sso_provider):
    pid = sso_provider.id
    for url in (LIST, NEW, f"{LIST}/{pid}/edit", f"{LIST}/{pid}/delete"):
        assert signed_in.get(url).status_code == 404
    assert signed_in.post(f"{LIST}/{pid}/delete", data={"confirm_name": "Acme ID"}).status_code in (
        400,
        404,
    )
    assert providers.get_provider(pid).name == "Acme ID"


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_empty_list_explains_the_page(superuser_client):
    html = superuser_client.get(LIST).get_data(as_text=True)
    assert "No SSO providers yet" in html and "Add SSO provider" in html
    assert 'href="/admin/sso-providers"' in html, "the user menu links the page"


def test_adding_a_provider_shows_the_redirect_address_and_never_the_secret(
    superuser_client, db, oidc_provider
):
    response = post_form(superuser_client, NEW, LIST, form_data(oidc_provider))
    assert response.status_code == 302 and response.headers["Location"] == LIST
    html = superuser_client.get(LIST).get_data(as_text=True)
    assert "http://127.0.0.1:5000/login/sso/acme-id/callback" in html
    assert "Acme ID" in html and "example.org" in html and "Enabled" in html
    saved = db.session.scalar(select(OidcProvider))
    edit = superuser_client.get(f"{LIST}/{saved.id}/edit").get_data(as_text=True)
    for page in (html, edit):
        assert CLIENT_SECRET not in page
    assert 'name="client_secret" type="password" value=""' in edit
    assert "leave blank to keep the stored one" in edit


def test_editing_with_an_empty_secret_keeps_it(superuser_client, db, oidc_provider, sso_provider):
    edit = f"{LIST}/{sso_provider.id}/edit"
    page = superuser_client.get(edit).get_data(as_text=True)
    assert "example.org</textarea>" in page
    data = form_data(oidc_provider, client_secret="", allowed_domains="example.org\nngo.example")
    response = post_form(superuser_client, edit, f"{LIST}/{sso_provider.id}", data)
    assert response.status_code == 302
    db.session.refresh(sso_provider)
    assert providers.client_secret(sso_provider) == CLIENT_SECRET
    assert sso_provider.allowed_domains == ["example.org", "ngo.example"]


def test_a_refused_form_keeps_what_was_typed_except_the_secret(superuser_client, db, oidc_provider):
    data = form_data(oidc_provider, allowed_domains="https://example.org")
    response = post_form(superuser_client, NEW, LIST, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "is not an email domain" in html and 'value="Acme ID"' in html
    assert CLIENT_SECRET not in html
    assert count(db) == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "Give the provider a name."),
        ({"name": "x" * 101}, "Field cannot be longer than 100 characters."),
        ({"discovery_url": ""}, "Enter the discovery URL."),
        ({"discovery_url": "http://idp.example.org"}, "only for a provider on this machine"),
        ({"discovery_url": "not a url"}, "Enter a full address"),
        ({"client_id": ""}, "Enter the client id."),
        ({"client_secret": ""}, "Enter the client secret the provider gave."),
        ({"client_secret": "s" * 2001}, "Field cannot be longer than 2000 characters."),
        ({"allowed_domains": "", "sso_only": True}, "list at least one"),
        ({"allowed_domains": "a.org " * 1000}, "Field cannot be longer than 5000 characters."),
    ],
)
def test_bad_input_is_refused_next_to_the_field(
    superuser_client, db, oidc_provider, overrides, message
):
    response = post_form(superuser_client, NEW, LIST, form_data(oidc_provider, **overrides))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(db) == 0


def test_a_discovery_url_nobody_answers_is_refused(superuser_client, db, oidc_provider):
    data = form_data(oidc_provider, discovery_url=f"http://127.0.0.1:{free_port()}")
    response = post_form(superuser_client, NEW, LIST, data)
    assert response.status_code == 422
    assert "Ferry could not use this discovery URL" in response.get_data(as_text=True)


def test_nul_characters_are_refused(superuser_client, db, oidc_provider):
    for key in ("name", "client_id", "client_secret", "allowed_domains", "discovery_url"):
        data = form_data(oidc_provider, **{key: "a\x00b"})
        response = post_form(superuser_client, NEW, LIST, data)
        assert response.status_code == 400 and "NUL" in response.get_data(as_text=True), key
    assert count(db) == 0


def test_duplicate_names_are_refused(superuser_client, db, oidc_provider, sso_provider):
    for name in ("ACME ID", "acme-id"):
        response = post_form(superuser_client, NEW, LIST, form_data(oidc_provider, name=name))
        assert response.status_code == 422
    assert count(db) == 1


def test_unexpected_values_in_the_tick_boxes_are_read_as_ticked(
    superuser_client, db, oidc_provider
):
    data = form_data(oidc_provider, sso_only=True, enabled=False) | {"sso_only": "banana"}
    assert post_form(superuser_client, NEW, LIST, data).status_code == 302
    saved = db.session.scalar(select(OidcProvider))
    assert saved.sso_only and not saved.enabled


# Fixed ids: pytest-xdist workers must collect the same test names.
_UNKNOWN = "9c79b91b-b240-4b36-8bd2-bc99181ddd52"


@pytest.mark.parametrize("tail", ["nope/edit", f"{_UNKNOWN}/edit", f"{_UNKNOWN}/delete"])
def test_crafted_provider_ids_are_not_found(superuser_client, tail):
    assert superuser_client.get(f"{LIST}/{tail}").status_code == 404


def test_posting_to_an_unknown_provider_is_not_found(superuser_client, oidc_provider):
    response = post_form(superuser_client, NEW, f"{LIST}/{uuid.uuid4()}", form_data(oidc_provider))
    assert response.status_code == 404


def test_deleting_asks_for_the_name_and_says_who_is_affected(
    superuser_client, db, oidc_provider, sso_provider
):
    person = accounts.create_user("z@example.org", None)
    db.session.add(UserIdentity(user_id=person.id, provider_id=sso_provider.id, subject="z"))
    db.session.commit()
    confirm = f"{LIST}/{sso_provider.id}/delete"
    page = superuser_client.get(confirm).get_data(as_text=True)
    assert "1 person has signed in with it" in page and "password reset" in page
    for typed in ("", "acme", "x" * 300):
        response = post_form(superuser_client, confirm, confirm, {"confirm_name": typed})
        assert response.status_code == 422
    assert count(db) == 1
    response = post_form(superuser_client, confirm, confirm, {"confirm_name": "Acme ID"})
    assert response.status_code == 302 and response.headers["Location"] == LIST
    assert count(db) == 0
    assert "deleted" in superuser_client.get(LIST).get_data(as_text=True)
