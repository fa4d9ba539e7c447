"""RQ job: deliver one stored mail message (queued by `app.services.mail.send_mail`)."""

from __future__ import annotations

import uuid

from app.extensions import db


def deliver(message_id: str) -> str:
    """Send the message by SMTP, or file it in the development outbox."""
    from app.services import mail

    try:
        return mail.deliver(uuid.UUID(message_id)).value
    finally:
        db.session.remove()
