"""The collections pages' answers to bad input: a sentence on the page, never a 500, nothing
changed (the journey itself is tests/browser/test_collections.py)."""

from __future__ import annotations

import pytest

from app.services.collections import items, store


@pytest.fixture
def bag(project):
    """The project's collection "patients" with one entry."""
    store.create_collection(project.id, "patients")
    items.set_item(project.id, "patients", "p-1", {"name": "Ana"})
    return f"/projects/{project.id}/collections/patients"


def test_a_crafted_cursor_shows_the_first_page_with_a_sentence(signed_in, bag):
    response = signed_in.get(bag, query_string={"cursor": "bm9wZQ"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "not one Ferry gave out" in page
    assert "p-1" in page


def test_an_entry_that_is_gone_says_so(signed_in, bag):
    response = signed_in.get(f"{bag}/entry", query_string={"key": "p-2"})
    assert response.status_code == 404
    assert "has no key “p-2”" in response.get_data(as_text=True)
    bad = signed_in.get(f"{bag}/entry", query_string={"key": "a*"})
    assert bad.status_code == 404
    assert "cannot hold" in bad.get_data(as_text=True)


def test_a_missing_collection_is_a_404_page(signed_in, project):
    response = signed_in.get(f"/projects/{project.id}/collections/nope")
    assert response.status_code == 404
    assert "no collection named" in response.get_data(as_text=True)


def test_a_taken_name_is_refused_next_to_the_field(signed_in, bag, project):
    page = signed_in.get(f"/projects/{project.id}/collections").get_data(as_text=True)
    assert "patients" in page
    response = signed_in.post(
        f"/projects/{project.id}/collections",
        data={"name": "patients"},
        headers={"X-CSRFToken": _token(signed_in, project)},
    )
    assert response.status_code == 422
    assert "already has a collection named patients" in response.get_data(as_text=True)
    assert len(store.list_collections(project.id)) == 1


def _token(client, project) -> str:
    import re

    page = client.get(f"/projects/{project.id}/collections").get_data(as_text=True)
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
