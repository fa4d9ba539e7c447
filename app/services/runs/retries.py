"""A run waiting for an automatic retry, as people see and steer it: when the next attempt
is due, "retry now" and "give up".

The engine parks such a run as `available` with `available_at` (when it may be claimed again)
and `resume` (where it continues; `workers.resume`); the failed attempt's step run holds
`retry_at`. Giving up ends the run `failed` with that attempt's error right away: steps the
walk had not reached yet do not run, and who gave up is kept in the run's `resume` (the run
page says so). Both actions only act on a run that is still waiting, in one conditional
UPDATE, so they cannot race a worker that has just claimed it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from app.extensions import db
from app.models import Run, RunState, StepRun, User, WorkOrder, WorkOrderState
from app.models.base import utcnow
from app.services.errors import Conflict, NotFound
from app.services.notifications import alert_queue
from app.services.runs import events
from app.services.runs import queue as run_queue

# The words the history list and the run page use for a waiting run's state.
WAITING_LABEL = "waiting to retry"


def is_waiting(run: Run) -> bool:
    """True while the run waits for an automatic retry of a failed step."""
    return run.state is RunState.AVAILABLE and run.resume is not None


@dataclass(frozen=True)
class NextAttempt:
    """A waiting run's next attempt: which step, its number, and when."""

    step_name: str
    attempt: int
    at: datetime  # UTC

    def in_seconds(self, now: datetime | None = None) -> int:
        """Whole seconds until the attempt is due (0 once it is)."""
        return max(round((self.at - (now or utcnow())).total_seconds()), 0)


def next_attempt(run: Run, steps: list[StepRun]) -> NextAttempt | None:
    """The next attempt of a waiting run, from its step runs (in the order they ran)."""
    if not is_waiting(run) or run.available_at is None:
        return None
    failed = [step for step in steps if step.retry_at is not None]
    if not failed:
        return None
    last = failed[-1]
    return NextAttempt(last.step_name, last.attempt + 1, run.available_at.astimezone(UTC))


def given_up_by(run: Run) -> tuple[str, datetime] | None:
    """(who, when) someone gave up the run's automatic retries, else None."""
    given = (run.resume or {}).get("given_up")
    if not isinstance(given, dict):
        return None
    return str(given.get("by") or "someone"), datetime.fromisoformat(given["at"])


@dataclass(frozen=True)
class RetryView:
    """What the run page says about automatic retries: the next attempt of a waiting run,
    who gave them up, and which steps ran more than once (their attempts are numbered)."""

    waiting: bool
    next: NextAttempt | None
    given_up: tuple[str, datetime] | None
    retried_steps: frozenset[uuid.UUID]


def retry_view(run: Run, steps: list[StepRun]) -> RetryView:
    """The retry facts of a run with its step runs (in the order they ran)."""
    retried = frozenset(s.step_id for s in steps if s.attempt > 1 or s.retry_at is not None)
    return RetryView(is_waiting(run), next_attempt(run, steps), given_up_by(run), retried)


def retry_now(run_id: uuid.UUID, *, project_id: uuid.UUID) -> None:
    """Make a waiting run's next attempt due now and queue it (after commit)."""
    now = utcnow()
    moved = db.session.execute(
        update(Run)
        .where(*_waiting(run_id, project_id))
        .values(available_at=now)
        .returning(Run.priority, Run.work_order_id)
    ).first()
    if moved is None:
        db.session.rollback()
        raise _not_waiting(run_id, project_id, "retry now")
    db.session.execute(
        update(StepRun).where(StepRun.run_id == run_id, StepRun.retry_at > now).values(retry_at=now)
    )
    db.session.commit()
    run_queue.enqueue_run(run_id, priority=moved.priority)
    events.publish(project_id, run_id, "run_waiting", work_order_id=moved.work_order_id)


def give_up(run_id: uuid.UUID, *, project_id: uuid.UUID, actor: User) -> None:
    """End a waiting run `failed` with its last attempt's error, noting who gave up."""
    last = db.session.scalar(
        select(StepRun)
        .where(StepRun.run_id == run_id, StepRun.retry_at.isnot(None))
        .order_by(StepRun.started_at.desc(), StepRun.id)
        .limit(1)
    )
    resume = db.session.scalar(select(Run.resume).where(Run.id == run_id)) or {}
    now = utcnow()
    given = {"by": actor.display_name, "by_id": str(actor.id), "at": now.isoformat()}
    ended = db.session.execute(
        update(Run)
        .where(*_waiting(run_id, project_id))
        .values(
            state=RunState.FAILED,
            finished_at=now,
            available_at=None,
            error_type=last.error_type if last else "GivenUp",
            error_message=last.error_message if last else "The automatic retries were given up.",
            final_dataclip_id=last.output_dataclip_id if last else None,
            resume={**resume, "given_up": given},
        )
        .returning(Run.work_order_id)
    ).first()
    if ended is None:
        db.session.rollback()
        raise _not_waiting(run_id, project_id, "give up")
    if last is not None:
        last.retry_at = None  # no attempt follows it any more
    db.session.execute(
        update(WorkOrder)
        .where(WorkOrder.id == ended.work_order_id)
        .values(state=WorkOrderState.FAILED, last_activity_at=now)
    )
    db.session.commit()
    events.publish(
        project_id, run_id, "run_finished", state="failed", work_order_id=ended.work_order_id
    )
    alert_queue.enqueue_alerts([run_id], RunState.FAILED)


def _waiting(run_id: uuid.UUID, project_id: uuid.UUID) -> tuple:
    return (
        Run.id == run_id,
        Run.project_id == project_id,
        Run.state == RunState.AVAILABLE,
        Run.resume.isnot(None),
    )


def _not_waiting(run_id: uuid.UUID, project_id: uuid.UUID, action: str) -> Exception:
    """NotFound for a run of another project, else Conflict saying what the run is doing."""
    state = db.session.scalar(
        select(Run.state).where(Run.id == run_id, Run.project_id == project_id)
    )
    if state is None:
        return NotFound("There is no such run in this project.")
    if state in (RunState.CLAIMED, RunState.STARTED):
        now_doing = "a worker is running it right now"
    elif state is RunState.AVAILABLE:
        now_doing = "it is waiting for a worker, not for a retry"
    else:
        now_doing = f"it has already ended ({state.value})"
    return Conflict(
        f"You cannot {action}: this run is not waiting for an automatic retry ({now_doing}). "
        "Nothing was changed."
    )
