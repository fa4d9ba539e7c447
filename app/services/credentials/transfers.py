"""Handing a credential to another user: the owner asks, the recipient confirms through an
emailed one-time link, and both are told. The recipient must already be a member of every
project the credential is shared into, so no project loses access by surprise."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Credential, CredentialTransfer, ProjectMember, User
from app.models.base import utcnow
from app.services import accounts, audit, mail
from app.services.credentials import forms
from app.services.credentials.sharing import shared_projects
from app.services.credentials.store import get_credential, require_owner
from app.services.errors import Invalid, NotFound

ACCEPT_PATH = "/credentials/transfers/{token}"
LIFETIME = timedelta(days=2)


def request_transfer(actor: User, credential_id: uuid.UUID, email: str) -> CredentialTransfer:
    """Start a transfer to the user with `email` and mail them the confirmation link."""
    credential = get_credential(credential_id)
    require_owner(actor, credential)
    address = accounts.normalise_email(email)
    recipient = db.session.scalar(select(User).where(User.email == address))
    if recipient is None or recipient.disabled:
        raise Invalid("email", f"No active Ferry user has the email {address}.")
    if recipient.id == actor.id:
        raise Invalid("email", "You already own this credential.")
    _recipient_can_take(credential, recipient)
    for pending in _pending(credential.id):
        pending.cancelled_at = utcnow()  # one open transfer at a time: the newest wins
    token = secrets.token_urlsafe(32)
    transfer = CredentialTransfer(
        credential_id=credential.id,
        from_user_id=actor.id,
        to_user_id=recipient.id,
        token_digest=_digest(token),
        expires_at=utcnow() + LIFETIME,
    )
    db.session.add(transfer)
    audit.record(
        audit.CREDENTIAL, credential.id, "transfer_requested", actor.id, {"to": recipient.email}
    )
    db.session.commit()
    link = current_app.config["FERRY_SETTINGS"].base_url + ACCEPT_PATH.format(token=token)
    mail.send_mail(
        recipient.email,
        f"{actor.display_name} wants to give you the credential “{credential.name}”",
        f"Hello {recipient.display_name},\n\n"
        f"{actor.display_name} ({actor.email}) wants to transfer the credential "
        f"“{credential.name}” to you. Once you accept, you will own it: you alone can "
        "edit, share, transfer or delete it.\n\n"
        f"To accept, sign in to Ferry and open this link within 2 days:\n{link}\n\n"
        "If you did not expect this, ignore this message and nothing changes.\n",
    )
    return transfer


def cancel_transfer(actor: User, credential_id: uuid.UUID) -> None:
    """Withdraw the open transfer of a credential (owner only)."""
    credential = get_credential(credential_id)
    require_owner(actor, credential)
    for pending in _pending(credential.id):
        pending.cancelled_at = utcnow()
    db.session.commit()


def pending_transfer(credential_id: uuid.UUID) -> tuple[CredentialTransfer, User] | None:
    """The open transfer of a credential with its recipient, if any."""
    for transfer in _pending(credential_id):
        return transfer, db.session.get(User, transfer.to_user_id)
    return None


def transfer_for_token(user: User, token: str) -> tuple[CredentialTransfer, Credential]:
    """The open transfer this link belongs to, if `user` is its recipient; else NotFound."""
    transfer = db.session.scalar(
        select(CredentialTransfer).where(CredentialTransfer.token_digest == _digest(token))
    )
    if transfer is None or transfer.to_user_id != user.id:
        raise NotFound("This transfer link is not valid for your account.")
    if transfer.accepted_at is not None:
        raise NotFound("This transfer was already accepted.")
    if transfer.cancelled_at is not None or _aware(transfer.expires_at) <= utcnow():
        raise NotFound("This transfer link has expired or was withdrawn: ask for a new one.")
    return transfer, get_credential(transfer.credential_id)


@dataclass(frozen=True)
class TransferView:
    """What the recipient is asked to accept."""

    credential_name: str
    type_label: str
    sender: str
    projects: tuple[str, ...]
    expires_at: datetime


def describe(transfer: CredentialTransfer, credential: Credential) -> TransferView:
    """The transfer in words for its confirmation page."""
    sender = db.session.get(User, transfer.from_user_id)
    return TransferView(
        credential_name=credential.name,
        type_label=forms.type_label(credential.schema),
        sender=f"{sender.display_name} ({sender.email})",
        projects=tuple(p.name for p in shared_projects(credential.id)),
        expires_at=transfer.expires_at,
    )


def accept_transfer(user: User, token: str) -> Credential:
    """Make `user` the owner; both people are told by mail."""
    transfer, credential = transfer_for_token(user, token)
    previous = db.session.get(User, credential.user_id)
    if credential.user_id != transfer.from_user_id:
        raise NotFound("This credential changed hands since the link was sent.")
    _recipient_can_take(credential, user)
    credential.user_id = user.id
    transfer.accepted_at = utcnow()
    audit.record(
        audit.CREDENTIAL,
        credential.id,
        "transferred",
        user.id,
        {"from": previous.email, "to": user.email},
    )
    db.session.commit()
    for person, text in (
        (previous, f"{user.display_name} ({user.email}) accepted it and now owns it."),
        (user, f"You now own it; {previous.display_name} ({previous.email}) no longer does."),
    ):
        mail.send_mail(
            person.email,
            f"Credential “{credential.name}” was transferred",
            f"Hello {person.display_name},\n\nThe credential “{credential.name}” was "
            f"transferred. {text}\n",
        )
    return credential


def _recipient_can_take(credential: Credential, recipient: User) -> None:
    projects = shared_projects(credential.id)
    member_of = set(
        db.session.scalars(
            select(ProjectMember.project_id).where(ProjectMember.user_id == recipient.id)
        )
    )
    missing = [p.name for p in projects if p.id not in member_of]
    if missing:
        raise Invalid(
            "email",
            f"{recipient.email} is not a member of every project this credential is shared "
            f"into. Missing: {', '.join(missing)}. Add them to those projects, or unshare "
            "the credential from them, first.",
        )
    clash = db.session.scalar(
        select(Credential.id).where(
            Credential.user_id == recipient.id, Credential.name == credential.name
        )
    )
    if clash is not None:
        raise Invalid(
            "email",
            f"{recipient.email} already has a credential named “{credential.name}”: "
            "rename this one first.",
        )


def _pending(credential_id: uuid.UUID) -> list[CredentialTransfer]:
    return [
        t
        for t in db.session.scalars(
            select(CredentialTransfer)
            .where(
                CredentialTransfer.credential_id == credential_id,
                CredentialTransfer.accepted_at.is_(None),
                CredentialTransfer.cancelled_at.is_(None),
            )
            .order_by(CredentialTransfer.inserted_at.desc())
        )
        if _aware(t.expires_at) > utcnow()
    ]


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _digest(token: str) -> str:
    # The token is 256 random bits: a fast hash suffices, and the database never holds it.
    return hashlib.sha256(token.encode()).hexdigest()
