"""A synchronous webhook reply never answers 500 once its request is saved."""

from __future__ import annotations

import time
import uuid

import psycopg
from sqlalchemy.exc import OperationalError

from app.services.triggers import sync_reply
from app.services.triggers.webhooks import Accepted


class NeverCalled:
    def wait_finished(self, deadline: float) -> bool:
        raise AssertionError("the reply should not wait once the database failed")


def test_a_database_outage_while_waiting_answers_504_with_the_saved_ids(db, monkeypatch):
    # Mocked: cutting PostgreSQL off in the middle of one request is not something this
    # test process can do to itself reliably; the error is the one SQLAlchemy raises then.
    def outage(accepted):
        raise OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed"))

    monkeypatch.setattr(sync_reply, "_finished_run", outage)
    accepted = Accepted(work_order_id=uuid.uuid4(), run_id=uuid.uuid4(), created=True)
    status, body = sync_reply.reply_for(accepted, NeverCalled(), time.monotonic() + 5)
    assert status == 504
    assert body["work_order_id"] == str(accepted.work_order_id)
    assert "was saved" in body["error"] and "Look up the work order" in body["error"]
