"""Logout towards relying parties: back-channel logout tokens and front-channel URLs.

When an idaas session ends, wherever that happens (sign-out, RP-initiated logout, "sign out
other sessions", `idaas sessions revoke`, a password reset, an account disabled), every RP that
got a code through it is told: a signed logout token is POSTed to its `backchannel_logout_uri`
(OpenID Back-Channel Logout 1.0 §2.4-2.5), and the RP-initiated logout page embeds its
`frontchannel_logout_uri` (OpenID Front-Channel Logout 1.0 §2-3).

Setting `AuthSession.revoked_at` is the one hook: in the same transaction (a `before_commit`
listener), the RP sessions end, their tokens are revoked and one `oidc.backchannel` delivery per
RP is queued on the delivery engine, which POSTs it with retries (an RP that is down for a
while gets the token when it comes back; a 400 is final, §2.8).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import httpx
from flask import Flask, current_app, g, has_app_context
from joserfc import jwt
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, object_session

from idaas import audit
from idaas.applications import apps
from idaas.applications.models import Application
from idaas.events import targets
from idaas.events.models import Delivery
from idaas.events.service import enqueue
from idaas.extensions import db, utcnow
from idaas.oidc import keys
from idaas.oidc.models import OidcToken, RpSession
from idaas.oidc.principal import sid_for
from idaas.oidc.rp_sessions import rp_sessions_of

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_LIFETIME = 120
TARGET_TYPE = "oidc.backchannel"
_ENDED = "idaas_ended_sessions"
_FOUND = "idaas_logout_found"


class RpLike(Protocol):
    """What a logout token needs of an RP session."""

    @property
    def auth_session_id(self) -> int:
        """The idaas session the RP was signed in through."""

    @property
    def subject(self) -> str:
        """The subject the RP knows the person by."""


@dataclass(frozen=True)
class EndedRp:
    """An RP session that ended (its row is gone): what front-channel logout needs."""

    auth_session_id: int
    client_id: str
    subject: str
    account_id: int


def issuer() -> str:
    """Our issuer identifier."""
    return str(current_app.config["ISSUER"])


def logout_token(app: Application, rp: RpLike) -> str:
    """A logout token for one RP session (Back-Channel Logout §2.4): `events`, `sid`, no nonce."""
    now = int(time.time())  # real time: the RP checks iat/exp against its own clock
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


def _end_in_transaction(
    auth_session_ids: list[int], actor: str
) -> list[tuple[EndedRp, Application]]:
    """End the RP sessions of ended idaas sessions: revoke tokens, queue back-channel logouts."""
    found = rp_sessions_of(auth_session_ids)
    if not auth_session_ids:
        return []
    db.session.execute(
        update(OidcToken)
        .where(OidcToken.auth_session_id.in_(auth_session_ids), OidcToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    ended = []
    for row, app in found:
        rp = EndedRp(row.auth_session_id, row.client_id, row.subject, row.account_id)
        ended.append((rp, app))
        audit.record(
            actor,
            "oidc.logout",
            f"application:{app.client_id}",
            details={"session": row.auth_session_id, "account_id": row.account_id},
        )
        if app.backchannel_logout_uri:
            enqueue(
                TARGET_TYPE,
                app.client_id,
                "rp_session",
                f"{row.auth_session_id}:{app.client_id}",
                "ended",
                payload={"auth_session_id": row.auth_session_id, "subject": row.subject},
                coalesce=False,
            )
        db.session.delete(row)
    return ended


def sessions_ended(auth_session_ids: list[int], actor: str) -> list[tuple[Any, Application]]:
    """End the RPs of ended idaas sessions (back-channel queued); return them (front-channel)."""
    remembered = g.pop(_FOUND, {}) if has_app_context() else {}
    found: list[tuple[Any, Application]] = []
    for session_id in auth_session_ids:
        found.extend(remembered.get(session_id, []))
    found.extend(_end_in_transaction(auth_session_ids, actor))
    db.session.commit()
    return found


def frontchannel_urls(found: list[tuple[Any, Application]]) -> list[str]:
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
    remembered = g.get(_FOUND, {}).get(auth_session_id, []) if has_app_context() else []
    return frontchannel_urls([*remembered, *rp_sessions_of([auth_session_id])])


def end_account(account_id: int, actor: str) -> list[tuple[EndedRp, Application]]:
    """End every RP session of an account (it was disabled or left) and tell the RPs.

    The caller commits: this runs inside the directory write that disabled the account.
    """
    ids = list(
        db.session.scalars(
            select(RpSession.auth_session_id).where(RpSession.account_id == account_id).distinct()
        )
    )
    return _end_in_transaction(ids, actor) if ids else []


# -- the delivery target -----------------------------------------------------------------


def deliver(delivery: Delivery) -> None:
    """POST one logout token (Back-Channel Logout §2.5); 200/204 is success, 400 is final."""
    app = apps.find_enabled_application(delivery.target_key)
    if app is None or not app.backchannel_logout_uri:
        raise targets.PermanentFailure("the application is gone or has no back-channel URI")
    payload = delivery.payload or {}
    rp = EndedRp(int(payload["auth_session_id"]), app.client_id, str(payload["subject"]), 0)
    timeout = float(current_app.config["EVENTS_DELIVERY_TIMEOUT"])
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as http:
            response = http.post(
                str(app.backchannel_logout_uri),
                data={"logout_token": logout_token(app, rp)},
                headers={"Cache-Control": "no-store"},
            )
    except httpx.HTTPError as error:
        raise targets.TemporaryFailure(f"network error: {type(error).__name__}") from None
    status = response.status_code
    if status in (200, 204):
        audit.record(
            "system",
            "oidc.backchannel_logout",
            f"application:{app.client_id}",
            details={
                "session": rp.auth_session_id,
                "host": urlsplit(app.backchannel_logout_uri).hostname,
                "attempts": delivery.attempts,
            },
        )
        db.session.commit()
        return
    answer = response.text[:300]
    retry_after = targets.retry_after_seconds(response.headers.get("Retry-After"))
    if retry_after is not None and status in (429, 503):
        raise targets.RetryLater(retry_after, f"HTTP {status}", status=status, answer=answer)
    if status == 400:
        raise targets.PermanentFailure(f"HTTP {status}", status=status, answer=answer)
    raise targets.TemporaryFailure(f"HTTP {status}", status=status, answer=answer)


# -- hooks --------------------------------------------------------------------------------


def _on_revoked(target: Any, value: Any, old: Any, initiator: Any) -> None:
    """An AuthSession got `revoked_at`: end its RPs when this transaction commits."""
    if value is None or target.id is None:
        return
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_ENDED, set()).add(target.id)


def _before_commit(session: Session) -> None:
    """End the RP sessions of sessions revoked in this transaction, atomically with it."""
    if not session.info.get(_ENDED) or not has_app_context() or session is not db.session():
        return
    ended = session.info.pop(_ENDED)
    from idaas.auth.models import AuthSession

    confirmed = list(
        session.scalars(
            select(AuthSession.id).where(
                AuthSession.id.in_(sorted(ended)), AuthSession.revoked_at.is_not(None)
            )
        )
    )
    if not confirmed:
        return
    found = _end_in_transaction(confirmed, "system")
    remembered = g.setdefault(_FOUND, {})
    for rp, app in found:
        remembered.setdefault(rp.auth_session_id, []).append((rp, app))


def _after_rollback(session: Session) -> None:
    session.info.pop(_ENDED, None)


def _on_account_deactivated(sender: Flask, *, account_id: int, status: str, **extra: Any) -> None:
    """An account was disabled or left: its sessions ended, so tell its RPs."""
    if status != "deleted":
        end_account(account_id, str(extra.get("origin") or "system"))


def init_app(app: Flask) -> None:
    """Hook session ends (attribute event + commit), directory signals; register the target."""
    from idaas.auth import flow
    from idaas.auth.models import AuthSession
    from idaas.directory import signals

    if not event.contains(AuthSession.revoked_at, "set", _on_revoked):
        event.listen(AuthSession.revoked_at, "set", _on_revoked)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _after_rollback)
    signals.account_deactivated.connect(_on_account_deactivated)
    flow.register_logout_frames(app, frames_for_session)
    targets.register(
        targets.TargetType(
            name=TARGET_TYPE, events=frozenset(), targets=lambda event: [], deliver=deliver
        )
    )
