"""The one error the code commands raise: a message for the person at the terminal and the
exit code the command ends with (2 local or configuration trouble, 3 the server cannot be
reached, 1 the server refused)."""

from __future__ import annotations

LOCAL = 2
UNREACHABLE = 3
REFUSED = 1


class Failure(Exception):
    """Stops a command: `message` is printed after "ferry: ", then `details` line by line."""

    def __init__(self, message: str, exit_code: int = LOCAL, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.details = details or []
