"""The top bar's user menu: the places outside a project, and the superuser's pages."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests import factories
from tests.support import log_in


def menu_links(html: str) -> dict[str, str]:
    """The user menu's entries as {href: the whole <a> tag}."""
    menu = html[html.index('<ul class="dropdown-menu dropdown-menu-end">') :]
    menu = menu[: menu.index("Sign out")]
    return {
        match.group(1): match.group(0)
        for match in re.finditer(r'<a class="dropdown-item[^"]*"[^>]*href="([^"]+)"[^>]*>', menu)
    }


@pytest.fixture
def superuser_client(client, db):
    admin = factories.user(superuser=True)
    assert log_in(client, admin.email, factories.PASSWORD).status_code == 302
    return client


def test_members_reach_projects_and_their_credentials_but_no_admin_pages(signed_in):
    links = menu_links(signed_in.get("/").get_data(as_text=True))
    assert set(links) == {"/", "/credentials", "/profile", "/profile/mfa"}
    html = signed_in.get("/credentials").get_data(as_text=True)
    assert "Administration" not in html
    assert 'aria-current="page" href="/credentials"' in menu_links(html)["/credentials"]


def test_superusers_also_reach_oauth_clients_and_the_outbox(superuser_client):
    html = superuser_client.get("/").get_data(as_text=True)
    assert "Administration" in html
    links = menu_links(html)
    assert set(links) >= {
        "/",
        "/credentials",
        "/profile",
        "/admin/users/",
        "/admin/oauth-clients",
        "/admin/audit",
        "/outbox",
    }
    for href in links:
        assert superuser_client.get(href).status_code == 200, href
    # The page on screen is marked in the menu, on every page of its area.
    on_admin = superuser_client.get("/admin/oauth-clients/new").get_data(as_text=True)
    assert "active" in menu_links(on_admin)["/admin/oauth-clients"]
    assert "active" not in menu_links(on_admin)["/credentials"]
    # ...and only there: other superuser pages mark their own entry, not this one.
    on_mail = superuser_client.get("/admin/mail").get_data(as_text=True)
    assert "active" in menu_links(on_mail)["/admin/mail"]
    assert "active" not in menu_links(on_mail)["/admin/oauth-clients"]


def test_the_outbox_link_goes_when_real_mail_is_configured(app, superuser_client):
    settings = app.config["FERRY_SETTINGS"]
    app.config["FERRY_SETTINGS"] = dataclasses.replace(
        settings, mail_url="smtp://mail.example.org:587"
    )
    try:
        links = menu_links(superuser_client.get("/").get_data(as_text=True))
        assert "/outbox" not in links
        assert "/admin/oauth-clients" in links
    finally:
        app.config["FERRY_SETTINGS"] = settings


@pytest.mark.parametrize("tab", ["settings", "settings/members", "settings/audit"])
def test_the_settings_entry_of_the_sidebar_stays_current_on_every_settings_tab(
    signed_in, project, tab
):
    html = signed_in.get(f"/projects/{project.id}/{tab}").get_data(as_text=True)
    sidebar = html[html.index('aria-label="Project"') :]
    sidebar = sidebar[: sidebar.index("</nav>")]
    current = re.findall(r'<a class="nav-link active" aria-current="page" href="([^"]+)"', sidebar)
    assert current == [f"/projects/{project.id}/settings"]


def test_error_pages_draw_the_whole_menu_for_superusers(superuser_client, caplog):
    # An error page has no endpoint: the menu must still draw, not fall back to plain text.
    response = superuser_client.get("/projects")  # only POST exists there
    assert response.status_code == 405
    html = response.get_data(as_text=True)
    assert "<html" in html and "/admin/users/" in menu_links(html)
    assert "Drawing the error page failed" not in caplog.text
