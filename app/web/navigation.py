"""The project sidebar: each area contributes one entry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    """A sidebar entry: label, Bootstrap icon name, endpoint (takes project_id), position.

    The entry is current for every endpoint of its own blueprint and of the blueprints named
    in `also_current_in` (the settings entry stays current on the members and audit tabs).
    """

    label: str
    icon: str
    endpoint: str
    order: int
    also_current_in: tuple[str, ...] = ()

    @property
    def active_prefixes(self) -> tuple[str, ...]:
        """Endpoint prefixes (`blueprint.`) for which this entry is marked current."""
        own = self.endpoint.split(".", 1)[0]
        return tuple(f"{name}." for name in (own, *self.also_current_in))

    def is_current(self, endpoint: str | None) -> bool:
        """True when `endpoint` is this entry's page or one of its area's pages."""
        if not endpoint:
            return False
        if endpoint == self.endpoint:
            return True
        # The overview's blueprint also holds the projects list and creation pages.
        return self.endpoint != "projects.show" and endpoint.startswith(self.active_prefixes)
