"""The relying parties a person signed in to through each idaas session (for logout)."""

from __future__ import annotations

from sqlalchemy import select, update

from idaas import audit
from idaas.applications import apps
from idaas.applications.models import Application
from idaas.extensions import db, utcnow
from idaas.oidc.models import OidcToken, RpSession


def rp_sessions_of(auth_session_ids: list[int]) -> list[tuple[RpSession, Application]]:
    """The relying parties signed in through these idaas sessions."""
    if not auth_session_ids:
        return []
    rows = db.session.scalars(
        select(RpSession).where(RpSession.auth_session_id.in_(auth_session_ids))
    )
    found = []
    for row in rows:
        app = apps.find_enabled_application(row.client_id)
        if app is not None:
            found.append((row, app))
    return found


def end_rp_sessions(auth_session_ids: list[int], actor: str) -> list[tuple[RpSession, Application]]:
    """Forget the RP sessions of ended idaas sessions, revoke their tokens; return them."""
    found = rp_sessions_of(auth_session_ids)
    if not auth_session_ids:
        return found
    db.session.execute(
        update(OidcToken)
        .where(OidcToken.auth_session_id.in_(auth_session_ids), OidcToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    for row, app in found:
        audit.record(
            actor,
            "oidc.logout",
            f"application:{app.client_id}",
            details={"session": row.auth_session_id, "account_id": row.account_id},
        )
        db.session.delete(row)
    db.session.commit()
    return found
