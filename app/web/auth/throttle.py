"""Sign-in rate limits (per account and per address) and the record of failed sign-ins.

(Issue 13 fills these in; until then they let every attempt through.)
"""

from __future__ import annotations


def login_attempts(view):
    """Decorate the password sign-in view with the per-account and per-address limits."""
    return view


def failed_login(email: str) -> None:
    """Record a failed sign-in for `email` (audit log)."""
