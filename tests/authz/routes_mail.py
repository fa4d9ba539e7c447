"""Matrix entries for the superusers' Mail page: undelivered mail, "Retry now" and the test
email. The message a retry case points at is a failed row made inside the case's savepoint."""

from __future__ import annotations

from app.extensions import db
from app.models import MailMessage, MailStatus
from tests.authz.rules import Rule


def _failed_message(world) -> MailMessage:
    message = MailMessage(
        to_address="matrix@example.org",
        subject="Matrix",
        text="",
        status=MailStatus.FAILED,
        attempts=1,
        error="ConnectionRefusedError: [Errno 111] Connection refused",
    )
    db.session.add(message)
    db.session.flush()
    return message


PARAMS = {"message_id": lambda world: _failed_message(world).id}

ROUTES = {
    "admin.mail_page": Rule("superuser"),
    "admin.retry_mail": Rule("superuser", note="queues the delivery again, back to the page"),
    "admin.send_test_mail": Rule("superuser", note="a test email to oneself"),
}
