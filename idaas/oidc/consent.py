"""Authorization decisions and remembered consent, audited (never with a token value)."""

from __future__ import annotations

from sqlalchemy import select, update

from idaas import audit
from idaas.applications import apps
from idaas.applications.models import Application
from idaas.directory.models import Account
from idaas.extensions import db, utcnow
from idaas.oidc.models import Consent, OidcToken


def record_decision(
    app: Application,
    account: Account | None,
    granted: bool,
    reason: str,
    scope: str = "",
    *,
    commit: bool = True,
) -> None:
    """Audit an authorization granted or denied (with the policy reason)."""
    actor = f"user:{account.id}" if account else "anonymous"
    audit.record(
        actor,
        "oidc.authorization_granted" if granted else "oidc.authorization_denied",
        f"application:{app.client_id}",
        outcome="success" if granted else "failure",
        details={"reason": reason, "scope": scope},
    )
    if commit:
        db.session.commit()


def has_consent(account_id: int, client_id: str, scopes: list[str]) -> bool:
    """Whether the person already granted these scopes to this app (remembered consent)."""
    row = db.session.scalar(
        select(Consent).where(Consent.account_id == account_id, Consent.client_id == client_id)
    )
    return row is not None and set(scopes) <= set(row.scopes or [])


def grant_consent(account_id: int, client_id: str, scopes: list[str]) -> None:
    """Remember consent to `scopes` (merged with earlier ones); audited."""
    row = db.session.scalar(
        select(Consent).where(Consent.account_id == account_id, Consent.client_id == client_id)
    )
    if row is None:
        row = Consent(account_id=account_id, client_id=client_id, scopes=[])
        db.session.add(row)
    row.scopes = sorted(set(row.scopes or []) | set(scopes))
    row.granted_at = utcnow()
    audit.record(
        f"user:{account_id}",
        "oidc.consent_granted",
        f"application:{client_id}",
        details={"scopes": row.scopes},
    )
    db.session.commit()


def consents_of(account_id: int) -> list[tuple[Consent, Application | None]]:
    """The person's remembered consents with their applications."""
    rows = db.session.scalars(select(Consent).where(Consent.account_id == account_id))
    return [(row, apps.find_enabled_application(row.client_id)) for row in rows]


def revoke_consent(account_id: int, client_id: str) -> bool:
    """Forget consent for an app and revoke the tokens it holds for the person; audited."""
    row = db.session.scalar(
        select(Consent).where(Consent.account_id == account_id, Consent.client_id == client_id)
    )
    if row is None:
        return False
    db.session.delete(row)
    db.session.execute(
        update(OidcToken)
        .where(
            OidcToken.account_id == account_id,
            OidcToken.client_id == client_id,
            OidcToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    audit.record(f"user:{account_id}", "oidc.consent_revoked", f"application:{client_id}")
    db.session.commit()
    return True
