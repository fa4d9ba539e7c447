"""Outgoing mail for every feature: one call, `send_mail(to, subject, text, html=None)`.

The message is stored first and committed, then a job on the mail queue delivers it over
SMTP (MAIL_URL). Without MAIL_URL the job files it in the development outbox, a page only
superusers see, so nothing sent in development is lost or leaves the machine.

Mail from templates: write app/templates/mail/<name>.txt and <name>.html, extending
"mail/_layout.txt" and "mail/_layout.html" (block `body`), and set the subject in the .txt
one with a top-level `{% set subject = ... %}`; then

    rendered = mail.render_mail("alerts/failure", run=run, unsubscribe_url=url)
    mail.send_mail(member.email, rendered.subject, rendered.text, html=rendered.html)

Both layouts add a footer, with a "turn these emails off" link when `unsubscribe_url` is given.
`base_url` is in every template's context. Links in mail must be absolute (BASE_URL): mail is
rendered in workers, outside any request. The HTML is plain with inline styles only (mail
clients drop style sheets); autoescaping is on for .html and off for .txt, as on the site.

Delivery: the job has DELIVERY_TIMEOUT seconds per SMTP conversation and is retried with
growing intervals (RETRY_INTERVALS) when the server is down or refuses; failures are recorded
on the message (error, attempts) for the superusers' Mail page. A message is delivered at most
once: a job takes the row lock before sending and does nothing if the message was sent.

MAIL_URL forms: smtp://user:pass@host:587 (STARTTLS on port 587 or with smtp+starttls://),
smtps://host (TLS from the start, port 465); `?from=` sets the sender; `?cafile=/path.pem`
trusts the certificates of that file (a relay with a private or self-signed certificate)
instead of the system's authorities. Certificates are always verified.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from rq import Retry
from sqlalchemy import select, update

from app.extensions import MAIL_QUEUE, db, queue
from app.models import MailMessage, MailStatus
from app.models.base import utcnow
from app.services.errors import NotFound

DELIVER_JOB = "workers.mail_jobs.deliver"
OUTBOX_LIMIT = 200
# Seconds between a failed attempt and the next: about 20 minutes of trying in all.
RETRY_INTERVALS = (10, 30, 90, 270, 810)
MAX_ATTEMPTS = 1 + len(RETRY_INTERVALS)
# One SMTP conversation may not hold a mail worker longer than this.
DELIVERY_TIMEOUT = 10
JOB_TIMEOUT = 60


@dataclass(frozen=True)
class RenderedMail:
    """A message made from templates: the subject (None when the template sets none), the
    plain text, the HTML alternative, and the unsubscribe link the context carried."""

    subject: str | None
    text: str
    html: str
    unsubscribe_url: str | None = None


def send_mail(
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    unsubscribe_url: str | None = None,
) -> uuid.UUID:
    """Store a message (plain text, and optionally the same as HTML) and queue its delivery;
    returns the message id. `unsubscribe_url` (a signed link that turns these mails off)
    goes out as the List-Unsubscribe header with one-click unsubscribe.

    Commits (the message must exist before its job), so call it after your own commit.
    """
    message = MailMessage(
        to_address=to.strip(),
        subject=subject.strip()[:300],
        text=text,
        html=html or None,
        unsubscribe_url=unsubscribe_url or None,
    )
    db.session.add(message)
    db.session.commit()
    enqueue_delivery(message.id)
    return message.id


def enqueue_delivery(message_id: uuid.UUID) -> None:
    """Queue the job delivering a stored message, with its retries."""
    queue(MAIL_QUEUE).enqueue(
        DELIVER_JOB,
        str(message_id),
        retry=Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS)),
        job_timeout=JOB_TIMEOUT,
    )


def render_mail(template: str, /, **context) -> RenderedMail:
    """Render mail/<template>.txt and mail/<template>.html with `context` (see the module
    docstring); `template` is positional only, so `name=` may be part of the context."""
    context.setdefault("base_url", current_app.config["FERRY_SETTINGS"].base_url.rstrip("/"))
    environment = current_app.jinja_env
    text_module = environment.get_template(f"mail/{template}.txt").make_module(context)
    subject = getattr(text_module, "subject", None)
    subject = " ".join(str(subject).split()) if subject is not None else None
    # The HTML layout titles the page with the subject the text template set.
    html = environment.get_template(f"mail/{template}.html").render({"subject": subject, **context})
    return RenderedMail(
        subject=subject,
        text=_tidy_text(str(text_module)),
        html=html.strip() + "\n",
        unsubscribe_url=context.get("unsubscribe_url"),
    )


def _tidy_text(text: str) -> str:
    """Template tags leave blank lines and trailing spaces: at most one empty line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def deliver(message_id: uuid.UUID) -> MailStatus:
    """Send one stored message by SMTP, or file it in the outbox when MAIL_URL is unset.

    Raises on an SMTP failure after recording it, so the queue retries the job.
    """
    # The row lock makes delivery exactly-once among concurrent jobs (a retry and a "Retry
    # now" of the same message): the one that holds it sends, the others find it taken.
    # NO KEY UPDATE (key_share): a row that merely references the message (the alert log's
    # entry being written) takes a key-share lock, which must not make a job skip it.
    message = db.session.execute(
        select(MailMessage)
        .where(MailMessage.id == message_id)
        .with_for_update(skip_locked=True, key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if message is None:
        existing = db.session.get(MailMessage, message_id)
        if existing is None:
            raise NotFound(f"Mail message {message_id} does not exist.")
        return existing.status  # another job is delivering it right now
    if message.status in {MailStatus.SENT, MailStatus.OUTBOX}:
        db.session.commit()  # ends the transaction holding the lock
        return message.status  # a retried job must not send twice
    mail_url = current_app.config["FERRY_SETTINGS"].mail_url
    message.attempts += 1
    if not mail_url:
        message.status = MailStatus.OUTBOX
        _alert_log_follows(message)
        db.session.commit()
        return message.status
    server = SmtpServer.from_url(mail_url, current_app.config["FERRY_SETTINGS"].base_url)
    try:
        server.send(_email(message, server.sender))
    except (OSError, smtplib.SMTPException) as error:
        message.status = MailStatus.FAILED
        message.error = f"{type(error).__name__}: {error}"[:2000]
        _alert_log_follows(message)
        db.session.commit()
        raise
    message.status, message.error, message.sent_at = MailStatus.SENT, None, utcnow()
    _alert_log_follows(message)
    # Once delivered the bodies are not kept: mails carry one-time links.
    message.text, message.html = "", None
    db.session.commit()
    return message.status


def _alert_log_follows(message: MailMessage) -> None:
    """The alert log entries of this message take its outcome (in the caller's commit), so
    admins read there what was sent and what failed. See also
    `notifications.failure_alerts.follow_mail`, which covers an entry named after delivery."""
    from app.models.notifications import AlertLogEntry

    status, detail = alert_log_status(message)
    db.session.execute(
        update(AlertLogEntry)
        .where(AlertLogEntry.mail_message_id == message.id)
        .values(status=status, detail=detail)
    )


def alert_log_status(message: MailMessage) -> tuple[str, str]:
    """The alert log's status and detail for a message's delivery outcome."""
    if message.status is MailStatus.SENT:
        return "sent", ""
    if message.status is MailStatus.OUTBOX:
        return "sent", "Kept in the development outbox: MAIL_URL is not set."
    if message.status is MailStatus.FAILED:
        return "failed", f"Not delivered yet (attempt {message.attempts}): {message.error}"[:1000]
    return "queued", ""


def outbox() -> list[MailMessage]:
    """The most recent messages, newest first (for the development outbox page)."""
    return list(
        db.session.scalars(
            select(MailMessage).order_by(MailMessage.inserted_at.desc()).limit(OUTBOX_LIMIT)
        )
    )


def outbox_enabled() -> bool:
    """True when mail is not sent out (no MAIL_URL), so the outbox page is where it goes."""
    return not current_app.config["FERRY_SETTINGS"].mail_url


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send: smtp://user:pass@host:587, smtps://… (TLS from the start),
    smtp+starttls://… or port 587 (STARTTLS); `?from=` sets the sender, `?cafile=` the
    certificates to trust instead of the system's."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    starttls: bool
    sender: str
    cafile: str | None = None

    @classmethod
    def from_url(cls, url: str, base_url: str) -> SmtpServer:
        """Parse MAIL_URL."""
        parts = urlsplit(url)
        tls = parts.scheme == "smtps"
        port = parts.port or (465 if tls else 25)
        query = parse_qs(parts.query)
        sender = query.get("from", [""])[0] or _default_sender(base_url)
        return cls(
            host=parts.hostname or "localhost",
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            starttls=parts.scheme == "smtp+starttls" or (port == 587 and not tls),
            sender=sender,
            cafile=query.get("cafile", [""])[0] or None,
        )

    def send(self, email: EmailMessage) -> None:
        """Deliver one message (certificates verified: smtplib's own default does not)."""
        if self.tls:
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=DELIVERY_TIMEOUT, context=self.tls_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=DELIVERY_TIMEOUT)
        with smtp:
            if self.starttls:
                smtp.starttls(context=self.tls_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(email)

    def tls_context(self) -> ssl.SSLContext:
        """A verifying context: the system's authorities, or only those of `cafile`."""
        return ssl.create_default_context(cafile=self.cafile)


def _default_sender(base_url: str) -> str:
    host = urlsplit(base_url).hostname or "localhost"
    # An address at a bare IP is refused by many servers.
    if not any(ch.isalpha() for ch in host):
        host = socket.getfqdn() if "." in socket.getfqdn() else "localhost"
    return f"Ferry <noreply@{host}>"


def _email(message: MailMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=str(message.id)[:8])
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.text)
    if message.html:
        # multipart/alternative: clients show the HTML, or the text when they cannot.
        email.add_alternative(message.html, subtype="html")
    return email
