"""Digests: due at the member's hour in their time zone, covering the previous day / week /
month there, counted exactly at the period's edges, sent once per period, with the most
frequent errors masked of input values, and delivered over real SMTP."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from rq import Queue

from app.extensions import MAIL_QUEUE, redis_client
from app.models import (
    AlertLogEntry,
    DigestFrequency,
    DigestSend,
    MailMessage,
    ProjectMember,
    Role,
    Run,
)
from app.services import mail
from app.services.notifications import digests, links
from tests import factories, history_factories
from tests.services.test_mail import deliver_queued, smtp_inbox  # noqa: F401

# 1 June 2026 is a Monday and the 1st: every frequency is due that day.
NZ_MORNING = datetime(2026, 5, 31, 19, 30, tzinfo=UTC)  # 07:30 on 1 June in Auckland
LA_MORNING = datetime(2026, 6, 1, 14, 30, tzinfo=UTC)  # 07:30 on 1 June in Los Angeles

# The periods in UTC, worked out by hand (NZST is UTC+12, PDT is UTC-7 in May).
PERIODS = {
    ("daily", "Pacific/Auckland"): ("2026-05-30T12:00", "2026-05-31T12:00"),
    ("daily", "America/Los_Angeles"): ("2026-05-31T07:00", "2026-06-01T07:00"),
    ("weekly", "Pacific/Auckland"): ("2026-05-24T12:00", "2026-05-31T12:00"),
    ("weekly", "America/Los_Angeles"): ("2026-05-25T07:00", "2026-06-01T07:00"),
    ("monthly", "Pacific/Auckland"): ("2026-04-30T12:00", "2026-05-31T12:00"),
    ("monthly", "America/Los_Angeles"): ("2026-05-01T07:00", "2026-06-01T07:00"),
}
# Both members' period is 31 May / the week to 31 May / May in their own zone.
LABELS = {
    "daily": "daily digest, Sun 31 May 2026",
    "weekly": "weekly digest, week of Mon 25 May 2026 to Sun 31 May 2026",
    "monthly": "monthly digest, May 2026",
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def mail_queue(app, db):
    queue = Queue(MAIL_QUEUE, connection=redis_client())
    queue.empty()
    yield queue
    queue.empty()


def subscriber(project, zone: str, frequency: str, hour: int = 7):
    """A viewer of `project` in `zone` who takes the digest at `hour`."""
    person = factories.user()
    person.time_zone = zone
    factories.member(project, person, Role.VIEWER)
    member = _member(project.id, person.id)
    member.digest, member.digest_hour = DigestFrequency(frequency), hour
    from app.extensions import db

    db.session.commit()
    return person


def _member(project_id, user_id) -> ProjectMember:
    from app.extensions import db

    return db.session.scalar(
        sa.select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


def failed(flow, received: datetime, error: str, body: dict | None = None):
    """A failed work order whose run ended with `error`."""
    from app.extensions import db

    order = history_factories.work_order(flow, state="failed", received=received, body=body)
    run = db.session.scalar(sa.select(Run).where(Run.work_order_id == order.id))
    run.error_message = error
    db.session.commit()
    return order


def mails_to(email: str) -> list[MailMessage]:
    from app.extensions import db

    return list(db.session.scalars(sa.select(MailMessage).where(MailMessage.to_address == email)))


def counts(text: str) -> tuple[int, int]:
    found = re.search(r"Succeeded: (\d+)\s+Unsuccessful: (\d+)", text)
    assert found, text
    return int(found[1]), int(found[2])


def test_due_only_on_the_send_day_after_the_hour_in_the_members_zone(app):
    la = "America/Los_Angeles"
    before = datetime(2026, 6, 1, 13, 59, tzinfo=UTC)  # 06:59 there
    assert digests.due_period(DigestFrequency.DAILY, 7, la, before) is None
    period = digests.due_period(DigestFrequency.DAILY, 7, la, LA_MORNING)
    assert (period.key, period.start, period.end) == (
        "daily:2026-05-31",
        utc("2026-05-31T07:00"),
        utc("2026-06-01T07:00"),
    )
    tuesday = LA_MORNING + timedelta(days=1)
    assert digests.due_period(DigestFrequency.WEEKLY, 7, la, tuesday) is None
    assert digests.due_period(DigestFrequency.MONTHLY, 7, la, tuesday) is None
    assert digests.due_period(DigestFrequency.NEVER, 0, la, LA_MORNING) is None
    assert digests.due_period(DigestFrequency.WEEKLY, 7, la, LA_MORNING).key == "weekly:2026-W22"
    assert digests.due_period(DigestFrequency.MONTHLY, 7, la, LA_MORNING).key == "monthly:2026-05"
    # The day summer time starts there has 23 hours.
    spring = digests.due_period(
        DigestFrequency.DAILY, 7, la, datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
    )
    assert (spring.start, spring.end) == (utc("2026-03-08T08:00"), utc("2026-03-09T07:00"))
    # An unknown stored zone falls back to UTC instead of failing the whole task.
    assert digests.due_period(DigestFrequency.DAILY, 7, "Mars/Olympus", LA_MORNING).start == (
        utc("2026-05-31T00:00")
    )


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly"])
def test_counts_cover_exactly_the_members_period(db, project, flow, mail_queue, frequency):
    nz = subscriber(project, "Pacific/Auckland", frequency)
    la = subscriber(project, "America/Los_Angeles", frequency)
    edges = {
        edge for (freq, _zone), bounds in PERIODS.items() if freq == frequency for edge in bounds
    }
    moments = []
    for edge in sorted(edges):
        # Just before each edge a success, on the edge a failure.
        history_factories.work_order(
            flow, state="success", received=utc(edge) - timedelta(seconds=1)
        )
        failed(flow, utc(edge), "HTTP 500 from the server")
        moments += [(utc(edge) - timedelta(seconds=1), "success"), (utc(edge), "failed")]

    assert digests.send_due(NZ_MORNING) >= 1
    assert digests.send_due(LA_MORNING) >= 1
    for person in (nz, la):
        start, end = (utc(t) for t in PERIODS[(frequency, person.time_zone)])
        wanted = [state for moment, state in moments if start <= moment < end]
        [message] = [m for m in mails_to(person.email) if m.subject.endswith(LABELS[frequency])]
        assert counts(message.text) == (wanted.count("success"), wanted.count("failed"))
        assert wanted, "the edges must put some work orders inside the period"


def test_sent_exactly_once_however_often_the_scheduler_runs(db, project, flow, mail_queue):
    person = subscriber(project, "America/Los_Angeles", "daily")
    history_factories.work_order(flow, state="success", received=utc("2026-05-31T12:00"))
    assert digests.send_due(LA_MORNING) == 1
    assert digests.send_due(LA_MORNING) == 0
    assert digests.send_due(LA_MORNING + timedelta(hours=5)) == 0  # later the same day
    assert len(mails_to(person.email)) == 1
    member = _member(project.id, person.id)
    keys = db.session.scalars(
        sa.select(DigestSend.period_key).where(DigestSend.member_id == member.id)
    )
    assert list(keys) == ["daily:2026-05-31"]
    [entry] = db.session.scalars(sa.select(AlertLogEntry).where(AlertLogEntry.kind == "digest"))
    assert (entry.recipient, entry.status, entry.project_id) == (person.email, "queued", project.id)
    # The next day is a new period.
    assert digests.send_due(LA_MORNING + timedelta(days=1)) == 1


def test_no_mail_for_a_project_without_workflows(db, user, mail_queue):
    empty = factories.project(user, "Nothing here")
    person = subscriber(empty, "UTC", "daily", hour=0)
    assert digests.send_due(LA_MORNING) == 0
    assert mails_to(person.email) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DigestSend)) == 0


def test_never_and_disabled_members_get_nothing(db, project, flow, mail_queue):
    quiet = subscriber(project, "UTC", "never", hour=0)
    gone = subscriber(project, "UTC", "daily", hour=0)
    gone.disabled = True
    db.session.commit()
    assert digests.send_due(LA_MORNING) == 0
    assert mails_to(quiet.email) == mails_to(gone.email) == []


def test_the_most_frequent_errors_masked_of_input_values(db, project, flow, mail_queue):
    person = subscriber(project, "UTC", "daily", hour=0)
    day = utc("2026-05-31T10:00")
    patient = {"patient": {"name": "Aroha Ngata-Whitcombe", "nhi": "ZZZ0016"}}
    for _ in range(4):
        failed(flow, day, "Cannot sync Aroha Ngata-Whitcombe: 409 Conflict", body=patient)
    for _ in range(3):
        failed(flow, day, "Timeout after 30 s")
    for _ in range(2):
        failed(flow, day, "DHIS2 said 401")
    failed(flow, day, "A rare one")
    history_factories.work_order(flow, state="success", received=day)

    assert digests.send_due(utc("2026-06-01T00:30")) == 1
    [message] = mails_to(person.email)
    assert counts(message.text) == (1, 10)
    lines = [line.strip() for line in message.text.splitlines() if " x " in line]
    assert lines == [
        "4 x Cannot sync ***: 409 Conflict",
        "3 x Timeout after 30 s",
        "2 x DHIS2 said 401",
    ]
    assert "Aroha" not in message.text and "ZZZ0016" not in message.text
    assert "A rare one" not in message.text


def test_the_claim_holds_across_two_connections(app, db):
    """Two schedulers' inserts for one member and period: one wins, the other does nothing."""
    from app.extensions import db as _db

    engine = _db.engine
    owner_email = f"claim-{uuid.uuid4().hex[:8]}@example.org"
    with engine.begin() as setup:
        user_id = setup.execute(
            sa.text(
                "INSERT INTO users (id, email, name, session_nonce) "
                "VALUES (gen_random_uuid(), :e, '', 'x') RETURNING id"
            ),
            {"e": owner_email},
        ).scalar()
        project_id = setup.execute(
            sa.text(
                "INSERT INTO projects (id, name, egress_allowlist) "
                "VALUES (gen_random_uuid(), 'c', '[]') RETURNING id"
            )
        ).scalar()
        member_id = setup.execute(
            sa.text(
                "INSERT INTO project_members (id, project_id, user_id, role) "
                "VALUES (gen_random_uuid(), :p, :u, 'viewer') RETURNING id"
            ),
            {"p": project_id, "u": user_id},
        ).scalar()
    try:
        first, second = engine.connect(), engine.connect()
        try:
            claim = digests.claim_statement(member_id, "daily:2026-05-31")
            won = first.execute(claim).scalar()
            # The second waits for the first to commit; a short lock timeout proves it waits.
            second.execute(sa.text("SET lock_timeout = '200ms'"))
            with pytest.raises(sa.exc.OperationalError):
                second.execute(claim)
            second.rollback()
            first.commit()
            lost = second.execute(claim).scalar()
            second.commit()
            assert won is not None and lost is None
        finally:
            first.close()
            second.close()
    finally:
        with engine.begin() as cleanup:
            cleanup.execute(sa.text("DELETE FROM projects WHERE id = :p"), {"p": project_id})
            cleanup.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": user_id})


def test_delivered_over_smtp_with_links(db, project, flow, mail_queue, smtp_inbox):  # noqa: F811
    person = subscriber(project, "America/Los_Angeles", "weekly")
    failed(flow, utc("2026-05-28T10:00"), "Timeout after 30 s")
    assert digests.send_due(LA_MORNING) == 1
    deliver_queued(mail_queue)
    [(recipients, message)] = smtp_inbox.messages
    assert recipients == [person.email]
    assert message["Subject"] == (
        f"[Ferry] {project.name}: weekly digest, week of Mon 25 May 2026 to Sun 31 May 2026"
    )
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    urls = re.findall(r"https?://\S+", text)
    history = [u for u in urls if "/history?" in u]
    assert history, text
    query = parse_qs(urlsplit(history[0]).query)
    assert query["workflow"] == [str(flow.id)]
    assert query["received_from"] == ["2026-05-25"] and query["received_to"] == ["2026-06-01"]
    [unsubscribe] = [u for u in urls if "/unsubscribe/" in u]
    request = links.read_unsubscribe_token(unsubscribe.rsplit("/", 1)[1])
    assert request == links.Unsubscribe(person.id, project.id, links.DIGEST)
    assert f'href="{unsubscribe}"' in html
    assert f'href="{history[0].replace("&", "&amp;")}"' in html
    assert "Timeout after 30 s" in html and "Succeeded" in html
    assert mail.outbox_enabled() is False


def test_the_scheduler_runs_digests_every_few_minutes(app):
    from workers.scheduler import periodic_tasks

    with app.app_context():
        [task] = [t for t in periodic_tasks() if t.name == "digests"]
    assert task.function is digests.send_due and 60 <= task.every_s <= 600


def test_errors_of_runs_whose_input_is_gone_lose_quoted_parts_and_long_numbers(
    db, project, flow, mail_queue
):
    person = subscriber(project, "UTC", "daily", hour=0)
    order = failed(flow, utc("2026-05-31T10:00"), "No patient 'Hemi Walker' with NHI 2026053112")
    run = db.session.scalar(sa.select(Run).where(Run.work_order_id == order.id))
    run.dataclip_id = None  # the input was removed by the retention policy
    db.session.commit()
    assert digests.send_due(utc("2026-06-01T00:30")) == 1
    [message] = mails_to(person.email)
    assert "1 x No patient '***' with NHI ***" in message.text
    assert "Hemi" not in message.text and "2026053112" not in message.text
    assert "Hemi" not in message.html


def test_two_schedulers_at_once_send_one_digest(app):
    """Two schedulers, each with its own session and connection, run the task at the same
    moment against committed rows: one digest in all."""
    import threading

    from app.extensions import db as _db

    with app.app_context():
        queue = Queue(MAIL_QUEUE, connection=redis_client())
        owner = factories.user()
        project = factories.project(owner, f"Race {uuid.uuid4().hex[:6]}")
        factories.workflow(project)
        member = _member(project.id, owner.id)
        member.digest, member.digest_hour = DigestFrequency.DAILY, 0
        _db.session.commit()
        project_id, owner_id, email = project.id, owner.id, owner.email
        _db.session.remove()
    barrier, results = threading.Barrier(2), []

    def scheduler():
        with app.app_context():
            barrier.wait()
            try:
                results.append(digests.send_due(LA_MORNING))
            finally:
                _db.session.remove()

    try:
        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(results) == [0, 1]
        with app.app_context():
            assert len(mails_to(email)) == 1
    finally:
        with app.app_context():
            _db.session.execute(sa.delete(MailMessage).where(MailMessage.to_address == email))
            _db.session.execute(sa.text("DELETE FROM projects WHERE id = :p"), {"p": project_id})
            _db.session.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": owner_id})
            _db.session.commit()
            _db.session.remove()
            queue.empty()
