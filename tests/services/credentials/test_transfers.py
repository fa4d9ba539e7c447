"""Transferring a credential: refused unless the recipient is in every shared project;
confirmed through the emailed one-time link; both people told; audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.models import CredentialTransfer, Role
from app.models.base import utcnow
from app.services import audit
from app.services.credentials import sharing
from app.services.credentials import transfers as credential_transfers
from app.services.errors import Forbidden, Invalid, NotFound
from tests import factories
from tests.services.credentials.test_store import SECRET, make_credential
from tests.services.test_mail import deliver_queued, mail_queue, smtp_inbox  # noqa: F401

LINK = re.compile(r"https?://\S+/credentials/transfers/(\S+)")


@pytest.fixture
def shared(db, user):
    """A credential shared into two projects of its owner."""
    one, two = factories.project(user, "Malaria"), factories.project(user, "Nutrition")
    credential = make_credential(user, "DHIS2 production")
    for project in (one, two):
        sharing.share(user, credential.id, project.id)
    return credential, one, two


def test_refused_with_the_projects_the_recipient_is_missing_from(db, user, shared):
    credential, one, _ = shared
    recipient = factories.user()
    factories.member(one, recipient, Role.EDITOR)
    with pytest.raises(Invalid) as caught:
        credential_transfers.request_transfer(user, credential.id, recipient.email)
    assert caught.value.field == "email"
    assert "Missing: Nutrition." in caught.value.message
    assert "Malaria" not in caught.value.message.split("Missing:")[1]


def test_refused_for_unknown_people_oneself_and_non_owners(db, user, shared):
    credential = shared[0]
    with pytest.raises(Invalid, match="No active Ferry user"):
        credential_transfers.request_transfer(user, credential.id, "nobody@example.org")
    with pytest.raises(Invalid, match="already own"):
        credential_transfers.request_transfer(user, credential.id, user.email)
    with pytest.raises(Forbidden):
        credential_transfers.request_transfer(factories.user(), credential.id, user.email)


def test_happy_path_through_the_emailed_link(db, user, shared, mail_queue, smtp_inbox):  # noqa: F811
    credential, one, two = shared
    recipient = factories.user()
    for project in (one, two):
        factories.member(project, recipient, Role.VIEWER)
    credential_transfers.request_transfer(user, credential.id, recipient.email)
    deliver_queued(mail_queue)
    [(to, request_mail)] = smtp_inbox.messages
    assert to == [recipient.email]
    token = LINK.search(request_mail.get_content()).group(1)
    assert credential.user_id == user.id  # nothing changes before the recipient confirms

    with pytest.raises(NotFound):
        credential_transfers.accept_transfer(factories.user(), token)  # someone else's link
    credential_transfers.accept_transfer(recipient, token)
    assert credential.user_id == recipient.id
    with pytest.raises(NotFound):
        credential_transfers.accept_transfer(recipient, token)  # one time only

    deliver_queued(mail_queue)
    told = {tuple(to): message["Subject"] for to, message in smtp_inbox.messages[1:]}
    assert told == {
        (user.email,): "Credential “DHIS2 production” was transferred",
        (recipient.email,): "Credential “DHIS2 production” was transferred",
    }
    assert all(SECRET not in m.get_content() for _, m in smtp_inbox.messages)
    entries = audit.trail(audit.CREDENTIAL, credential.id)
    assert [e.event for e in entries[:2]] == ["transferred", "transfer_requested"]
    assert entries[0].changes == {"from": user.email, "to": recipient.email}


def test_expired_withdrawn_and_superseded_links_do_not_work(db, user, shared, mail_queue):  # noqa: F811
    credential, one, two = shared
    recipient = factories.user()
    for project in (one, two):
        factories.member(project, recipient, Role.VIEWER)
    tokens = []
    original = credential_transfers.secrets.token_urlsafe
    credential_transfers.secrets.token_urlsafe = lambda n: tokens.append(original(n)) or tokens[-1]
    try:
        first = credential_transfers.request_transfer(user, credential.id, recipient.email)
        credential_transfers.request_transfer(user, credential.id, recipient.email)
    finally:
        credential_transfers.secrets.token_urlsafe = original
    with pytest.raises(NotFound):
        credential_transfers.accept_transfer(recipient, tokens[0])  # superseded
    assert db.session.get(CredentialTransfer, first.id).cancelled_at is not None
    pending, who = credential_transfers.pending_transfer(credential.id)
    assert who.id == recipient.id
    pending.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(NotFound, match="expired"):
        credential_transfers.accept_transfer(recipient, tokens[1])
    assert credential.user_id == user.id


def test_refused_when_the_recipient_already_has_that_name(db, user, shared):
    credential, one, two = shared
    recipient = factories.user()
    for project in (one, two):
        factories.member(project, recipient, Role.VIEWER)
    make_credential(recipient, "DHIS2 production")
    with pytest.raises(Invalid, match="already has a credential named"):
        credential_transfers.request_transfer(user, credential.id, recipient.email)


def test_acceptance_rechecks_membership(db, user, shared, mail_queue):  # noqa: F811
    credential, one, two = shared
    recipient = factories.user()
    for project in (one, two):
        factories.member(project, recipient, Role.VIEWER)
    tokens = []
    original = credential_transfers.secrets.token_urlsafe
    credential_transfers.secrets.token_urlsafe = lambda n: tokens.append(original(n)) or tokens[-1]
    try:
        credential_transfers.request_transfer(user, credential.id, recipient.email)
    finally:
        credential_transfers.secrets.token_urlsafe = original
    third = factories.project(user, "Immunisation")
    sharing.share(user, credential.id, third.id)
    with pytest.raises(Invalid, match="Missing: Immunisation"):
        credential_transfers.accept_transfer(recipient, tokens[0])
    assert credential.user_id == user.id
