"""Every endpoint has a request size limit, not only webhooks: a body over MAX_CONTENT_LENGTH
(FERRY_MAX_DATACLIP_MB) and a form field over Werkzeug's form memory limit are answered 413
with a sentence (a page for browsers, JSON for the API), and nothing is stored. The limits
are lowered here so the test sends kilobytes, not megabytes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import Project
from tests.support import csrf_token_from

BODY_LIMIT = 64 * 1024
FIELD_LIMIT = 8 * 1024


@pytest.fixture
def small_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", BODY_LIMIT)
    monkeypatch.setitem(app.config, "MAX_FORM_MEMORY_SIZE", FIELD_LIMIT)


def projects(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Project))


def new_project_refused(client, db, description_size: int, **options) -> str:
    """Post the new-project form with a description of `description_size` characters; the
    answer's page, after checking it is a 413 and that no project was stored."""
    token = csrf_token_from(client.get("/projects/new").get_data(True))
    before = projects(db)
    reply = client.post(
        "/projects",
        data={"csrf_token": token, "name": "Big", "description": "x" * description_size},
        **options,
    )
    assert reply.status_code == 413
    assert projects(db) == before
    return reply.get_data(True)


def test_a_body_over_the_limit_on_a_page_is_a_413_page_naming_the_limit(
    signed_in, db, small_limits
):
    page = new_project_refused(signed_in, db, BODY_LIMIT + 10)
    assert "larger than the 64 KB Ferry accepts" in page and "Nothing was saved" in page


def test_one_field_of_a_multipart_form_over_the_field_limit_is_a_413_saying_so(
    signed_in, db, small_limits
):
    # Werkzeug applies the field limit to multipart forms (those with file inputs); an
    # urlencoded form is held to the body limit above.
    page = new_project_refused(signed_in, db, FIELD_LIMIT + 10, content_type="multipart/form-data")
    assert "A form field is larger than the 8 KB" in page


def test_the_sign_in_form_has_the_limits_too(client, small_limits):
    reply = client.post("/login", data={"email": "a@example.org", "password": "x" * BODY_LIMIT})
    assert reply.status_code == 413


def test_an_api_body_over_the_limit_is_a_json_413(client, db, user, small_limits):
    from app.services import api_tokens

    _, token = api_tokens.create_token(user.id, "Script")
    before = projects(db)
    reply = client.post(
        "/api/v1/projects",
        headers={"Authorization": f"Bearer {token}"},
        json={"name": "Big", "description": "x" * BODY_LIMIT},
    )
    assert reply.status_code == 413
    body = reply.get_json()
    assert body["status"] == 413 and "larger than the 64 KB" in body["error"]
    assert projects(db) == before
