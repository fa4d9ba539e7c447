"""Failure alerts: who gets them, what they say (and never say), the rate limit with its
one summary, the HTTP channel's signature and egress policy, and how a run's end queues
the alert job."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import select, update

from app.extensions import MAIL_QUEUE, redis_client
from app.models import MailMessage, ProjectMember, Role, RunState, StepExitReason
from app.models.base import utcnow
from app.models.notifications import AlertLogEntry, AlertWindow, WorkflowAlertChoice
from app.services.encryption import encrypt_text
from app.services.notifications import alert_queue, failure_alerts, http_channel
from app.services.notifications.links import FAILURE_ALERTS, read_unsubscribe_token
from app.services.runs import claims, lifecycle
from tests import factories

SECRET = "s3cr3t-Pa55word!"
PATIENT = "Amina Wanjiru-4471"


@pytest.fixture
def mail_queue(app, db):
    """The mail queue (alerts and mails go there), emptied before and after."""
    queue = Queue(MAIL_QUEUE, connection=redis_client())
    queue.empty()
    yield queue
    queue.empty()


@pytest.fixture
def alerting(db, user, mail_queue):
    """A project with a shared credential (value SECRET) and a workflow "Patient sync"."""
    user.time_zone = "Europe/Berlin"
    project = factories.project(user, "Clinic intake")
    factories.shared_dhis2_credential(user, project, SECRET)
    from app.services.workflows import store

    saved = store.get_workflow(factories.workflow(project, name="Patient sync").id)
    step = saved.steps[0]
    workflow = SimpleNamespace(
        id=saved.id, trigger_id=saved.triggers[0].id, step_id=step.id, step_name=step.name
    )
    return project, workflow


def fail_run(client, workflow, *, state=RunState.FAILED, logs=True):
    """A webhook run of `workflow` whose step printed the secret and the patient's name and
    then failed with both in its error; ends through the service that finishes runs."""
    response = client.post(f"/i/{workflow.trigger_id}", json={"patient": {"name": PATIENT}})
    run = claims.claim(uuid.UUID(response.get_json()["run_id"]), "worker:1")
    step = {"id": str(workflow.step_id), "name": workflow.step_name}
    step_run_id = lifecycle.begin_step(run, step, run.dataclip_id)
    lines = [
        {"level": "info", "source": "job", "message": f"line {n}", "timestamp": 1.7e9 + n}
        for n in range(30)
    ]
    lines.append(
        {
            "level": "error",
            "source": "job",
            "message": f"posting {PATIENT} with password {SECRET}",
            "timestamp": 1.7e9 + 99,
        }
    )
    outcome = lifecycle.StepOutcome(
        step_run_id,
        step["id"],
        exit_reason=StepExitReason.FAILED,
        output_state=None,
        error={"type": "HTTPError", "message": f"401 for {PATIENT} using {SECRET}"},
        logs=lines if logs else [],
    )
    lifecycle.finish(
        run,
        state,
        last_step=outcome,
        error_type="HTTPError",
        error_message=f"401 for {PATIENT} using {SECRET}",
    )
    return run.id


def add_member(project, role, *, alerts=True, time_zone="UTC", disabled=False):
    person = factories.user()
    person.time_zone, person.disabled = time_zone, disabled
    factories.member(project, person, role)
    member = member_of(project, person)
    member.failure_alerts = alerts
    from app.extensions import db

    db.session.commit()
    return person


def member_of(project, person):
    from app.extensions import db

    return db.session.scalars(
        select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == person.id
        )
    ).one()


def mails(db, to=None):
    query = select(MailMessage).order_by(MailMessage.inserted_at)
    if to is not None:
        query = query.where(MailMessage.to_address == to)
    return list(db.session.scalars(query))


def test_opted_in_members_get_the_alert_and_nobody_else(db, client, user, alerting):
    project, workflow = alerting
    opted_out = add_member(project, Role.ADMIN, alerts=False)
    by_workflow = add_member(project, Role.EDITOR, alerts=False, time_zone="America/New_York")
    disabled = add_member(project, Role.ADMIN, disabled=True)
    off_here = add_member(project, Role.ADMIN, alerts=True)
    db.session.add(
        WorkflowAlertChoice(
            member_id=member_of(project, by_workflow).id, workflow_id=workflow.id, enabled=True
        )
    )
    db.session.add(
        WorkflowAlertChoice(
            member_id=member_of(project, off_here).id, workflow_id=workflow.id, enabled=False
        )
    )
    db.session.commit()
    run_id = fail_run(client, workflow)

    assert failure_alerts.alert_for_run(run_id) == 2
    assert sorted(m.to_address for m in mails(db)) == sorted([user.email, by_workflow.email])
    for nobody in (opted_out, disabled, off_here):
        assert mails(db, nobody.email) == []
    # Each alert carries its signed turn-off link for the List-Unsubscribe header too.
    for sent in mails(db):
        assert "/unsubscribe/" in sent.unsubscribe_url and sent.unsubscribe_url in sent.text
    logged = db.session.scalars(select(AlertLogEntry).where(AlertLogEntry.run_id == run_id))
    assert sorted((e.recipient, e.status, e.kind) for e in logged) == sorted(
        [(user.email, "queued", "failure"), (by_workflow.email, "queued", "failure")]
    )


def test_the_alert_says_what_failed_where_and_when_and_nothing_private(db, client, user, alerting):
    project, workflow = alerting
    run_id = fail_run(client, workflow)
    failure_alerts.alert_for_run(run_id)
    (mail,) = mails(db, user.email)
    assert mail.subject == "[Ferry] Patient sync failed in Clinic intake"
    text = mail.text
    assert "State: failed" in text
    assert f"Failing step: {workflow.step_name}" in text
    # The plain sentence first, the technical text still there (both masked).
    assert (
        f"What happened: Step “{workflow.step_name}” did not finish: 401 for *** using ***" in text
    )
    assert "Technical detail: HTTPError: 401 for *** using ***" in text
    assert SECRET not in text and PATIENT not in text
    assert "line 29" not in text  # no log lines unless the project asks
    from app.extensions import db as _db
    from app.models import Run

    finished = _db.session.get(Run, run_id).finished_at
    berlin = finished.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert f"When: {berlin.day} {berlin.strftime('%b %Y, %H:%M')} (Europe/Berlin)" in text
    base = "http://127.0.0.1:5000"
    assert f"The run: {base}/projects/{project.id}/runs/{run_id}" in text
    history = next(line for line in text.splitlines() if line.startswith("History of"))
    url = urlsplit(history.split(": ", 1)[1])
    assert url.path == f"/projects/{project.id}/history"
    assert parse_qs(url.query) == {"workflow": [str(workflow.id)]}
    links = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith("Turn off")]
    tokens = [read_unsubscribe_token(link.rsplit("/", 1)[1]) for link in links]
    assert sorted(
        [(t.user_id, t.project_id, t.kind, t.workflow_id) for t in tokens], key=str
    ) == sorted(
        [
            (user.id, project.id, FAILURE_ALERTS, workflow.id),
            (user.id, project.id, FAILURE_ALERTS, None),
        ],
        key=str,
    )
    # The HTML alternative says the same, with the same links, and nothing private either.
    html = mail.html
    assert (
        "Patient sync failed in Clinic intake." in html
        and "HTTPError: 401 for *** using ***" in html
    )
    assert SECRET not in html and PATIENT not in html
    for link in links:
        assert link in html


def test_log_lines_only_when_the_project_asks_and_then_scrubbed(db, client, user, alerting):
    project, workflow = alerting
    project.alert_include_logs = True
    db.session.commit()
    run_id = fail_run(client, workflow)
    failure_alerts.alert_for_run(run_id)
    (mail,) = mails(db, user.email)
    assert "The last 20 log lines:" in mail.text
    assert "line 11" in mail.text and "line 10\n" not in mail.text  # the last 20 only
    assert "posting *** with password ***" in mail.text
    assert SECRET not in mail.text and PATIENT not in mail.text
    assert "posting *** with password ***" in mail.html
    assert SECRET not in mail.html and PATIENT not in mail.html


def test_no_alert_for_success_or_a_project_being_deleted(db, client, user, alerting):
    project, workflow = alerting
    assert failure_alerts.alert_for_run(fail_run(client, workflow, state=RunState.SUCCESS)) == 0
    project.deletion_requested_at = utcnow()
    db.session.commit()
    assert failure_alerts.alert_for_run(fail_run(client, workflow)) == 0
    assert mails(db) == []


def test_a_job_run_twice_sends_once(db, client, user, alerting):
    _, workflow = alerting
    run_id = fail_run(client, workflow)
    assert failure_alerts.alert_for_run(run_id) == 1
    assert failure_alerts.alert_for_run(run_id) == 0
    assert len(mails(db, user.email)) == 1


def test_rate_limit_then_one_summary_even_with_two_schedulers(db, client, user, alerting):
    _, workflow = alerting
    for _ in range(5):
        failure_alerts.alert_for_run(fail_run(client, workflow, logs=False))
    sent = mails(db, user.email)
    assert len(sent) == 3
    assert "You will get no more alerts" not in sent[1].text
    assert "You will get no more alerts for Patient sync until " in sent[2].text
    assert "a summary follows." in sent[2].text
    statuses = db.session.scalars(
        select(AlertLogEntry.status).where(AlertLogEntry.recipient == user.email)
    ).all()
    assert sorted(statuses) == ["queued"] * 3 + ["suppressed"] * 2
    assert failure_alerts.send_due_summaries() == 0  # the window has not ended
    # Time travel: the window ended a moment ago.
    db.session.execute(
        update(AlertWindow)
        .where(AlertWindow.workflow_id == workflow.id)
        .values(ends_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert failure_alerts.send_due_summaries() == 1
    assert failure_alerts.send_due_summaries() == 0
    summaries = [m for m in mails(db, user.email) if "more runs" in m.subject]
    assert len(summaries) == 1
    assert summaries[0].subject == "[Ferry] 2 more runs of Patient sync failed in Clinic intake"
    assert "2 more runs of Patient sync failed between " in summaries[0].text
    assert "(Europe/Berlin)" in summaries[0].text
    link = next(w for w in summaries[0].text.split() if "/history?" in w)
    query = parse_qs(urlsplit(link).query)
    assert query["workflow"] == [str(workflow.id)] and "activity_from" in query
    assert "failed" in query["state"] and "success" not in query["state"]
    # The next failure opens a new window and is sent.
    failure_alerts.alert_for_run(fail_run(client, workflow, logs=False))
    assert len(mails(db, user.email)) == 5


def test_an_ended_window_summary_travels_with_the_next_alert_once(db, client, user, alerting):
    _, workflow = alerting
    for _ in range(4):
        failure_alerts.alert_for_run(fail_run(client, workflow, logs=False))
    db.session.execute(update(AlertWindow).values(ends_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    failure_alerts.alert_for_run(fail_run(client, workflow, logs=False))
    assert failure_alerts.send_due_summaries() == 0  # already claimed by the alert
    subjects = [m.subject for m in mails(db, user.email)]
    assert subjects.count("[Ferry] 1 more run of Patient sync failed in Clinic intake") == 1
    assert len(subjects) == 5


class Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_http_channel_posts_signed_json_within_the_allowlist(
    db, client, user, alerting, receiver, mail_queue
):
    project, workflow = alerting
    port = receiver.server_address[1]
    project.alert_webhook_url = f"http://127.0.0.1:{port}/hooks/ferry"
    project.alert_webhook_secret_encrypted = encrypt_text("hook secret")
    project.egress_allowlist = [f"127.0.0.1:{port}"]
    db.session.commit()
    run_id = fail_run(client, workflow)
    failure_alerts.alert_for_run(run_id)
    entry = db.session.scalars(
        select(AlertLogEntry).where(AlertLogEntry.run_id == run_id, AlertLogEntry.channel == "http")
    ).one()
    assert (entry.status, entry.recipient) == ("queued", "127.0.0.1")
    job = next(j for j in mail_queue.jobs if j.func_name == failure_alerts.HTTP_JOB)
    assert http_channel.deliver(uuid.UUID(job.args[0]), *job.args[1:]) == "sent"
    ((headers, body),) = Receiver.received
    expected = hmac.new(b"hook secret", body, hashlib.sha256).hexdigest()
    assert headers["X-Ferry-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["workflow"]["name"] == "Patient sync" and payload["state"] == "failed"
    assert (
        payload["run_id"] == str(run_id) and payload["error"] == "HTTPError: 401 for *** using ***"
    )
    assert payload["links"]["run"].endswith(f"/runs/{run_id}")
    assert SECRET.encode() not in body and PATIENT.encode() not in body
    assert "log_lines" not in payload


def test_http_channel_refuses_an_address_the_allowlist_does_not_open(
    db, client, user, alerting, receiver, mail_queue
):
    project, workflow = alerting
    project.alert_webhook_url = f"http://127.0.0.1:{receiver.server_address[1]}/x"
    db.session.commit()
    run_id = fail_run(client, workflow)
    failure_alerts.alert_for_run(run_id)
    entry = db.session.scalars(
        select(AlertLogEntry).where(AlertLogEntry.run_id == run_id, AlertLogEntry.channel == "http")
    ).one()
    with pytest.raises(http_channel.ChannelRefused, match="loopback"):
        http_channel.deliver(entry.id)
    db.session.refresh(entry)
    assert entry.status == "failed" and "loopback" in entry.detail
    assert Receiver.received == []


def test_a_failed_run_queues_one_alert_job_and_a_successful_one_none(
    db, client, alerting, mail_queue
):
    _, workflow = alerting
    ok = fail_run(client, workflow, state=RunState.SUCCESS)
    failed = fail_run(client, workflow, state=RunState.CRASHED)
    jobs = [j for j in mail_queue.jobs if j.func_name == alert_queue.ALERT_JOB]
    assert [j.args for j in jobs] == [(str(failed),)]
    assert jobs[0].id == alert_queue.job_id(failed) != alert_queue.job_id(ok)


def test_the_sweeper_queues_an_alert_whose_job_never_reached_redis(
    db, client, alerting, mail_queue
):
    _, workflow = alerting
    run_id = fail_run(client, workflow)
    redis_client().delete(Job.key_for(alert_queue.job_id(run_id)))
    mail_queue.empty()
    assert alert_queue.sweep() == 0  # too recent: the job may still be on its way
    from app.models import Run

    db.session.execute(
        update(Run).where(Run.id == run_id).values(finished_at=utcnow() - timedelta(seconds=30))
    )
    db.session.commit()
    assert alert_queue.sweep() == 1
    assert alert_queue.sweep() == 0  # queued now: not again
    assert [j.args for j in mail_queue.jobs] == [(str(run_id),)]


def test_test_alert_reaches_the_admin_and_is_logged(db, user, alerting):
    project, _ = alerting
    message_id = failure_alerts.send_test_alert(project, user)
    mail = db.session.get(MailMessage, message_id)
    assert mail.to_address == user.email
    assert mail.subject == "[Ferry] Test alert for Clinic intake"
    assert "/unsubscribe/" in mail.text
    assert "Test alert" in mail.html or "test alert" in mail.html
    entry = db.session.scalars(select(AlertLogEntry).where(AlertLogEntry.kind == "test")).one()
    assert (entry.recipient, entry.mail_message_id) == (user.email, message_id)


def test_test_alert_also_reaches_the_http_endpoint_signed(db, user, alerting, receiver, mail_queue):
    project, _ = alerting
    port = receiver.server_address[1]
    project.alert_webhook_url = f"http://127.0.0.1:{port}/hooks"
    project.alert_webhook_secret_encrypted = encrypt_text("hook secret")
    project.egress_allowlist = [f"127.0.0.1:{port}"]
    db.session.commit()
    failure_alerts.send_test_alert(project, user)
    job = next(j for j in mail_queue.jobs if j.func_name == failure_alerts.HTTP_JOB)
    assert http_channel.deliver(uuid.UUID(job.args[0])) == "sent"
    ((headers, body),) = Receiver.received
    assert headers["X-Ferry-Signature"] == http_channel.signature("hook secret", body)
    assert json.loads(body)["type"] == "test"
    logged = db.session.scalars(
        select(AlertLogEntry.channel).where(AlertLogEntry.kind == "test")
    ).all()
    assert sorted(logged) == ["email", "http"]


@pytest.mark.parametrize(
    ("url", "allowlist", "why"),
    [
        ("ftp://example.org/x", [], "must start with http"),
        ("http:///no-host", [], "must start with http"),
        ("http://example.org:99999/x", [], "not valid"),
        ("http://localhost:8080/x", [], "loopback"),
        ("http://[::1]:8080/x", ["127.0.0.1"], "loopback"),
        ("http://10.0.0.5/x", ["10.0.0.6"], "private"),
        ("http://169.254.169.254/latest", [], "link-local"),
        ("http://no-such-host.invalid/x", [], "Could not resolve"),
        ("http://exa\x00mple.org/x", [], "not valid"),
        ("http://example.org/a b", [], "not valid"),
    ],
)
def test_http_channel_refuses_bad_or_internal_endpoints(url, allowlist, why):
    with pytest.raises(http_channel.ChannelRefused, match=why):
        http_channel.post(url, b"{}", None, allowlist)


def test_http_channel_failure_is_logged_and_raised_for_a_retry(
    db, client, user, alerting, mail_queue
):
    project, workflow = alerting

    class Refuser(Receiver):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(500)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuser)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        project.alert_webhook_url = f"http://127.0.0.1:{port}/x"
        project.egress_allowlist = [f"127.0.0.1:{port}"]
        db.session.commit()
        run_id = fail_run(client, workflow)
        failure_alerts.alert_for_run(run_id)
        job = next(j for j in mail_queue.jobs if j.func_name == failure_alerts.HTTP_JOB)
        assert job.retries_left == 2
        with pytest.raises(http_channel.ChannelRefused, match="answered 500"):
            http_channel.deliver(uuid.UUID(job.args[0]))
    finally:
        server.shutdown()
        server.server_close()
    entry = db.session.get(AlertLogEntry, uuid.UUID(job.args[0]))
    db.session.refresh(entry)
    assert (entry.status, entry.detail) == ("failed", "127.0.0.1 answered 500.")


def test_a_run_marked_lost_queues_its_alert(db, client, alerting, mail_queue):
    _, workflow = alerting
    response = client.post(f"/i/{workflow.trigger_id}", json={"n": 1})
    run = claims.claim(uuid.UUID(response.get_json()["run_id"]), "worker:1")
    from app.models import Run

    db.session.execute(
        update(Run).where(Run.id == run.id).values(heartbeat_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()
    mail_queue.empty()
    assert lifecycle.mark_lost(timedelta(seconds=20)) == [run.id]
    assert [j.args for j in mail_queue.jobs] == [(str(run.id),)]


def test_an_unknown_time_zone_reads_as_utc(db, client, user, alerting):
    _, workflow = alerting
    user.time_zone = "Mars/Olympus_Mons"
    db.session.commit()
    failure_alerts.alert_for_run(fail_run(client, workflow, logs=False))
    (mail,) = mails(db, user.email)
    assert "(UTC)" in mail.text


def test_a_summary_is_not_sent_to_someone_who_turned_alerts_off_meanwhile(
    db, client, user, alerting
):
    project, workflow = alerting
    for _ in range(4):
        failure_alerts.alert_for_run(fail_run(client, workflow, logs=False))
    member_of(project, user).failure_alerts = False
    db.session.execute(update(AlertWindow).values(ends_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert failure_alerts.send_due_summaries() == 1  # claimed, but nobody to tell
    assert [m for m in mails(db, user.email) if "more run" in m.subject] == []


def test_redis_down_when_the_run_ends_loses_no_alert(app, db, client, alerting, mail_queue):
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from app.models import Run
    from tests.support import free_port

    _, workflow = alerting
    working = app.extensions["ferry_redis"]
    # No retries: redis-py would otherwise back off for seconds on every call.
    app.extensions["ferry_redis"] = Redis(
        port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    try:
        run_id = fail_run(client, workflow)  # ends without raising, its alert not queued
    finally:
        app.extensions["ferry_redis"] = working
    assert mail_queue.jobs == []
    db.session.execute(
        update(Run).where(Run.id == run_id).values(finished_at=utcnow() - timedelta(seconds=30))
    )
    db.session.commit()
    assert alert_queue.sweep() == 1
    assert [j.args for j in mail_queue.jobs] == [(str(run_id),)]


def test_the_alert_log_follows_the_mail_delivery(db, client, user, alerting):
    from app.services import mail

    _, workflow = alerting
    run_id = fail_run(client, workflow)
    failure_alerts.alert_for_run(run_id)
    entry = db.session.scalars(select(AlertLogEntry).where(AlertLogEntry.run_id == run_id)).one()
    assert entry.status == "queued"
    mail.deliver(entry.mail_message_id)  # no MAIL_URL: the development outbox
    db.session.refresh(entry)
    assert entry.status == "sent" and "outbox" in entry.detail
    # A delivery that ended before the entry named its message is read back at once.
    message_id = mail.send_mail(user.email, "Hello", "Text")
    mail.deliver(message_id)
    late = AlertLogEntry(
        project_id=entry.project_id,
        mail_message_id=message_id,
        channel="email",
        kind="test",
        recipient=user.email,
        status="queued",
    )
    failure_alerts.follow_mail(late)
    assert late.status == "sent"


def test_a_failed_delivery_shows_as_failed_in_the_alert_log(app, db, client, user, alerting):
    import dataclasses

    from app.services import mail
    from tests.support import free_port

    _, workflow = alerting
    run_id = fail_run(client, workflow)
    failure_alerts.alert_for_run(run_id)
    entry = db.session.scalars(select(AlertLogEntry).where(AlertLogEntry.run_id == run_id)).one()
    settings = app.config["FERRY_SETTINGS"]
    app.config["FERRY_SETTINGS"] = dataclasses.replace(
        settings, mail_url=f"smtp://127.0.0.1:{free_port()}"
    )
    try:
        with pytest.raises(OSError):
            mail.deliver(entry.mail_message_id)
    finally:
        app.config["FERRY_SETTINGS"] = settings
    db.session.refresh(entry)
    assert entry.status == "failed" and "attempt 1" in entry.detail
