"""The project sidebar: each area contributes one entry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    """A sidebar entry: label, Bootstrap icon name, endpoint (takes project_id), position.

    `active_prefix` marks the entry current for every endpoint of its blueprint.
    """

    label: str
    icon: str
    endpoint: str
    order: int

    @property
    def active_prefix(self) -> str:
        return self.endpoint.split(".", 1)[0] + "."
