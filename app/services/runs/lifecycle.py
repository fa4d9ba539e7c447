"""A run's way through its states, as the executor reports it.

available -> started -> success | failed | crashed | killed | exception | lost (claiming and
starting are one step: `app.services.runs.claims`; cancelled is set from outside while a run
is still available). A run whose step failed in a way its retry policy retries goes back
from started to available, with the time it may be claimed again (`wait_for_retry`).

Each function here is one write (`app.services.runs.writes`: one statement on PostgreSQL)
that commits before it returns, so a live view sees each change as
soon as it happens; the run events for a write go out together, after it. `run_started`
(the claim's event) travels with the executor's first write here (`announce_start`): one
Redis round trip fewer per run.

A step's outcome may travel with the next write (the next step's start, or the run's end),
which saves a round trip per step; the executor only does so when no user code runs in
between, so a crash cannot lose an outcome that was already known.

Long because every write of a run's way lives here beside the SQL its parts share (a step's
outcome travels with several of them); split, one write's statement would sit apart from
the parts it joins.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import update

from app.extensions import db, redis_client
from app.models import Run, RunState, StepExitReason, StepRun, WorkOrder, WorkOrderState
from app.models.base import utcnow
from app.services.metrics import histograms
from app.services.notifications import alert_queue
from app.services.runs import events as run_events
from app.services.runs import nul
from app.services.runs import writes as run_writes
from app.services.runs.claims import OPEN_STATES, ClaimedRun
from app.services.runs.writes import Part

log = logging.getLogger("ferry.events")


@dataclass
class StepOutcome:
    """How a step ended, ready to be stored: exit reason, output state, error, log lines.

    The output dataclip's id is chosen here, before it is stored, so the steps that follow
    can name it as their input."""

    step_run_id: uuid.UUID
    step_id: str
    exit_reason: StepExitReason
    output_state: dict | None
    error: dict | None
    logs: list[dict]
    output_id: uuid.UUID | None = None
    # When a failed attempt is tried again (None: it is not).
    retry_at: datetime | None = None
    # How long the step ran in the sandbox, for /metrics (None: it did not run).
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if self.output_state is not None and self.output_id is None:
            self.output_id = uuid.uuid4()


def heartbeat(run_ids: Collection[uuid.UUID]) -> None:
    """The worker is still on these runs."""
    db.session.execute(
        update(Run)
        .where(Run.id.in_(run_ids), Run.state.in_(OPEN_STATES))
        .values(heartbeat_at=utcnow())
    )
    db.session.commit()


def begin_step(
    run: ClaimedRun,
    step: dict,
    input_dataclip_id: uuid.UUID | None,
    *,
    after: StepOutcome | None = None,
    announce_start: bool = False,
    attempt: int = 1,
) -> uuid.UUID:
    """Record that a step started (and, in the same write, how the step before it ended);
    returns the step run id. `attempt` counts automatic retries (1 for the first)."""
    now = utcnow()
    step_run_id = uuid.uuid4()
    parts = _outcome_parts(run, after, now) if after else []
    parts.append(
        Part(
            _BEGIN_STEP,
            {
                "begin_id": step_run_id,
                "run_id": run.id,
                "begin_step_id": uuid.UUID(step["id"]),
                "begin_step_name": step["name"],
                "begin_input_id": input_dataclip_id,
                "begin_attempt": attempt,
                "now": now,
            },
        )
    )
    run_writes.write(parts)
    started = ("step_started", {"step_id": step["id"], "step_run_id": step_run_id})
    _announce(
        run,
        *_start_events(run, announce_start),
        *([_finished_event(after)] if after else []),
        started,
        observed=_step_observed(after),
    )
    return step_run_id


def finish_step(run: ClaimedRun, outcome: StepOutcome) -> None:
    """Store the step's output dataclip, log lines and exit reason."""
    run_writes.write(_outcome_parts(run, outcome, utcnow()))
    _announce(run, _finished_event(outcome), observed=_step_observed(outcome))


def finish(
    run: ClaimedRun,
    state: RunState,
    *,
    last_step: StepOutcome | None = None,
    final_dataclip_id: uuid.UUID | None = None,
    error_type: str | None = None,
    error_message: str | None = None,
    open_steps_end: StepExitReason | None = None,
    announce_start: bool = False,
) -> None:
    """The run ended; its work order takes the run's final state. `last_step` (the outcome
    of the step that ended it) is stored in the same write; `open_steps_end` closes the
    step runs still open (the run stopped mid-step) with that exit reason."""
    now = utcnow()
    parts = _outcome_parts(run, last_step, now) if last_step else []
    if open_steps_end is not None:
        # Never with `last_step`: one statement must not update the same row twice.
        assert last_step is None
        parts.append(
            Part(
                _CLOSE_OPEN_STEPS, {"run_id": run.id, "open_exit": open_steps_end.value, "now": now}
            )
        )
    parts.append(
        Part(
            _FINISH_RUN,
            {
                "run_id": run.id,
                "state": state.value,
                "now": now,
                "final_dataclip_id": final_dataclip_id,
                "run_error_type": _error_type(error_type),
                "run_error_message": error_message,
            },
        )
    )
    parts.append(
        Part(
            _FINISH_WORK_ORDER,
            {
                "work_order_id": run.work_order_id,
                "state": WorkOrderState(state.value).value,
                "now": now,
            },
        )
    )
    run_writes.write(parts)
    finished = ("run_finished", {"state": state.value, "work_order_id": run.work_order_id})
    _announce(
        run,
        *_start_events(run, announce_start),
        *([_finished_event(last_step)] if last_step else []),
        finished,
        observed=[*_step_observed(last_step), _run_observed(run, state)],
    )
    # After the commit above: the alert job reads the run as it ended.
    alert_queue.enqueue_alerts([run.id], state)


def wait_for_retry(
    run: ClaimedRun,
    *,
    available_at: datetime,
    resume: dict,
    last_step: StepOutcome | None = None,
    announce_start: bool = False,
) -> None:
    """A step failed and will be tried again at `available_at`: the run goes back to
    `available` (not claimable before then; `maintenance.queue_due_retries` queues it) with
    where to continue (`workers.resume`), and its work order waits too. The worker is free
    at once. `last_step` (the failed attempt's outcome) is stored in the same write."""
    now = utcnow()
    parts = _outcome_parts(run, last_step, now) if last_step else []
    parts.append(
        Part(_WAIT_RUN, {"run_id": run.id, "available_at": available_at, "resume": resume})
    )
    parts.append(Part(_WAIT_WORK_ORDER, {"work_order_id": run.work_order_id, "now": now}))
    run_writes.write(parts)
    waiting = ("run_waiting", {"work_order_id": run.work_order_id})
    _announce(
        run,
        *_start_events(run, announce_start),
        *([_finished_event(last_step)] if last_step else []),
        waiting,
        observed=_step_observed(last_step),
    )


# Only a started run waits: a run cancelled meanwhile stays cancelled.
_WAIT_RUN = """UPDATE runs SET state = 'available', available_at = :available_at,
  resume = :resume WHERE id = :run_id AND state = 'started'"""
_WAIT_WORK_ORDER = """UPDATE work_orders SET state = 'pending', last_activity_at = :now
  WHERE id = :work_order_id AND state = 'running'"""
_BEGIN_STEP = """INSERT INTO step_runs (id, run_id, step_id, step_name, input_dataclip_id,
  attempt, started_at) VALUES (:begin_id, :run_id, :begin_step_id, :begin_step_name,
  :begin_input_id, :begin_attempt, :now)"""
_OUTPUT = """INSERT INTO dataclips (id, project_id, type, body, inserted_at)
  VALUES (:output_id, :project_id, 'step_result', :body, :now)"""
# Zero persistence: the row says an output was made, and never holds it.
_OUTPUT_NOT_STORED = """INSERT INTO dataclips (id, project_id, type, not_stored, inserted_at)
  VALUES (:output_id, :project_id, 'step_result', true, :now)"""
# PostgreSQL: all of a step's lines in one INSERT, whatever their number.
_LOG_LINES_PG = """INSERT INTO log_lines (id, run_id, step_run_id, level, source, message,
  timestamp) SELECT gen_random_uuid(), :run_id, :step_run_id, line.level, line.source,
  line.message, to_timestamp(line."timestamp")
  FROM jsonb_to_recordset(:logs) AS line(level text, source text, message text,
  "timestamp" double precision)"""
_LOG_LINE = """INSERT INTO log_lines (id, run_id, step_run_id, level, source, message,
  timestamp) VALUES (:log_id, :run_id, :step_run_id, :level, :source, :message, :at)"""
_FINISH_STEP = """UPDATE step_runs SET exit_reason = :exit_reason,
  output_dataclip_id = :output_id, finished_at = :now, error_type = :error_type,
  error_message = :error_message, retry_at = :retry_at WHERE id = :step_run_id"""
_CLOSE_OPEN_STEPS = """UPDATE step_runs SET exit_reason = :open_exit, finished_at = :now
  WHERE run_id = :run_id AND finished_at IS NULL"""
_FINISH_RUN = """UPDATE runs SET state = :state, finished_at = :now,
  final_dataclip_id = :final_dataclip_id, error_type = :run_error_type,
  error_message = :run_error_message WHERE id = :run_id"""
_FINISH_WORK_ORDER = """UPDATE work_orders SET state = :state, last_activity_at = :now
  WHERE id = :work_order_id"""


def _outcome_parts(run: ClaimedRun, outcome: StepOutcome, now: datetime) -> list[Part]:
    """The parts storing a step's outcome: its output dataclip, log lines and step row."""
    parts = []
    if outcome.output_id is not None and run.zero_persistence:
        parts.append(
            Part(
                _OUTPUT_NOT_STORED,
                {"output_id": outcome.output_id, "project_id": run.project_id, "now": now},
            )
        )
    elif outcome.output_id is not None:
        parts.append(
            Part(
                _OUTPUT,
                {
                    "output_id": outcome.output_id,
                    "project_id": run.project_id,
                    "body": outcome.output_state,
                    "now": now,
                },
            )
        )
    if outcome.logs:
        parts.append(_log_lines(run, outcome))
    error = outcome.error or {}
    parts.append(
        Part(
            _FINISH_STEP,
            {
                "exit_reason": outcome.exit_reason.value,
                "output_id": outcome.output_id,
                "now": now,
                "error_type": _error_type(error.get("type")),
                "error_message": error.get("message"),
                "retry_at": outcome.retry_at,
                "step_run_id": outcome.step_run_id,
            },
        )
    )
    return parts


def _error_type(error_type: object) -> str | None:
    # The column holds 100 characters: cut after escaping NUL (which makes text longer).
    return nul.escaped(str(error_type))[:100] if error_type else None


def _log_lines(run: ClaimedRun, outcome: StepOutcome) -> Part:
    ids = {"run_id": run.id, "step_run_id": outcome.step_run_id}
    if run_writes.on_postgresql():
        return Part(_LOG_LINES_PG, {**ids, "logs": outcome.logs})
    rows = [
        {
            **ids,
            "log_id": uuid.uuid4(),
            "level": line["level"],
            "source": line["source"],
            "message": line["message"],
            # The sandbox stamps lines in epoch seconds; the column is a UTC time.
            "at": datetime.fromtimestamp(line["timestamp"], UTC),
        }
        for line in outcome.logs
    ]
    return Part(_LOG_LINE, rows[0], rows=rows)


def _start_events(run: ClaimedRun, announce_start: bool) -> list[tuple[str, dict]]:
    return [("run_started", {"work_order_id": run.work_order_id})] if announce_start else []


def _finished_event(outcome: StepOutcome) -> tuple[str, dict]:
    return (
        "step_finished",
        {
            "step_id": outcome.step_id,
            "step_run_id": outcome.step_run_id,
            "exit_reason": outcome.exit_reason.value,
        },
    )


def _step_observed(outcome: StepOutcome | None) -> list[tuple]:
    if outcome is None or outcome.duration_s is None:
        return []
    return [(histograms.STEP_DURATION, outcome.duration_s, outcome.exit_reason.value)]


def _run_observed(run: ClaimedRun, state: RunState) -> tuple:
    seconds = time.monotonic() - run.claimed_monotonic
    return (histograms.RUN_DURATION, seconds, state.value)


def _announce(run: ClaimedRun, *events: tuple[str, dict], observed: Sequence[tuple] = ()) -> None:
    """Publish a write's run events in one Redis round trip (`run_events.publish` sends
    one event per round trip); like it, never fail the run when Redis is away. `observed`
    (histogram, seconds, label) durations for /metrics travel in the same round trip."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        for event, fields in events:
            message = run_events.message(event, run.id, **fields)
            pipe.publish(run_events.run_channel(run.id), message)
            pipe.publish(run_events.project_channel(run.project_id), message)
        for histogram, seconds, label in observed:
            histograms.observe(pipe, histogram, seconds, label)
        pipe.execute()
    except (RedisError, OSError) as error:
        log.debug("events for run %s not published: %s", run.id, error)


def mark_lost(silent_for: timedelta) -> list[uuid.UUID]:
    """Turn runs whose worker stopped heartbeating into `lost` (and their open steps)."""
    cutoff = utcnow() - silent_for
    now = utcnow()
    lost = db.session.execute(
        update(Run)
        .where(Run.state.in_(OPEN_STATES), Run.heartbeat_at < cutoff)
        .values(
            state=RunState.LOST,
            finished_at=now,
            error_type="LostRun",
            error_message=f"The worker stopped reporting for more than "
            f"{int(silent_for.total_seconds())} s.",
        )
        .returning(Run.id, Run.work_order_id, Run.project_id)
    ).all()
    if lost:
        run_ids = [row[0] for row in lost]
        db.session.execute(
            update(StepRun)
            .where(StepRun.run_id.in_(run_ids), StepRun.finished_at.is_(None))
            .values(exit_reason=StepExitReason.LOST, finished_at=now)
        )
        db.session.execute(
            update(WorkOrder)
            .where(WorkOrder.id.in_([row[1] for row in lost]))
            .values(state=WorkOrderState.LOST, last_activity_at=now)
        )
    db.session.commit()
    for run_id, work_order_id, project_id in lost:
        run_events.publish(
            project_id, run_id, "run_finished", state="lost", work_order_id=work_order_id
        )
    alert_queue.enqueue_alerts([row[0] for row in lost], RunState.LOST)
    return [row[0] for row in lost]
