"""Notifications: members' own alert and digest choices, the project's alert settings, the
alert log, and the signed unsubscribe links."""
