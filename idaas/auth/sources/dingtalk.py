"""The DingTalk sources: QR scan (dingtalk-api.md §2) and workbench micro-app free login (§3).

Both sit on a DingTalk connection (`idaas.dingtalk.connections`) and share the routes of
`idaas.dingtalk.login`. Settings (all optional except `connection`):

- `connection`: the connection name;
- `auto_link`: fields to match a first-time person on, any of `mobile`, `email`,
  `employee_number` (never the name); empty (the default) turns auto-linking off;
- `jit`: create an account just in time for an unknown member of the corp (default off);
- `unlink_on_password_change`: drop the links when the password changes or is reset (default on);
- `notify_on_link`: send a DingTalk work notification when a link is made (default off);
- `embedded_qr`: show DingTalk's embedded QR (`DTFrameLogin`, §2.2) on /login (default off;
  new OAuth generation only; script URL: `DINGTALK_LOGIN_SCRIPT_URL`).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request, session, url_for

from idaas.auth.sources.base import AuthSource
from idaas.auth.sources.registry import register_type
from idaas.extensions import db

AUTO_LINK_FIELDS = ("mobile", "email", "employee_number")
DINGTALK_TYPES = ("dingtalk", "dingtalk_micro")
#: The OIDC provider's IdP-initiated launch route (`/portal/launch/<client_id>`, issue 6).
LAUNCH_ENDPOINT = "oidc.launch"
#: Set on the request when /login shows an embedded QR: (script origin, frame origin).
EMBED_ENVIRON_KEY = "idaas.dingtalk.embed_origins"
DEFAULTS: dict[str, Any] = {
    "auto_link": [],
    "jit": False,
    "unlink_on_password_change": True,
    "notify_on_link": False,
    "embedded_qr": False,
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
    for key in ("jit", "unlink_on_password_change", "notify_on_link", "embedded_qr"):
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

    @property
    def embed_template(self) -> str | None:
        """The embedded-QR partial for /login when the admin enabled it (§2.2 DTFrameLogin)."""
        return "auth/_dingtalk_qr.html" if self.setting("embedded_qr") else None

    def embed_params(self, next_target: str | None) -> dict[str, Any] | None:
        """`DTFrameLogin` arguments with a fresh signed state, or None (legacy or no connection)."""
        from idaas.dingtalk import connections

        conn = connections.get(self.connection_name)
        if conn is None or conn.login_generation != "oauth2":
            return None
        state = _embedded_state(self.name, next_target)
        if state is None:
            return None  # this client made too many: the page offers the QR link instead
        script = str(current_app.config["DINGTALK_LOGIN_SCRIPT_URL"])
        login_base = str(current_app.config["DINGTALK_LOGIN_BASE"])
        request.environ[EMBED_ENVIRON_KEY] = (_origin(script), _origin(login_base))
        return {
            "script_url": script,
            "params": {
                "redirect_uri": connections.redirect_url(self.name),
                "client_id": conn.app_key,
                "scope": "openid",
                "response_type": "code",
                "prompt": "consent",
                "state": state,
            },
        }


@register_type
class DingTalkMicroSource(DingTalkSourceBase):
    """Free login (免登) from the DingTalk workbench (§3); QR fallback outside DingTalk."""

    type = "dingtalk_micro"


EMBED_STATE_KEY = "idaas_dt_embed"


def _embedded_state(source: str, next_target: str | None) -> str | None:
    """The embedded QR's `state`: this browser's unused one again, else a new one (throttled).

    Every anonymous GET /login used to insert a state row (issue 11 finding 14). A browser
    now keeps its state (in the signed session cookie) until it is used or nearly expires,
    and a client that does not keep cookies gets at most LOGIN_STATE_RATE_LIMIT_IP new
    states per IP; above that the page shows no embedded QR.
    """
    from idaas.auth import lockout
    from idaas.dingtalk import signin
    from idaas.dingtalk.models import DingTalkSingleUse

    kept = session.get(EMBED_STATE_KEY)
    if (
        isinstance(kept, dict)
        and kept.get("s") == source
        and kept.get("x") == (next_target or "")
        and float(kept.get("e", 0)) > time.time() + 60
    ):
        row = db.session.get(DingTalkSingleUse, str(kept.get("h")))
        if row is not None and row.used_at is None:
            return str(kept["state"])
    limit = str(current_app.config["LOGIN_STATE_RATE_LIMIT_IP"])
    if lockout.hit_limit("idaas-dt-state", limit, request.remote_addr or "-"):
        return None
    state = signin.make_state(source, next_target, None)
    nonces = session.get(signin.SESSION_NONCES) or []
    session[EMBED_STATE_KEY] = {
        "s": source,
        "x": next_target or "",
        "state": state,
        "h": nonces[-1] if nonces else "",
        "e": time.time() + signin.state_max_age(),
    }
    return state


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def target_for_app(client_id: str | None) -> str:
    """Where a micro-app sign-in continues: the app's IdP-initiated launch, else /portal (§3).

    The launch route checks the access policy, then sends the browser to the app's
    `initiate_login_uri` or straight into an authorization request for it.
    """
    from idaas.applications import apps

    if client_id and apps.find_enabled_application(client_id) is not None:
        return url_for(LAUNCH_ENDPOINT, client_id=client_id)
    return url_for("portal.home")
