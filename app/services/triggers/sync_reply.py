"""Synchronous webhook replies: hold the request until its run finishes, then answer."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import Dataclip, Run, RunState
from app.services import zero_persistence
from app.services.runs.events import RunWatcher
from app.services.triggers.webhooks import Accepted
from app.services.zero_persistence import transient


def reply_for(accepted: Accepted, watcher: RunWatcher, deadline: float) -> tuple[int, object]:
    """(HTTP status, JSON body) once the run finished, or 504 when `deadline` passed.

    Success answers with the final state's `data`, or with the `webhook_response`
    `{"status": ..., "body": ...}` the job put in its state. Failure answers with the run's
    state and error, never with data.
    """
    ids = {"work_order_id": str(accepted.work_order_id), "run_id": str(accepted.run_id)}
    try:
        run = _finished_run(accepted)
        if run is None and watcher.wait_finished(deadline):
            run = _finished_run(accepted)
    except DBAPIError:
        # The request is saved and its run goes on: a 503 would make the sender send it
        # again (a second work order), so the answer says where to find the result.
        db.session.rollback()
        return 504, {
            **ids,
            "error": "The request was saved and its run goes on, but its result could not "
            "be read (the database did not answer). Look up the work order later.",
        }
    if run is None:
        return 504, {
            **ids,
            "error": "The run did not finish in time; it goes on. Look up "
            "the work order for its result.",
        }
    if run.state is not RunState.SUCCESS:
        return 422, {
            **ids,
            "state": run.state.value,
            "error": {"type": run.error_type, "message": run.error_message},
        }
    final = db.session.get(Dataclip, run.final_dataclip_id) if run.final_dataclip_id else None
    if final is not None and final.not_stored:
        # Zero persistence: the worker held the reply in Redis for a few minutes instead.
        state = transient.take_reply(run.id)
        if state is None:
            return 200, {**ids, "state": "success", "error": zero_persistence.NO_REPLY}
    else:
        state = final.body if final is not None and isinstance(final.body, dict) else {}
    custom = state.get("webhook_response")
    if isinstance(custom, dict) and isinstance(custom.get("status"), int):
        status = custom["status"] if 100 <= custom["status"] <= 599 else 200
        return status, custom.get("body")
    return 200, state.get("data")


def _finished_run(accepted: Accepted) -> Run | None:
    db.session.expire_all()
    run = db.session.get(Run, accepted.run_id)
    db.session.commit()
    return run if run is not None and run.state.is_final else None
