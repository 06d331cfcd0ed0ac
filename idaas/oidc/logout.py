"""Logout towards relying parties: back-channel logout tokens and front-channel URLs.

When an idaas session ends (sign-out, RP-initiated logout, session revocation, account
disabled), every RP that got a code through it is told: a signed logout token is POSTed to its
`backchannel_logout_uri` (OpenID Back-Channel Logout 1.0 §2.4-2.5), and the RP-initiated
logout page embeds its `frontchannel_logout_uri` (OpenID Front-Channel Logout 1.0 §2-3).
Delivery is a direct call today (short timeout, failures audited); the worker will retry later.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from flask import Flask, current_app, g, has_app_context
from joserfc import jwt
from sqlalchemy import event, select

from idaas import audit
from idaas.applications.models import Application
from idaas.extensions import db
from idaas.oidc import keys
from idaas.oidc.models import RpSession
from idaas.oidc.service import end_rp_sessions, rp_sessions_of, sid_for

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_LIFETIME = 120
TIMEOUT = 5.0


def issuer() -> str:
    """Our issuer identifier."""
    return str(current_app.config["ISSUER"])


def logout_token(app: Application, rp: RpSession) -> str:
    """A logout token for one RP session (Back-Channel Logout §2.4): `events`, `sid`, no nonce."""
    now = int(time.time())
    claims = {
        "iss": issuer(),
        "aud": app.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "sub": rp.subject,
        "sid": sid_for(rp.auth_session_id),
        "events": {BACKCHANNEL_EVENT: {}},
    }
    header = {"alg": app.id_token_alg, "typ": "logout+jwt"}
    return jwt.encode(header, claims, keys.signing_key_set(app.id_token_alg))


class BackchannelClient:
    """POSTs logout tokens to relying parties (Back-Channel Logout §2.5)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def send(self, uri: str, token: str) -> bool:
        """Deliver one logout token; True when the RP answered 200 or 204."""
        try:
            response = self.http.post(
                uri,
                data={"logout_token": token},
                headers={"Cache-Control": "no-store"},
            )
        except httpx.HTTPError:
            return False
        return response.status_code in (200, 204)


def notify_backchannel(found: list[tuple[RpSession, Application]], actor: str) -> None:
    """Send a logout token to every RP of `found` that registered a back-channel URI."""
    targets = [(rp, app) for rp, app in found if app.backchannel_logout_uri]
    if not targets:
        return
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as http:
        client = BackchannelClient(http)
        for rp, app in targets:
            delivered = client.send(str(app.backchannel_logout_uri), logout_token(app, rp))
            audit.record(
                actor,
                "oidc.backchannel_logout",
                f"application:{app.client_id}",
                outcome="success" if delivered else "failure",
                details={
                    "session": rp.auth_session_id,
                    "host": urlsplit(app.backchannel_logout_uri or "").hostname,
                },
            )
    db.session.commit()


def frontchannel_urls(found: list[tuple[RpSession, Application]]) -> list[str]:
    """The front-channel logout URLs (with `iss` and `sid`) to load in iframes."""
    urls = []
    for rp, app in found:
        if app.frontchannel_logout_uri:
            query = urlencode({"iss": issuer(), "sid": sid_for(rp.auth_session_id)})
            sep = "&" if urlsplit(app.frontchannel_logout_uri).query else "?"
            urls.append(app.frontchannel_logout_uri + sep + query)
    return urls


def frames_for_session(auth_session_id: int) -> list[str]:
    """Front-channel logout URLs of the RPs of an idaas session that is signing out."""
    return frontchannel_urls(rp_sessions_of([auth_session_id]))


def sessions_ended(auth_session_ids: list[int], actor: str) -> list[tuple[RpSession, Application]]:
    """Tell the RPs of ended idaas sessions (back-channel) and return them (front-channel)."""
    found = end_rp_sessions(auth_session_ids, actor)
    notify_backchannel(found, actor)
    return found


def _revoked_only(auth_session_ids: list[int]) -> list[int]:
    from idaas.auth.models import AuthSession

    return list(
        db.session.scalars(
            select(AuthSession.id).where(
                AuthSession.id.in_(auth_session_ids), AuthSession.revoked_at.is_not(None)
            )
        )
    )


def end_account(account_id: int, actor: str) -> list[tuple[RpSession, Application]]:
    """End every RP session of an account (it was disabled or left) and tell the RPs."""
    ids = list(
        db.session.scalars(
            select(RpSession.auth_session_id).where(RpSession.account_id == account_id).distinct()
        )
    )
    return sessions_ended(ids, actor) if ids else []


def _on_revoked(target: Any, value: Any, old: Any, initiator: Any) -> None:
    """An AuthSession got `revoked_at`: remember it for after the request."""
    if value is not None and has_app_context() and target.id is not None:
        g.setdefault("idaas_ended_sessions", set()).add(target.id)


def _after_request(response: Any) -> Any:
    """Deliver logouts for sessions this request ended (after their commit)."""
    ended = g.pop("idaas_ended_sessions", None)
    if not ended:
        return response
    try:
        confirmed = _revoked_only(sorted(ended))
        if confirmed:
            sessions_ended(confirmed, "system")
    except Exception:  # never turn a finished sign-out into an error page
        db.session.rollback()
        current_app.logger.exception("back-channel logout delivery failed")
    return response


def _on_account_deactivated(sender: Flask, *, account_id: int, status: str, **extra: Any) -> None:
    """An account was disabled or left: its sessions ended, so tell its RPs."""
    if status != "deleted":
        end_account(account_id, str(extra.get("origin") or "system"))


def init_app(app: Flask) -> None:
    """Hook session ends: attribute events, the request end and directory signals."""
    from idaas.auth import flow
    from idaas.auth.models import AuthSession
    from idaas.directory import signals

    if not event.contains(AuthSession.revoked_at, "set", _on_revoked):
        event.listen(AuthSession.revoked_at, "set", _on_revoked)
    app.after_request(_after_request)
    signals.account_deactivated.connect(_on_account_deactivated)
    flow.register_logout_frames(app, frames_for_session)
