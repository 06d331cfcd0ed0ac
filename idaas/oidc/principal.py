"""Who the signed-in person is to an application: `sub`, `sid` and how they authenticated."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from idaas.applications import apps
from idaas.applications.models import Application
from idaas.directory.models import Account


def epoch(moment: datetime) -> int:
    """Seconds since the epoch of a naive UTC datetime (as stored), whatever the server's TZ."""
    return int(moment.replace(tzinfo=UTC).timestamp())


@dataclass
class Principal:
    """The signed-in person as authlib's grants see them (`get_user_id` is the app's `sub`)."""

    account: Account
    subject: str
    auth_session_id: int | None = None
    auth_time: int = 0
    acr: str | None = None
    amr: list[str] = field(default_factory=list)

    def get_user_id(self) -> str:
        """The subject identifier for this client (OIDC Core §8)."""
        return self.subject


def sid_for(auth_session_id: int) -> str:
    """The `sid` of an idaas session (Front-/Back-Channel Logout §3): opaque and stable."""
    key = str(current_app.secret_key).encode()
    mac = hmac.new(key, f"sid:{auth_session_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")


def sector_of(app: Application) -> str:
    """The sector identifier: configured, else the host of the first redirect URI (§8.1)."""
    if app.sector_identifier:
        return app.sector_identifier
    from urllib.parse import urlsplit

    uris = app.redirect_uris or [app.client_id]
    return urlsplit(uris[0]).hostname or uris[0]


def subject_for(app: Application, account: Account) -> str:
    """`sub` for `app`: uuid, pairwise (OIDC Core §8.1) or the app username."""
    if app.subaccount_as_sub and app.subaccount_mode != "direct":
        username, state = apps.app_username(app, account)
        if username and state == "ok":
            return username
    if app.subject_type == "pairwise":
        salt = str(current_app.config["PAIRWISE_SALT"] or current_app.secret_key).encode()
        raw = f"{sector_of(app)}|{account.uuid}".encode()
        mac = hmac.new(salt, raw, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")
    return account.uuid


def principal_for(
    app: Application, account: Account, session_row: Any | None = None, **fallback: Any
) -> Principal:
    """The Principal of `account` for `app`, with the session's authentication facts."""
    if session_row is not None:
        return Principal(
            account=account,
            subject=subject_for(app, account),
            auth_session_id=session_row.id,
            auth_time=epoch(session_row.authenticated_at),
            acr=session_row.acr,
            amr=list(session_row.methods or []),
        )
    return Principal(account=account, subject=subject_for(app, account), **fallback)
