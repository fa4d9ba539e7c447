"""Deleting a user (a superuser's action): the account stops at once (disabled, signed out
everywhere, API tokens revoked) and a superuser can cancel until the grace period ends; then a
background job destroys their credentials and removes the account. Audit entries stay, their
actor becoming NULL with the row (the one change the audit trail's trigger allows)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import ApiToken, AuditEvent, Credential, User
from app.models.base import utcnow
from app.services import accounts, audit
from app.services import users as user_service
from app.services.credentials import oauth
from app.services.deletions import jobs
from app.services.errors import Conflict, Invalid, NotFound

ITEM = "user"
# A purge refused because the user owns a project meanwhile is tried again this much later
# (one audit entry a day, not one a scheduler tick) and goes ahead once the project is handed
# over.
RETRY_HELD_AFTER = timedelta(days=1)
GONE = "There is no such user; they may have been removed for good already."

log = logging.getLogger(__name__)


def request_deletion(actor: User, user_id: uuid.UUID, typed_email: str) -> User:
    """Delete a user after their email was typed: disabled, signed out and their API tokens
    revoked at once; their account and credentials are purged after the grace period.

    Refused for oneself, for the last active superuser, and while they own projects (a
    project always has an owner: hand it over first).
    """
    user = user_service.lock_user(user_id)
    if user.id == actor.id:
        raise Conflict("You cannot delete your own account; ask another superuser.")
    if user.deletion_requested_at is not None:
        raise Conflict(pending_message(user))
    owned = user_service.detail(user.id).owned_projects
    if owned:
        raise Conflict(user_service.owned_projects_message(user, owned))
    if (typed_email or "").strip().lower() != user.email:
        raise Invalid("confirm_email", "Type the user's email address exactly to delete them.")
    if user.is_superuser:
        user_service.keep_a_superuser(user, "delete")
    now = utcnow()
    # Kept in the audit entry, which a cancel reads: it re-enables only an account that this
    # deletion disabled.
    was_disabled = user.disabled
    user.disabled = True
    user.deletion_requested_at = now
    user.deletion_due_at = jobs.due_at(now)
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    audit.record(
        ITEM,
        user.id,
        "deleted",
        actor.id,
        {
            "email": user.email,
            "purge_on": user.deletion_due_at.isoformat(),
            "was_disabled": was_disabled,
            "api_tokens_revoked": revoked,
        },
    )
    accounts.sign_out_everywhere(user.id)  # commits the deletion, the entry and a new nonce
    if not jobs.grace_period():
        jobs.enqueue_user(user.id)
    return user


def cancel_deletion(actor: User, user_id: uuid.UUID) -> bool:
    """Keep a user whose deletion was requested, before the grace period ends. Returns True
    when they can sign in again (False: they were disabled before, and stay so). Their API
    tokens stay revoked and their sessions ended."""
    user = db.session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound(GONE)
    if user.deletion_requested_at is None:
        raise Conflict(f"{user.email} is not scheduled for deletion.")
    if _due(user, utcnow()):
        raise Conflict(
            f"{user.email} can no longer be kept: the grace period has ended and their "
            "account is being removed."
        )
    enabled = not _was_disabled(user)
    if enabled:
        user.disabled = False
    user.deletion_requested_at = user.deletion_due_at = None
    audit.record(
        ITEM, user.id, "deletion_cancelled", actor.id, {"email": user.email, "enabled": enabled}
    )
    db.session.commit()
    return enabled


def purge(user_id: uuid.UUID) -> bool:
    """Destroy the credentials of a deleted user whose grace period has ended (revoking OAuth
    tokens, one audit entry each) and remove the account with its memberships, tokens and
    identities. False when there is nothing to do (gone, kept, not due yet) or when the user
    owns a project meanwhile: that refusal is logged, audited and tried again a day later."""
    user = db.session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None or user.deletion_requested_at is None:
        db.session.rollback()
        return False
    now = utcnow()
    if not _due(user, now):
        db.session.rollback()
        return False
    email = user.email
    owned = user_service.detail(user.id).owned_projects
    if owned:
        # The rule of the request, checked again: someone made them an owner meanwhile. The
        # last-superuser rule needs no second look: a pending user is disabled, so removing
        # them leaves as many active superusers as there are now.
        user.deletion_due_at = now + RETRY_HELD_AFTER
        audit.record(ITEM, user.id, "purge_held", None, {"email": email, "owns": owned})
        db.session.commit()
        log.warning(
            "The deletion of %s is held: they own %s. Hand the projects over; it is tried "
            "again on %s.",
            email,
            ", ".join(owned),
            jobs.day(now + RETRY_HELD_AFTER),
        )
        return False
    names = []
    for credential in db.session.scalars(select(Credential).where(Credential.user_id == user.id)):
        if credential.oauth_client_id is not None:
            oauth.revoke_quietly(credential)
        names.append(credential.name)
        audit.record(
            audit.CREDENTIAL,
            credential.id,
            "deleted",
            None,
            {"name": credential.name, "reason": f"its owner {email} was deleted"},
        )
        db.session.delete(credential)
    db.session.flush()
    audit.record(ITEM, user.id, "purged", None, {"email": email, "credentials": names})
    # A bulk delete lets the database cascade (memberships, tokens, resets, identities)
    # instead of the ORM loading each relationship first.
    db.session.expunge(user)
    db.session.execute(delete(User).where(User.id == user_id))
    db.session.commit()
    log.info("User %s purged with %d credential(s).", email, len(names))
    return True


def due_ids(now: datetime) -> list[uuid.UUID]:
    """Users whose deletion's grace period has ended."""
    return list(
        db.session.scalars(
            select(User.id).where(
                User.deletion_requested_at.is_not(None), User.deletion_due_at <= now
            )
        )
    )


def pending_message(user: User) -> str:
    """What to tell someone acting on a user whose deletion is pending."""
    return (
        f"{user.email} is scheduled for deletion on {jobs.day(user.deletion_due_at)}. "
        "Cancel the deletion on their page first (superusers), or wait until it is done."
    )


def _due(user: User, now: datetime) -> bool:
    return user.deletion_due_at is not None and jobs.aware(user.deletion_due_at) <= now


def _was_disabled(user: User) -> bool:
    """Whether the account was disabled before this deletion, from the request's audit entry
    (the one naming this purge date: an earlier, cancelled deletion has its own)."""
    due = jobs.aware(user.deletion_due_at)
    for changes in db.session.scalars(
        select(AuditEvent.changes).where(
            AuditEvent.item_type == ITEM,
            AuditEvent.item_id == user.id,
            AuditEvent.event == "deleted",
        )
    ):
        purge_on = (changes or {}).get("purge_on")
        if purge_on and datetime.fromisoformat(purge_on) == due:
            return bool(changes.get("was_disabled"))
    # No such entry cannot happen (it is written with the request); staying disabled is the
    # safe side should it ever.
    return True
