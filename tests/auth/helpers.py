"""Helpers shared by the sign-in tests: TOTP codes, cookies, audit rows."""

from __future__ import annotations

import base64
import time
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import select

from tests.conftest import PASSWORD


def totp_code(secret: str, offset_steps: int = 0) -> str:
    """The RFC 6238 code of a base32 secret now (or `offset_steps` periods away)."""
    totp = TOTP(base64.b32decode(secret.replace(" ", "")), 6, SHA1(), 30, enforce_key_length=False)
    return totp.generate(time.time() + 30 * offset_steps).decode()


def sid(client: Any) -> str | None:
    """The session-id cookie of a test client."""
    cookie = client.get_cookie("idaas_sid")
    return cookie.value if cookie else None


def sign_in(client: Any, identifier: str = "alice", password: str = PASSWORD, **extra: Any) -> Any:
    """POST the login form."""
    return client.post("/login", data={"identifier": identifier, "password": password, **extra})


def audit_actions(db: Any, action: str | None = None) -> list[Any]:
    """Audit rows (optionally of one action), oldest first."""
    from idaas.audit.models import AuditEvent

    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def enrol_totp(client: Any) -> str:
    """Enrol TOTP for the signed-in client; return the secret."""
    from idaas.auth import mfa
    from idaas.auth.models import AccountMfa
    from idaas.extensions import db
    from idaas.security import secretbox

    page = client.get("/portal/mfa/totp")
    assert page.status_code == 200
    row = db.session.scalars(select(AccountMfa)).first()
    db.session.refresh(row)
    secret = secretbox.decrypt(row.totp_secret)
    response = client.post("/portal/mfa/totp", data={"code": totp_code(secret)})
    assert response.status_code == 200 and b"recovery-codes" in response.data
    assert mfa.is_enrolled(row.account_id)
    return secret
