"""The superusers' Mail page (app/web/admin/mail_views.py): undelivered mail with the reason,
keyset pages, "Retry now", a test email to oneself; 404 for everybody else."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select

from app.extensions import MAIL_QUEUE, redis_client
from app.models import AuditEvent, MailMessage, MailStatus
from app.models.base import utcnow
from tests.support import csrf_token_from

PAGE = "/admin/mail"


@pytest.fixture
def mail_queue(app, db):
    queue = Queue(MAIL_QUEUE, connection=redis_client())
    queue.empty()
    yield queue
    queue.empty()


def message(db, minutes_ago: int = 1, **fields) -> MailMessage:
    row = MailMessage(
        to_address=fields.pop("to_address", "ana@example.org"),
        subject=fields.pop("subject", "Reset your Ferry password"),
        text=fields.pop("text", "Secret link: https://ferry.example.org/reset/one-time-token"),
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    row.inserted_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return row


def post(client, url: str, data: dict | None = None):
    token = csrf_token_from(client.get(PAGE).get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token})


def test_others_get_404_and_anonymous_people_are_sent_to_sign_in(app, db, signed_in):
    failed = message(db, status=MailStatus.FAILED)
    assert signed_in.get(PAGE).status_code == 404
    assert signed_in.post(f"{PAGE}/{failed.id}/retry").status_code in (400, 404)
    assert signed_in.post(f"{PAGE}/test").status_code in (400, 404)
    response = app.test_client().get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_lists_failed_and_stale_queued_mail_with_the_reason_and_no_body(db, admin_client):
    message(
        db,
        to_address="failed@example.org",
        status=MailStatus.FAILED,
        attempts=6,
        error="SMTPRecipientsRefused: mailbox <unavailable>",
    )
    message(db, to_address="stale@example.org", minutes_ago=30)
    message(db, to_address="fresh@example.org", minutes_ago=1)
    message(db, to_address="sent@example.org", status=MailStatus.SENT, text="")
    message(db, to_address="retrying@example.org", status=MailStatus.FAILED, attempts=2)
    html = admin_client.get(PAGE).get_data(as_text=True)
    assert "failed@example.org" in html and "stale@example.org" in html
    assert "retrying@example.org" in html and "Failed, retrying" in html
    assert "fresh@example.org" not in html and "sent@example.org" not in html
    assert "SMTPRecipientsRefused: mailbox &lt;unavailable&gt;" in html
    assert "Waiting for a worker" in html
    assert "one-time-token" not in html  # bodies may carry one-time links
    assert html.count("Retry now") == 3


def test_the_user_menu_links_superusers_to_the_mail_page(db, admin_client, signed_in):
    assert f'href="{PAGE}"' in admin_client.get("/").get_data(as_text=True)
    assert f'href="{PAGE}"' not in signed_in.get("/").get_data(as_text=True)


def test_an_empty_list_says_all_mail_was_delivered(db, admin_client):
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    assert "All mail was delivered" in response.get_data(as_text=True)


def test_pages_follow_the_cursor_newest_first(db, admin_client):
    for minutes, address in ((10, "third@example.org"), (8, "second@example.org")):
        message(db, minutes_ago=minutes, to_address=address, status=MailStatus.FAILED)
    message(db, minutes_ago=6, to_address="first@example.org", status=MailStatus.FAILED)
    seen = []
    url = f"{PAGE}?limit=1"
    for _ in range(3):
        html = admin_client.get(url).get_data(as_text=True)
        seen += [a for a in ("first", "second", "third") if f"{a}@example.org" in html]
        if 'rel="next"' not in html:
            break
        url = PAGE + html.split(f'rel="next" href="{PAGE}', 1)[1].split('"', 1)[0]
        url = url.replace("&amp;", "&")
    assert seen == ["first", "second", "third"]
    assert 'rel="next"' not in html


@pytest.mark.parametrize(
    "query",
    ["cursor=nonsense", "cursor=%00", "cursor=" + "A" * 300, "limit=abc", "limit=0", "limit=%00"],
    ids=["garbage", "nul", "too-long", "limit-word", "limit-zero", "limit-nul"],
)
def test_a_broken_page_link_answers_400_with_what_to_do(db, admin_client, query):
    response = admin_client.get(f"{PAGE}?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    # NUL characters are refused at the door for every page (app/web/errors.py).
    expected = ("not valid", "whole number", "at least 1", "NUL")
    assert any(words in html for words in expected)


def test_retry_now_queues_the_delivery_again_and_is_audited(db, admin_client, mail_queue, root):
    failed = message(db, status=MailStatus.FAILED, attempts=6, error="ConnectionRefusedError")
    response = post(admin_client, f"{PAGE}/{failed.id}/retry")
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE)
    assert [job.args for job in mail_queue.jobs] == [(str(failed.id),)]
    assert mail_queue.jobs[0].retries_left == 5
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.item_id == failed.id))
    assert entry.event == "mail_retried" and entry.actor_id == root.id
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Delivery to ana@example.org queued again." in page


def test_retry_of_delivered_unknown_or_malformed_ids(db, admin_client, mail_queue):
    sent = message(db, status=MailStatus.SENT, text="")
    response = post(admin_client, f"{PAGE}/{sent.id}/retry")
    assert response.status_code == 302
    assert "nothing to retry" in admin_client.get(PAGE).get_data(as_text=True)
    assert post(admin_client, f"{PAGE}/{uuid.uuid4()}/retry").status_code == 404
    assert post(admin_client, f"{PAGE}/not-a-uuid/retry").status_code == 404
    assert post(admin_client, f"{PAGE}/%00/retry").status_code == 400  # NUL: refused at the door
    assert admin_client.get(f"{PAGE}/{sent.id}/retry").status_code == 405
    assert mail_queue.jobs == []


def test_retry_without_the_csrf_token_is_refused(db, admin_client, mail_queue):
    failed = message(db, status=MailStatus.FAILED)
    assert admin_client.post(f"{PAGE}/{failed.id}/retry").status_code == 400
    assert mail_queue.jobs == []


def test_a_test_email_goes_to_the_superuser_as_text_and_html(db, admin_client, mail_queue, root):
    response = post(admin_client, f"{PAGE}/test")
    assert response.status_code == 302
    sent = db.session.scalar(select(MailMessage).where(MailMessage.to_address == root.email))
    assert sent.subject == "Ferry test email"
    assert "mail delivery works" in sent.text and "mail delivery works" in sent.html
    assert [job.args for job in mail_queue.jobs] == [(str(sent.id),)]
    assert "Test email to root@example.org queued" in admin_client.get(PAGE).get_data(as_text=True)
