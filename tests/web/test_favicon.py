"""Every page names an icon, and the address browsers ask for by habit answers too."""

from __future__ import annotations


def test_favicon_ico_sends_the_browser_to_the_svg_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/static/favicon.svg")
    icon = client.get(response.headers["Location"])
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data


def test_pages_link_the_icon(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
