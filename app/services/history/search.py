"""Search text over work order and run ids, input dataclip bodies and log lines.

PostgreSQL: an input body matches when it holds the text as typed, in whole words. A
full-text GIN index over the first 4 KB of the body as text finds the bodies holding every
word; a substring test then keeps those where the words appear as typed. Log lines match on
any part of a line (`ILIKE`, served by a trigram GIN index over the first 2 KB). SQLite (the
demo) runs plain LIKE queries.

Credential values never match. Pages show them masked (`***`), so a place matches only when
the text occurs in it with the values of the project's credentials masked the same way: the
secret, a part of it, or a text running from what is shown into it finds nothing, and
"no match" looks the same as for any other text. The index conditions still narrow the rows
first; the masked test (SQL replace(), one per secret form) runs only on what they keep.

The body's text and words come from two SQL functions of migration 0003,
ferry_dataclip_text() and ferry_dataclip_words(). They are declared costly, which is the
truth (turning a JSON body into text takes a tenth of a millisecond): that is what lets
PostgreSQL choose well between looking matches up in the index (a rare text) and testing the
newest work orders one by one (a common text, where a page fills after a few rows).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Select, select, text, union

from app.extensions import db
from app.models import Dataclip, LogLine, Run, Step, Workflow, WorkOrder
from app.scrub import MASK, Scrubber
from app.services.credentials import store
from app.services.history.filters import HistoryFilter, day_start
from app.services.zero_persistence import settings as zero_persistence_settings

DATACLIP_TEXT_CHARS = 4096  # as in ferry_dataclip_text()
LOG_TEXT_CHARS = 2048
# Inputs received since a date may be stored a little earlier: a cron run's input is the
# output of an earlier run.
INPUT_SLACK = timedelta(days=7)
_HEX = re.compile(r"^[0-9a-f]{4,32}$")


def dataclip_text(postgres: bool = False) -> ColumnElement[str]:
    """The searchable text of a dataclip: its JSON body as text, or the raw body."""
    if postgres:
        return sa.func.ferry_dataclip_text(Dataclip.body, Dataclip.raw_body)
    # A body stored as JSON null (non-JSON requests) falls through to the raw body.
    body = sa.func.nullif(sa.cast(Dataclip.body, sa.Text), "null")
    return sa.func.substr(sa.func.coalesce(body, Dataclip.raw_body, ""), 1, DATACLIP_TEXT_CHARS)


def log_text(postgres: bool) -> ColumnElement[str]:
    """The searchable text of a log line (on PostgreSQL, the expression of its index)."""
    if postgres:
        # A literal, not a bound parameter, so the expression matches the index.
        return sa.func.left(LogLine.message, sa.literal_column(str(LOG_TEXT_CHARS)))
    return sa.func.substr(LogLine.message, 1, LOG_TEXT_CHARS)


def contains(expression: ColumnElement[str], text_: str) -> ColumnElement[bool]:
    """Case-insensitive substring match, with LIKE's wildcards taken literally."""
    escaped = text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return expression.ilike(f"%{escaped}%", escape="\\")


def masked(expression: ColumnElement[str], secrets: tuple[str, ...]) -> ColumnElement[str]:
    """`expression` with each secret replaced by the mask, in the scrubber's order (longest
    first), so SQL sees the text exactly as pages show it."""
    for secret in secrets:
        if "\x00" not in secret:  # PostgreSQL text cannot hold one, so neither can a body
            expression = sa.func.replace(expression, secret, MASK)
    return expression


def shown_contains(
    expression: ColumnElement[str], text_: str, masker: Scrubber
) -> ColumnElement[bool]:
    """`contains`, on the text as pages show it. Plain tests come first: they are what an
    index serves (one per part of `text_` between masks, as stored text has secrets where
    pages show the mask), and the masked test only rechecks the rows they keep."""
    secrets = touching(masker.secrets, text_)
    if not secrets:
        return contains(expression, text_)
    plain = [contains(expression, part) for part in text_.split(MASK) if part]
    # strpos, not ILIKE: PostgreSQL has no statistics for the masked text and guesses that an
    # ILIKE on it keeps 0.5% of rows, which turns the plan for a common word into "collect
    # every match first" (20 times slower); for `strpos(...) > 0` it guesses a third.
    shown = sa.func.lower(masked(expression, secrets))
    return sa.and_(*plain, sa.func.strpos(shown, sa.func.lower(sa.literal(text_))) > 0)


def touching(secrets: tuple[str, ...], text_: str) -> tuple[str, ...]:
    """The secrets whose masking can change whether `text_` matches a text: those it holds,
    lies within, or overlaps at either end (ignoring case); all of them when it holds a mask
    character. Most searches touch none, and run exactly as without credentials."""
    if "*" in text_:
        return secrets
    term = text_.lower()
    return tuple(secret for secret in secrets if _overlaps(term, secret.lower()))


def _overlaps(term: str, secret: str) -> bool:
    if term in secret or secret in term:
        return True
    return any(
        term.endswith(secret[:size]) or term.startswith(secret[-size:])
        for size in range(1, min(len(term), len(secret)))
    )


def search_masker(project_id: uuid.UUID) -> Scrubber:
    """The values pages mask in this project: of the credentials shared into it and of those
    its steps use (one query for the ids, one for the bodies)."""
    used = db.session.scalars(
        select(Step.credential_id)
        .join(Workflow, Workflow.id == Step.workflow_id)
        .where(Workflow.project_id == project_id, Step.credential_id.is_not(None))
    )
    return store.display_masker(project_id, used)


def id_range(text_: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The ids starting with `text_` (a whole id or a short id of at least 4 hex digits)."""
    digits = text_.strip().lower().replace("-", "")
    if not _HEX.match(digits):
        return None
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))


def input_match(text_: str, postgres: bool, masker: Scrubber | None = None) -> ColumnElement[bool]:
    """True for dataclips whose text, as shown, holds `text_` as typed (PostgreSQL: in whole
    words); with `masker`, the credential values it knows are masked first."""
    masker = masker or Scrubber(())
    if not postgres:
        return shown_contains(dataclip_text(), text_, masker)
    words = sa.func.plainto_tsquery(sa.literal_column("'simple'::regconfig"), text_)
    found = sa.func.ferry_dataclip_words(Dataclip.body, Dataclip.raw_body).op("@@")(words)
    return sa.and_(found, shown_contains(dataclip_text(postgres=True), text_, masker))


def search_condition(project_id: uuid.UUID, filters: HistoryFilter) -> ColumnElement[bool]:
    """A condition on WorkOrder true when the filter's text occurs in any of its places.

    Each place yields the ids of matching work orders and the union of those is one IN (a
    semi-join): an OR of separate subqueries would make PostgreSQL test every work order.
    """
    text_, places = filters.text, filters.places
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        # The costly functions push plans past the JIT threshold, and compiling them takes
        # longer than running them. Until the end of this request's transaction.
        db.session.execute(text("SET LOCAL jit = off"))
    found: list[Select] = []
    masker = search_masker(project_id) if {"input", "logs"} & set(places) else Scrubber(())
    if "id" in places and (bounds := id_range(text_)) is not None:
        found.append(
            select(WorkOrder.id).where(
                WorkOrder.project_id == project_id, WorkOrder.id.between(*bounds)
            )
        )
        found.append(
            select(Run.work_order_id).where(Run.project_id == project_id, Run.id.between(*bounds))
        )
    if "input" in places and not zero_persistence_settings.is_on(project_id):
        # (Zero persistence: no input is stored to search in; the filters say so.)
        clips = select(Dataclip.id).where(
            Dataclip.project_id == project_id, input_match(text_, postgres, masker)
        )
        if filters.received_from:
            # Cheap, and tested before the costly text: fewer bodies to turn into text.
            since = day_start(filters.received_from) - INPUT_SLACK
            clips = clips.where(Dataclip.inserted_at >= since)
        found.append(
            select(WorkOrder.id).where(
                WorkOrder.project_id == project_id, WorkOrder.dataclip_id.in_(clips)
            )
        )
    if "logs" in places:
        lines = select(LogLine.run_id).where(shown_contains(log_text(postgres), text_, masker))
        if filters.received_from:
            lines = lines.where(LogLine.timestamp >= day_start(filters.received_from))
        found.append(
            select(Run.work_order_id).where(Run.project_id == project_id, Run.id.in_(lines))
        )
    if not found:
        return sa.false()
    # Not correlated: these are complete queries of their own, not tests of the outer row.
    found = [query.correlate(None) for query in found]
    return WorkOrder.id.in_(found[0] if len(found) == 1 else union(*found))
