"""Outgoing mail for every feature: one call, `send_mail(to, subject, text)`.

The message is stored first and committed, then a job on the mail queue delivers it over
SMTP (MAIL_URL). Without MAIL_URL the job files it in the development outbox, a page only
superusers see, so nothing sent in development is lost or leaves the machine.
"""

from __future__ import annotations

import smtplib
import socket
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from rq import Retry
from sqlalchemy import select

from app.extensions import MAIL_QUEUE, db, queue
from app.models import MailMessage, MailStatus
from app.models.base import utcnow
from app.services.errors import NotFound

DELIVER_JOB = "workers.mail_jobs.deliver"
OUTBOX_LIMIT = 200


def send_mail(to: str, subject: str, text: str) -> uuid.UUID:
    """Store a plain-text message and queue its delivery; returns the message id.

    Commits (the message must exist before its job), so call it after your own commit.
    """
    message = MailMessage(to_address=to.strip(), subject=subject.strip()[:300], text=text)
    db.session.add(message)
    db.session.commit()
    queue(MAIL_QUEUE).enqueue(
        DELIVER_JOB, str(message.id), retry=Retry(max=3, interval=[10, 60, 300])
    )
    return message.id


def deliver(message_id: uuid.UUID) -> MailStatus:
    """Send one stored message by SMTP, or file it in the outbox when MAIL_URL is unset.

    Raises on an SMTP failure after recording it, so the queue retries the job.
    """
    message = db.session.get(MailMessage, message_id)
    if message is None:
        raise NotFound(f"Mail message {message_id} does not exist.")
    if message.status in {MailStatus.SENT, MailStatus.OUTBOX}:
        return message.status  # a retried job must not send twice
    mail_url = current_app.config["FERRY_SETTINGS"].mail_url
    message.attempts += 1
    if not mail_url:
        message.status = MailStatus.OUTBOX
        db.session.commit()
        return message.status
    server = SmtpServer.from_url(mail_url, current_app.config["FERRY_SETTINGS"].base_url)
    try:
        server.send(_email(message, server.sender))
    except (OSError, smtplib.SMTPException) as error:
        message.status = MailStatus.FAILED
        message.error = f"{type(error).__name__}: {error}"[:2000]
        db.session.commit()
        raise
    message.status, message.error, message.sent_at = MailStatus.SENT, None, utcnow()
    # Once delivered the text is not kept: mails carry one-time links.
    message.text = ""
    db.session.commit()
    return message.status


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
    smtp+starttls://… or port 587 (STARTTLS); `?from=` sets the sender."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    starttls: bool
    sender: str

    @classmethod
    def from_url(cls, url: str, base_url: str) -> SmtpServer:
        """Parse MAIL_URL."""
        parts = urlsplit(url)
        tls = parts.scheme == "smtps"
        port = parts.port or (465 if tls else 25)
        sender = parse_qs(parts.query).get("from", [""])[0] or _default_sender(base_url)
        return cls(
            host=parts.hostname or "localhost",
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            starttls=parts.scheme == "smtp+starttls" or (port == 587 and not tls),
            sender=sender,
        )

    def send(self, email: EmailMessage) -> None:
        """Deliver one message."""
        smtp_class = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(email)


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
    email.set_content(message.text)
    return email
