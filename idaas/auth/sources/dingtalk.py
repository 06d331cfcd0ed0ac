"""The DingTalk sources: QR scan (dingtalk-api.md §2) and workbench micro-app free login (§3).

Both sit on a DingTalk connection (`idaas.dingtalk.connections`) and share the routes of
`idaas.dingtalk.login`. Settings (all optional except `connection`):

- `connection`: the connection name;
- `auto_link`: fields to match a first-time person on, any of `mobile`, `email`,
  `employee_number` (never the name); empty (the default) turns auto-linking off;
- `jit`: create an account just in time for an unknown member of the corp (default off);
- `unlink_on_password_change`: drop the links when the password changes or is reset (default on);
- `notify_on_link`: send a DingTalk work notification when a link is made (default off).
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from idaas.auth.sources import register_type
from idaas.auth.sources.base import AuthSource

AUTO_LINK_FIELDS = ("mobile", "email", "employee_number")
DINGTALK_TYPES = ("dingtalk", "dingtalk_micro")
DEFAULTS: dict[str, Any] = {
    "auto_link": [],
    "jit": False,
    "unlink_on_password_change": True,
    "notify_on_link": False,
}


def clean_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate a DingTalk source's settings; raise ValueError with a readable message."""
    clean = {**DEFAULTS, **settings}
    if not clean.get("connection"):
        raise ValueError("a DingTalk source needs a connection")
    fields = clean.get("auto_link") or []
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = [f for f in fields if f not in AUTO_LINK_FIELDS]
    if unknown:
        raise ValueError(
            f"auto_link can only match on {', '.join(AUTO_LINK_FIELDS)} (never a name), "
            f"not {', '.join(unknown)}"
        )
    clean["auto_link"] = list(dict.fromkeys(fields))
    for key in ("jit", "unlink_on_password_change", "notify_on_link"):
        clean[key] = bool(clean[key])
    return clean


class DingTalkSourceBase(AuthSource):
    """Common behaviour: settings with defaults, the login-page button goes to the QR flow."""

    def setting(self, key: str) -> Any:
        """A setting with its default."""
        return self.settings.get(key, DEFAULTS.get(key))

    @property
    def connection_name(self) -> str:
        """The DingTalk connection this source uses."""
        return str(self.settings.get("connection") or "")

    def entry_url(self, next_target: str | None) -> str | None:
        """The QR flow start (§2): `/login/dingtalk/<source>`."""
        if next_target:
            return url_for("dingtalk.start", source=self.name, next=next_target)
        return url_for("dingtalk.start", source=self.name)


@register_type
class DingTalkQrSource(DingTalkSourceBase):
    """Scan a QR code with DingTalk (new OAuth §2.2 or legacy SNS §2.1, per the connection)."""

    type = "dingtalk"


@register_type
class DingTalkMicroSource(DingTalkSourceBase):
    """Free login (免登) from the DingTalk workbench (§3); QR fallback outside DingTalk."""

    type = "dingtalk_micro"


def target_for_app(client_id: str | None) -> str:
    """Where a micro-app sign-in continues: the app's `initiate_login_uri`, else the portal.

    The OIDC provider (issue 6) owns applications; when `idaas.applications.service` offers
    `initiate_login_uri(client_id)` it is asked, otherwise people land in the portal.
    """
    if client_id:
        from idaas.applications import service as applications

        lookup = getattr(applications, "initiate_login_uri", None)
        if callable(lookup):
            uri = lookup(client_id)
            if uri:
                return str(uri)
    return url_for("portal.home")
