"""Admin operations that the auth module has only as caller-commits helpers; these commit."""

from __future__ import annotations

from idaas.auth import sessions
from idaas.directory import service
from idaas.directory.bootstrap import generate_password
from idaas.extensions import db


def revoke_session(origin: str, account_id: int, session_id: int) -> bool:
    """End one session of an account (audited with `origin` as actor); False if not theirs."""
    row = sessions.get_session(session_id)
    if row is None or row.account_id != account_id:
        return False
    sessions.revoke(row, "admin_revoked", origin)
    db.session.commit()
    return True


def reset_password(origin: str, account_id: int) -> str:
    """Give the account a generated one-time password it must change at next sign-in."""
    password = generate_password()
    service.set_password(origin, account_id, password, must_change=True, enforce_policy=False)
    sessions.revoke_all(account_id, "admin_password_reset", origin)
    return password


def record_denied(actor: str, endpoint: str, method: str) -> None:
    """Audit (and commit) a refused console action: who tried what."""
    from idaas import audit

    audit.record(
        actor, "admin.denied", outcome="denied", details={"endpoint": endpoint, "method": method}
    )
    db.session.commit()


def assign_subaccount(origin: str, client_id: str, account_id: int, username: str) -> None:
    """An admin sets a person's username in an association-mode app: proposed and approved."""
    from idaas.applications import apps

    row = apps.propose_subaccount(origin, client_id, account_id, username)
    apps.decide_subaccount(origin, row.id, approve=True)
