"""Mail delivery through real SMTP servers on loopback (aiosmtpd): text + HTML from templates,
retries with growing pauses run by a real RQ worker, STARTTLS and implicit TLS with verified
certificates (a self-signed one trusted through MAIL_URL's ?cafile=), and one send per message
even when a retry and a second job meet."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import smtplib
import socket
import ssl
import threading
import uuid
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.scheduler import RQScheduler
from sqlalchemy import delete, select, text

from app.extensions import MAIL_QUEUE, redis_client
from app.models import MailMessage, MailStatus
from app.services import mail, undelivered_mail
from app.services.errors import Conflict, NotFound
from tests.support import free_port

SENDER = "ferry@example.org"


class Inbox:
    """An aiosmtpd handler keeping every message it receives (and the logins it accepted)."""

    def __init__(self) -> None:
        self.messages = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)


@pytest.fixture
def mail_queue(app, db):
    """The mail queue and its scheduled retries, emptied of jobs left by other tests."""
    with app.app_context():
        queue = Queue(MAIL_QUEUE, connection=redis_client())
        _empty(queue)
        yield queue
        _empty(queue)


def _empty(queue: Queue) -> None:
    queue.empty()
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id, delete_job=True)


@pytest.fixture
def mail_url(app):
    """Point MAIL_URL somewhere for one test: `mail_url(url)`."""
    settings = app.config["FERRY_SETTINGS"]

    def point(url: str) -> None:
        app.config["FERRY_SETTINGS"] = dataclasses.replace(settings, mail_url=url)

    yield point
    app.config["FERRY_SETTINGS"] = settings


@pytest.fixture
def servers():
    """Start aiosmtpd controllers (`servers.start(inbox, port, **options)`), stopped at the end."""

    class Servers(list):
        def start(self, inbox: Inbox, port: int, **options) -> Controller:
            controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
            controller.start()
            self.append(controller)
            return controller

    started = Servers()
    yield started
    for controller in started:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (server TLS context, path of the PEM to trust)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ferry test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, str(cert_path)


def run_mail_jobs(queue: Queue) -> None:
    """What a mail worker does: take the queued jobs and run them (retries get scheduled)."""
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def release_scheduled_retries(queue: Queue) -> list[str]:
    """Time travel for the scheduler: make every scheduled retry due, then let RQ's own
    scheduler move them onto the queue, as it does when their time comes."""
    registry = queue.scheduled_job_registry
    job_ids = registry.get_job_ids()
    for job_id in job_ids:
        queue.connection.zadd(registry.key, {job_id: 1})
    scheduler = RQScheduler([queue], connection=queue.connection)
    scheduler.acquire_locks()
    try:
        scheduler.enqueue_scheduled_jobs()
    finally:
        scheduler.release_locks()
    return job_ids


def test_html_mail_is_sent_as_text_and_html_alternatives(db, mail_queue, mail_url, servers):
    inbox, port = Inbox(), free_port()
    servers.start(inbox, port)
    mail_url(f"smtp://127.0.0.1:{port}?from={SENDER}")
    rendered = mail.render_mail("delivery_test", name="Ana <b>", sent_at="2026-05-01 09:00 UTC")
    message_id = mail.send_mail(
        "ana@example.org", rendered.subject, rendered.text, html=rendered.html
    )
    stored = db.session.get(MailMessage, message_id)
    assert stored.html == rendered.html and stored.text == rendered.text
    run_mail_jobs(mail_queue)
    [(recipients, message)] = inbox.messages
    assert recipients == ["ana@example.org"]
    assert message["Subject"] == "Ferry test email"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert "Hello Ana <b>," in plain.get_content()
    assert "Hello Ana &lt;b&gt;," in html.get_content()  # autoescaped in HTML only
    stored = db.session.get(MailMessage, message_id)
    assert stored.status is MailStatus.SENT and stored.text == "" and stored.html is None


def test_plain_mail_stays_a_single_text_part(db, mail_queue, mail_url, servers):
    inbox, port = Inbox(), free_port()
    servers.start(inbox, port)
    mail_url(f"smtp://127.0.0.1:{port}")
    mail.send_mail("ana@example.org", "Plain", "Just text.")
    run_mail_jobs(mail_queue)
    [(_, message)] = inbox.messages
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "Just text."


def test_a_mail_with_an_unsubscribe_link_carries_one_click_unsubscribe_headers(
    db, mail_queue, mail_url, servers
):
    inbox, port = Inbox(), free_port()
    servers.start(inbox, port)
    mail_url(f"smtp://127.0.0.1:{port}")
    link = "https://ferry.example.org/unsubscribe/tok"
    rendered = mail.render_mail("delivery_test", name="Ana", sent_at="09:00", unsubscribe_url=link)
    assert rendered.unsubscribe_url == link
    mail.send_mail("ana@example.org", "With link", rendered.text, unsubscribe_url=link)
    mail.send_mail("ana@example.org", "Without", "No link.")
    run_mail_jobs(mail_queue)
    sent = {message["Subject"]: message for _, message in inbox.messages}
    assert sent["With link"]["List-Unsubscribe"] == f"<{link}>"
    assert sent["With link"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent["Without"]["List-Unsubscribe"] is None


def test_templates_give_subject_text_and_html_with_the_layout_and_unsubscribe_link(app, db):
    rendered = mail.render_mail(
        "delivery_test",
        name="Ana",
        sent_at="09:00",
        unsubscribe_url="https://ferry.example.org/unsubscribe/tok",
    )
    base = app.config["FERRY_SETTINGS"].base_url.rstrip("/")
    assert rendered.subject == "Ferry test email"
    assert rendered.text.startswith("Hello Ana,\n\nthis is a test email")
    assert "\n\n\n" not in rendered.text and rendered.text.endswith("\n")
    assert f"Ferry · {base}" in rendered.text
    assert "Turn off these emails: https://ferry.example.org/unsubscribe/tok" in rendered.text
    assert "<title>Ferry test email</title>" in rendered.html
    assert 'href="https://ferry.example.org/unsubscribe/tok"' in rendered.html
    assert f'href="{base}/admin/mail"' in rendered.html
    assert "<style" not in rendered.html and "<script" not in rendered.html
    without = mail.render_mail("delivery_test", name="Ana", sent_at="09:00")
    assert "Turn off" not in without.text and "Turn off" not in without.html


def test_delivery_jobs_retry_with_growing_pauses_and_a_short_timeout(db, mail_queue):
    mail.send_mail("ana@example.org", "Retried", "Text.")
    [job] = mail_queue.jobs
    assert job.retries_left == 5
    assert job.retry_intervals == [10, 30, 90, 270, 810]
    assert job.timeout == mail.JOB_TIMEOUT <= 60
    assert mail.DELIVERY_TIMEOUT <= 10


def test_a_server_that_never_answers_fails_the_attempt_within_the_timeout(
    db, mail_url, monkeypatch
):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections, never says hello
    monkeypatch.setattr(mail, "DELIVERY_TIMEOUT", 0.3)
    mail_url(f"smtp://127.0.0.1:{silent.getsockname()[1]}")
    message = MailMessage(to_address="a@example.org", subject="s", text="t")
    db.session.add(message)
    db.session.commit()
    try:
        # smtplib reports the timeout while reading the greeting as a disconnection.
        with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
            mail.deliver(message.id)
    finally:
        silent.close()
    assert message.status is MailStatus.FAILED and "timed out" in message.error


def test_a_server_down_at_first_gets_the_message_once_it_is_up(db, mail_queue, mail_url, servers):
    port = free_port()
    mail_url(f"smtp://127.0.0.1:{port}?from={SENDER}")
    message_id = mail.send_mail("ana@example.org", "Down then up", "Patience.")
    [job_id] = [job.id for job in mail_queue.jobs]

    run_mail_jobs(mail_queue)  # nobody listens: refused, recorded, retry scheduled
    stored = db.session.get(MailMessage, message_id)
    assert stored.status is MailStatus.FAILED and stored.attempts == 1
    assert "ConnectionRefusedError" in stored.error
    registry = mail_queue.scheduled_job_registry
    assert registry.get_job_ids() == [job_id]
    pause = registry.get_scheduled_time(Job.fetch(job_id, mail_queue.connection))
    waited = pause - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=5) < waited <= dt.timedelta(seconds=10)
    assert [row.id for row in undelivered_mail.page().messages] == [message_id]

    inbox = Inbox()
    servers.start(inbox, port)
    assert release_scheduled_retries(mail_queue) == [job_id]
    run_mail_jobs(mail_queue)
    [(recipients, message)] = inbox.messages
    assert recipients == ["ana@example.org"] and message["Subject"] == "Down then up"
    stored = db.session.get(MailMessage, message_id)
    assert stored.status is MailStatus.SENT and stored.attempts == 2 and stored.error is None
    assert undelivered_mail.page().messages == []

    # The same job again (a duplicate delivery from the queue) and a manual retry send nothing.
    mail_queue.enqueue_job(Job.fetch(job_id, mail_queue.connection))
    run_mail_jobs(mail_queue)
    with pytest.raises(Conflict):
        undelivered_mail.retry_now(None, message_id)
    assert len(inbox.messages) == 1


def test_the_second_retry_waits_longer_than_the_first(db, mail_queue, mail_url):
    mail_url(f"smtp://127.0.0.1:{free_port()}")
    message_id = mail.send_mail("ana@example.org", "Still down", "Text.")
    run_mail_jobs(mail_queue)
    release_scheduled_retries(mail_queue)
    run_mail_jobs(mail_queue)
    stored = db.session.get(MailMessage, message_id)
    assert stored.attempts == 2 and stored.status is MailStatus.FAILED
    [job_id] = mail_queue.scheduled_job_registry.get_job_ids()
    job = Job.fetch(job_id, mail_queue.connection)
    waited = mail_queue.scheduled_job_registry.get_scheduled_time(job) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=25) < waited <= dt.timedelta(seconds=30)
    assert job.retries_left == 3


def test_starttls_with_login_to_a_server_with_a_certificate_trusted_by_cafile(
    db, mail_url, servers, certificate
):
    server_context, cafile = certificate
    inbox, port = Inbox(), free_port()
    servers.start(
        inbox,
        port,
        tls_context=server_context,
        require_starttls=True,
        authenticator=inbox.authenticate,
        auth_required=True,
    )
    mail_url(f"smtp+starttls://mailer:s3cret@127.0.0.1:{port}?from={SENDER}&cafile={cafile}")
    message_id = mail.send_mail("ana@example.org", "Over STARTTLS", "Encrypted.")
    assert mail.deliver(message_id) is MailStatus.SENT
    assert inbox.logins == ["mailer"]
    [(_, message)] = inbox.messages
    assert message["Subject"] == "Over STARTTLS"


def test_an_untrusted_certificate_is_refused_and_recorded(db, mail_url, servers, certificate):
    server_context, _ = certificate
    inbox, port = Inbox(), free_port()
    servers.start(inbox, port, tls_context=server_context, require_starttls=True)
    mail_url(f"smtp+starttls://127.0.0.1:{port}?from={SENDER}")
    message_id = mail.send_mail("ana@example.org", "Not trusted", "Text.")
    with pytest.raises(ssl.SSLCertVerificationError):
        mail.deliver(message_id)
    stored = db.session.get(MailMessage, message_id)
    assert stored.status is MailStatus.FAILED and "certificate verify failed" in stored.error
    assert inbox.messages == []


def test_implicit_tls_smtps(db, mail_url, servers, certificate):
    server_context, cafile = certificate
    inbox, port = Inbox(), free_port()
    servers.start(inbox, port, ssl_context=server_context)
    mail_url(f"smtps://127.0.0.1:{port}?from={SENDER}&cafile={cafile}")
    message_id = mail.send_mail("ana@example.org", "Over TLS", "Encrypted from the start.")
    assert mail.deliver(message_id) is MailStatus.SENT
    [(_, message)] = inbox.messages
    assert message["Subject"] == "Over TLS"


@pytest.fixture
def committed_message(app):
    """A message committed for real (other connections see it), removed afterwards."""
    with app.app_context():
        from app.extensions import db as real_db

        message = MailMessage(to_address="ana@example.org", subject="Locked", text="Text.")
        real_db.session.add(message)
        real_db.session.commit()
        message_id = message.id
        yield message_id
        real_db.session.rollback()
        real_db.session.execute(delete(MailMessage).where(MailMessage.id == message_id))
        real_db.session.commit()
        real_db.session.remove()


def test_a_message_another_job_is_sending_is_left_to_that_job(
    app, committed_message, mail_url, servers
):
    from app.extensions import db as real_db

    inbox, port = Inbox(), free_port()
    servers.start(inbox, port)
    mail_url(f"smtp://127.0.0.1:{port}")
    locked = threading.Event()
    release = threading.Event()
    engine = real_db.engine

    def other_job():
        # Stands for a worker in the middle of its SMTP conversation: it holds the row lock.
        with engine.connect() as connection, connection.begin():
            connection.execute(
                text("SELECT id FROM mail_messages WHERE id = :id FOR UPDATE"),
                {"id": committed_message},
            )
            locked.set()
            release.wait(5)

    holder = threading.Thread(target=other_job)
    holder.start()
    try:
        assert locked.wait(5)
        assert mail.deliver(committed_message) is MailStatus.QUEUED
        with pytest.raises(Conflict, match="being delivered right now"):
            undelivered_mail.retry_now(None, committed_message)
    finally:
        release.set()
        holder.join()
    assert inbox.messages == []
    real_db.session.rollback()
    assert mail.deliver(committed_message) is MailStatus.SENT
    assert len(inbox.messages) == 1
    status = real_db.session.scalar(
        select(MailMessage.status).where(MailMessage.id == committed_message)
    )
    assert status is MailStatus.SENT


def test_retry_now_requeues_a_failed_message_and_an_unknown_id_is_not_found(db, mail_queue):
    message = MailMessage(
        to_address="a@example.org", subject="s", text="t", status=MailStatus.FAILED, attempts=6
    )
    db.session.add(message)
    db.session.commit()
    shown = undelivered_mail.retry_now(None, message.id)
    assert shown.status is MailStatus.FAILED  # until the job has delivered it
    assert [job.args for job in mail_queue.jobs] == [(str(message.id),)]
    with pytest.raises(NotFound):
        undelivered_mail.retry_now(None, uuid.uuid4())
