"""An accepted webhook tells open history pages at once (Redis pub/sub), with its ids."""

from __future__ import annotations

import json
import time

from redis import Redis

from app.services.runs.events import project_channel
from tests import factories


def test_accepted_request_announces_its_work_order(client, user, settings):
    project = factories.project(user)
    trigger = factories.workflow(project).triggers[0]
    pubsub = Redis.from_url(settings.redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(project_channel(project.id))
    try:
        pubsub.get_message(timeout=1)  # the subscription confirmation
        body = client.post(f"/i/{trigger.id}", json={"n": 1}).get_json()
        deadline = time.monotonic() + 5
        message = None
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
    finally:
        pubsub.close()
    assert message is not None, "no event was published for the accepted request"
    event = json.loads(message["data"])
    assert event == {
        "event": "work_order_created",
        "run_id": body["run_id"],
        "work_order_id": body["work_order_id"],
    }
