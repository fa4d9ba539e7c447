"""GET /health reports whether the database and Redis answer."""

from __future__ import annotations

import dataclasses

from app import create_app


def test_healthy_when_both_answer(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "database": {"ok": True},
        "redis": {"ok": True},
        "status": "ok",
    }


def test_names_redis_when_it_does_not_answer(settings):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    app = create_app(dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == {"ok": True}
    assert body["redis"]["ok"] is False
    assert body["status"] == "unavailable: redis"


def test_names_the_database_when_it_does_not_answer(settings):
    app = create_app(
        dataclasses.replace(
            settings, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing"
        )
    )
    response = app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"]["ok"] is False
    assert body["redis"] == {"ok": True}
    assert body["status"] == "unavailable: database"
