"""The application tiles a person may open from the portal (issue 6, scope 7).

A tile opens `/portal/launch/<client_id>`, which re-checks the access policy and sends the
browser on with IdP-initiated sign-in (`applications.service.launch_url_for`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from idaas.directory.models import Account


@dataclass(frozen=True)
class AppTile:
    """One tile: name, where it opens, an optional description and icon URL."""

    name: str
    url: str
    description: str | None = None
    icon_url: str | None = None


def apps_for(account: Account) -> list[AppTile]:
    """The applications `account` may use and open from here (enabled, shown, policy allows,
    a launch URL exists), by name."""
    from idaas.applications import apps
    from idaas.ui import app_name

    return [
        AppTile(
            name=app_name(app),
            url=url_for("oidc.launch", client_id=app.client_id),
            description=app.description,
            icon_url=app.icon_url,
        )
        for app in apps.apps_visible_to(account)
        if apps.launch_url_for(app.client_id) is not None
    ]
