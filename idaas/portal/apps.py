"""The application tiles a person may open from the portal.

The applications module (OIDC relying parties) is not there yet, so this returns no tiles; it
is the one place the portal asks, so the grid fills in when applications can be listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from idaas.directory.models import Account


@dataclass(frozen=True)
class AppTile:
    """One tile: name, where it opens, an optional description and icon URL."""

    name: str
    url: str
    description: str | None = None
    icon_url: str | None = None


def apps_for(account: Account) -> list[AppTile]:
    """The applications `account` may use, in display order (empty until OIDC apps exist)."""
    return []
