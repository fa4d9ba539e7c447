"""Errors services raise; the web layer turns each into the right response."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: `message` is written for the person who will read it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """The item does not exist, or the caller may not know it exists (404)."""


class Forbidden(ServiceError):
    """The caller is known but their role does not allow this (403)."""


class Conflict(ServiceError):
    """The change clashes with the current state, e.g. a stale version (409)."""


class Invalid(ServiceError):
    """Input broke a rule; `field` names the form field or document path to fix (422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
