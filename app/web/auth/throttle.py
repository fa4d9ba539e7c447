"""Sign-in limits (per account and per client address) and the record of failed sign-ins.

Only failed attempts count: `failed_login` adds one to both counters, and `login_attempts`
refuses a sign-in before the password is even checked once either counter is full, with
a page saying when to try again. The counters live in the app's Flask-Limiter storage (the
Redis Ferry uses; see app.extensions.init_limiter) as moving windows of
`login_attempt_window_minutes`, so each failure stops counting that long after it happened.

Flask-Limiter's route decorator is not used: it counts requests, keyed before the view
runs, while these limits count outcomes (a failure) keyed by the email in the form, and the
refusal must say which limit was reached. Its storage and moving-window strategy are.

When the storage cannot be reached the limits fail open, with a warning in the log: a
Redis outage must not lock every person (administrators included) out of Ferry. Guessing
stays slow meanwhile (argon2 makes each check take tens of milliseconds) and every failure
is still in the audit log.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from flask import current_app, render_template, request
from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from redis.exceptions import RedisError

from app.extensions import limiter
from app.services import sessions
from app.web.auth.forms import LoginForm

log = logging.getLogger("ferry.limits")

ACCOUNT_MESSAGE = "Too many failed sign-ins for this account."
ADDRESS_MESSAGE = "Too many failed sign-ins from your network address."


@dataclass(frozen=True)
class Refusal:
    """A limit that is full, and how long until it lets one more attempt through."""

    message: str
    wait_s: float

    @property
    def wait_text(self) -> str:
        """'Try again in 12 minutes.'"""
        minutes = max(1, math.ceil(self.wait_s / 60))
        return f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def login_attempts(view):
    """Decorate the password sign-in view with the per-account and per-address limits."""

    @functools.wraps(view)
    def limited(*args, **kwargs):
        refusal = refusal_for(request.form.get("email", ""), client_address())
        if refusal is not None:
            return _refused(refusal)
        return view(*args, **kwargs)

    return limited


def failed_login(email: str) -> None:
    """Record a failed sign-in for `email`: one more towards both limits, and the audit log."""
    address = client_address()
    _count(email, address)
    sessions.record_failed_sign_in(email, address)


def refusal_for(email: str, address: str) -> Refusal | None:
    """Why a sign-in for `email` from `address` must wait now, or None when it may go on."""
    account_limit, address_limit = _limits()
    checks = (
        (account_limit, _account_key(email), ACCOUNT_MESSAGE),
        (address_limit, _address_key(address), ADDRESS_MESSAGE),
    )
    refusals = []
    try:
        strategy = limiter().limiter
        for item, key, message in checks:
            if not strategy.test(item, *key):
                reset_at, _ = strategy.get_window_stats(item, *key)
                refusals.append(Refusal(message, reset_at - time.time()))
    except (StorageError, RedisError) as error:
        _storage_down(error)
        return None
    # Both must clear before a sign-in goes through: name the one that takes longer.
    return max(refusals, key=lambda refusal: refusal.wait_s, default=None)


def client_address() -> str:
    """The client's address as the counters see it: IPv6 clients by their /64 network,
    which one home or office holds whole (counting single addresses would let it rotate)."""
    raw = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _count(email: str, address: str) -> None:
    account_limit, address_limit = _limits()
    try:
        strategy = limiter().limiter
        strategy.hit(account_limit, *_account_key(email))
        strategy.hit(address_limit, *_address_key(address))
    except (StorageError, RedisError) as error:
        _storage_down(error)


def _limits() -> tuple[RateLimitItemPerMinute, RateLimitItemPerMinute]:
    settings = current_app.config["FERRY_SETTINGS"]
    window = settings.login_attempt_window_minutes
    return (
        RateLimitItemPerMinute(settings.login_attempts_per_account, window),
        RateLimitItemPerMinute(settings.login_attempts_per_address, window),
    )


def _account_key(email: str) -> tuple[str, str]:
    # The email as accounts.authenticate matches it; hashed so the key is short and holds
    # no personal data in Redis.
    normalised = (email or "").strip().lower()
    return ("ferry-sign-in", "account:" + hashlib.sha256(normalised.encode()).hexdigest()[:32])


def _address_key(address: str) -> tuple[str, str]:
    return ("ferry-sign-in", "address:" + address)


def _storage_down(error: Exception) -> None:
    log.warning(
        "Sign-in limits are not enforced: their storage (Redis) cannot be reached (%s). "
        "Sign-ins are let through until it answers again.",
        error,
    )


def _refused(refusal: Refusal):
    form = LoginForm()
    form.password.data = ""
    message = f"{refusal.message} {refusal.wait_text}"
    response = current_app.make_response(
        (render_template("auth/login.html", form=form, error=message), 429)
    )
    response.headers["Retry-After"] = str(max(1, math.ceil(refusal.wait_s)))
    return response
