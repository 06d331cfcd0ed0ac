"""Pruning of OIDC rows no one can use any more, and the scheduled key rotation.

Each function commits its own work and returns how many rows it deleted (or what it rotated);
`idaas.events.housekeeping` runs them as steps of its scheduled jobs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select

from idaas.auth.models import AuthSession
from idaas.extensions import db
from idaas.oidc import keys
from idaas.oidc.models import AuthorizationCode, OidcToken, RpSession, SigningKey


def _delete(statement: Any) -> int:
    result: Any = db.session.execute(statement, execution_options={"synchronize_session": False})
    db.session.commit()
    return int(result.rowcount or 0)


def prune_codes(cutoff: datetime) -> int:
    """Delete authorization codes that expired before `cutoff`."""
    return _delete(delete(AuthorizationCode).where(AuthorizationCode.expires_at < cutoff))


def prune_tokens(cutoff: datetime) -> int:
    """Delete token rows whose refresh token (or, without one, access token) expired."""
    expired = or_(
        and_(OidcToken.refresh_expires_at.is_(None), OidcToken.access_expires_at < cutoff),
        OidcToken.refresh_expires_at < cutoff,
    )
    return _delete(delete(OidcToken).where(expired))


def prune_rp_sessions() -> int:
    """Delete RP sessions whose sign-in session is gone."""
    orphaned = ~RpSession.auth_session_id.in_(select(AuthSession.id))
    return _delete(delete(RpSession).where(orphaned))


def rotate_signing_keys() -> dict[str, list[str] | int]:
    """Start a rotation of every algorithm in use that has none pending; expire unneeded keys."""
    in_use = set(db.session.scalars(select(SigningKey.alg).where(SigningKey.status == "active")))
    pending = set(db.session.scalars(select(SigningKey.alg).where(SigningKey.status == "next")))
    rotated = sorted(in_use - pending)
    for alg in rotated:
        keys.rotate("system", alg)
    return {"rotated": rotated, "expired": keys.expire_retired()}
