"""The mail service: stored first, delivered by a queued job over real SMTP (aiosmtpd on
loopback), or kept in the development outbox when MAIL_URL is unset."""

from __future__ import annotations

import dataclasses
import uuid
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from rq import Queue, SimpleWorker

from app.extensions import MAIL_QUEUE, redis_client
from app.models import MailMessage, MailStatus
from app.services import mail
from tests.support import free_port


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"


@pytest.fixture
def mail_queue(app, db):
    """The mail queue, emptied of jobs left by other tests."""
    with app.app_context():
        queue = Queue(MAIL_QUEUE, connection=redis_client())
        queue.empty()
        yield queue
        queue.empty()


@pytest.fixture
def smtp_inbox(app):
    """A real SMTP server on loopback, with MAIL_URL pointing at it for this test."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings = app.config["FERRY_SETTINGS"]
    app.config["FERRY_SETTINGS"] = dataclasses.replace(
        settings, mail_url=f"smtp://127.0.0.1:{port}?from=ferry@example.org"
    )
    try:
        yield inbox
    finally:
        app.config["FERRY_SETTINGS"] = settings
        controller.stop()


def run_mail_jobs(queue: Queue) -> None:
    """What a worker does: take the mail jobs and run them, in this process."""
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def deliver_queued(queue: Queue) -> None:
    """Deliver the queued messages through the service the job calls, keeping the test's
    session open (the job itself ends by closing its session, as a worker must)."""
    for job in queue.jobs:
        assert job.func_name == mail.DELIVER_JOB
        mail.deliver(uuid.UUID(job.args[0]))
        job.delete()


def test_mail_is_delivered_over_smtp_by_the_queued_job(db, mail_queue, smtp_inbox):
    message_id = mail.send_mail("someone@example.org", "Hello", "First line.\nSecond line.\n")
    assert [job.args for job in mail_queue.jobs] == [(str(message_id),)]
    assert mail_queue.jobs[0].func_name == "workers.mail_jobs.deliver"
    assert db.session.get(MailMessage, message_id).status is MailStatus.QUEUED
    run_mail_jobs(mail_queue)
    [(recipients, message)] = smtp_inbox.messages
    assert recipients == ["someone@example.org"]
    assert message["Subject"] == "Hello"
    assert message["From"] == "ferry@example.org"
    assert message.get_content().splitlines() == ["First line.", "Second line."]
    stored = db.session.get(MailMessage, message_id)
    assert stored.status is MailStatus.SENT and stored.sent_at is not None
    assert stored.text == ""  # delivered mail is not kept: it may carry one-time links


def test_a_retried_job_does_not_send_twice(db, mail_queue, smtp_inbox):
    message_id = mail.send_mail("someone@example.org", "Once", "Only once.")
    mail.deliver(message_id)
    mail.deliver(message_id)
    assert len(smtp_inbox.messages) == 1


def test_a_refused_connection_is_recorded_and_raised_for_a_retry(app, db):
    settings = app.config["FERRY_SETTINGS"]
    app.config["FERRY_SETTINGS"] = dataclasses.replace(
        settings, mail_url=f"smtp://127.0.0.1:{free_port()}"
    )
    try:
        message = MailMessage(to_address="a@example.org", subject="s", text="t")
        db.session.add(message)
        db.session.commit()
        with pytest.raises(OSError):
            mail.deliver(message.id)
    finally:
        app.config["FERRY_SETTINGS"] = settings
    assert message.status is MailStatus.FAILED and message.attempts == 1
    assert "ConnectionRefusedError" in message.error


def test_without_mail_url_messages_stay_in_the_outbox(db, mail_queue):
    message_id = mail.send_mail("someone@example.org", "Kept", "Read me on the outbox page.")
    run_mail_jobs(mail_queue)
    stored = db.session.get(MailMessage, message_id)
    assert stored.status is MailStatus.OUTBOX
    assert stored.text == "Read me on the outbox page."
    assert mail.outbox()[0].id == message_id


def test_mail_url_forms():
    plain = mail.SmtpServer.from_url("smtp://mailer:p%40ss@mail.example.org", "https://f.org")
    assert (plain.host, plain.port, plain.username, plain.password) == (
        "mail.example.org",
        25,
        "mailer",
        "p@ss",
    )
    assert not plain.starttls and not plain.tls
    assert plain.sender == "Ferry <noreply@f.org>"
    assert mail.SmtpServer.from_url("smtp://m.example.org:587", "https://f.org").starttls
    assert mail.SmtpServer.from_url("smtp+starttls://m.example.org:2525", "https://f.org").starttls
    secure = mail.SmtpServer.from_url("smtps://m.example.org", "https://f.org")
    assert secure.tls and secure.port == 465
