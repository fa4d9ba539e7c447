"""Journey: a superuser finds mail that could not be delivered on the Mail page, retries it
(the live server's mail worker delivers it to a real SMTP server), and sends a test email to
themselves, which arrives as text and HTML."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import MailMessage, MailStatus
from app.models.base import utcnow
from tests.browser.conftest import Inbox, screenshot
from tests.browser.studio_helpers import DEMO_EMAIL, sign_in, with_live_data

STUCK = "stuck.recipient@mail-journey.example.org"


def _failed_message() -> None:
    message = MailMessage(
        to_address=STUCK,
        subject="You were invited to Demo project",
        text="Accept: https://ferry.example.org/invitations/one-time",
        status=MailStatus.FAILED,
        attempts=6,
        error="ConnectionRefusedError: [Errno 111] Connection refused",
    )
    db.session.add(message)
    db.session.flush()
    message.inserted_at = utcnow() - timedelta(minutes=25)


def test_superuser_retries_undelivered_mail_and_sends_a_test_email(
    page: Page, live_server: str, smtp_inbox: Inbox
):
    with_live_data(_failed_message)
    sign_in(page)
    page.get_by_role("button", name=re.compile("Demo admin|Your account")).click()
    page.get_by_role("link", name="Mail", exact=True).click()
    expect(page.get_by_role("heading", name="Mail")).to_be_visible()
    row = page.locator("tr", has_text=STUCK)
    expect(row).to_contain_text("ConnectionRefusedError")
    expect(row).to_contain_text("Failed")
    expect(page.get_by_text("one-time")).to_have_count(0)
    screenshot(page, "mail-1-undelivered")

    row.get_by_role("button", name="Retry now").click()
    expect(page.get_by_text(f"Delivery to {STUCK} queued again.")).to_be_visible()
    delivered = smtp_inbox.wait_for(STUCK, subject="You were invited to Demo project")
    assert delivered["Subject"] == "You were invited to Demo project"
    page.reload()
    expect(page.locator("tr", has_text=STUCK)).to_have_count(0)
    screenshot(page, "mail-2-retried")

    page.get_by_role("button", name="Send a test email to me").click()
    expect(page.get_by_text(f"Test email to {DEMO_EMAIL} queued")).to_be_visible()
    test_mail = smtp_inbox.wait_for(DEMO_EMAIL, subject="Ferry test email")
    assert test_mail["Subject"] == "Ferry test email"
    assert test_mail.get_content_type() == "multipart/alternative"
    html = test_mail.get_body(preferencelist=("html",)).get_content()
    assert f'href="{live_server}/admin/mail"' in html
    # Look at the HTML mail as a mail client would show it.
    page.set_content(html)
    expect(page.get_by_text("If you read this, mail delivery works.")).to_be_visible()
    screenshot(page, "mail-3-test-email-html")
