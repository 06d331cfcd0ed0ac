"""Refresh-token rotation (RFC 9700 §4.14.2): a conditional UPDATE claims the token once.

Every refresh token works once. The redemption that wins the conditional UPDATE (`rotated_at`
was NULL, the family not revoked; one row changed) issues the new pair and stores it, encrypted,
on the old row. The same client re-presenting the old token within
REFRESH_TOKEN_REUSE_GRACE_SECONDS (parallel page loads of a relying party that refreshes
without locking, e.g. mod_auth_openidc) gets that same new pair back: one chain, no revocation.
After the grace period a re-presentation is reuse and revokes the whole family.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from idaas import audit
from idaas.extensions import db, utcnow
from idaas.oidc.models import OidcToken
from idaas.oidc.tokens import digest, revoke_family
from idaas.security import secretbox

POLL_SECONDS = 0.05


def grace() -> timedelta:
    """How long a concurrent re-presentation of a just-rotated token is not reuse."""
    return timedelta(seconds=int(current_app.config["REFRESH_TOKEN_REUSE_GRACE_SECONDS"]))


def find(refresh_token: str, client: Any) -> OidcToken | None:
    """The row of a refresh token this client may redeem (or replay within the grace period).

    A rotated token outside the grace period revokes its family (audited, committed).
    """
    row = db.session.scalar(
        select(OidcToken).where(OidcToken.refresh_hash == digest(refresh_token))
    )
    if row is None or row.revoked_at is not None or row.client_id != client.client_id:
        return None
    if row.client_generation is not None and row.client_generation != client.token_generation:
        return None  # issued before the application was disabled (finding 4)
    if row.rotated_at is not None:
        if utcnow() - row.rotated_at <= grace():
            return row
        reuse_detected(row)
        return None
    if row.refresh_expires_at is None or utcnow() >= row.refresh_expires_at:
        return None
    return row


def reuse_detected(row: OidcToken) -> None:
    """A rotated refresh token came back: revoke the family (RFC 9700 §4.14.2); committed."""
    revoke_family(row.family)
    audit.record(
        f"app:{row.client_id}",
        "oidc.refresh_reuse_detected",
        f"account:{row.account_id}",
        outcome="failure",
        details={"family": row.family},
    )
    db.session.commit()


def claim(row: OidcToken) -> bool:
    """Mark the token rotated if nobody did yet; True for the one redemption that wins."""
    statement = (
        update(OidcToken)
        .where(
            OidcToken.id == row.id,
            OidcToken.rotated_at.is_(None),
            OidcToken.revoked_at.is_(None),
        )
        .values(rotated_at=utcnow())
    )
    try:
        result = db.session.execute(statement)
    except OperationalError:  # SQLite: a concurrent writer committed after our snapshot
        db.session.rollback()
        return False
    return bool(result.rowcount)  # type: ignore[attr-defined]


def remember_successor(row_id: int, body: dict[str, Any]) -> None:
    """Keep the new token response (encrypted) for concurrent re-presentations; no commit."""
    kept: dict[str, Any] = {
        key: body[key] for key in ("access_token", "refresh_token", "id_token") if key in body
    }
    kept.update(token_type=body.get("token_type", "Bearer"), scope=body.get("scope", ""))
    kept["expires_at"] = int(time.time()) + int(body.get("expires_in", 0))
    db.session.execute(
        update(OidcToken)
        .where(OidcToken.id == row_id)
        .values(successor_encrypted=secretbox.encrypt(json.dumps(kept)))
    )


def successor(row_id: int) -> dict[str, Any] | None:
    """The pair that replaced a token rotated moments ago, waiting for its winner to commit.

    None when the family was revoked, the grace period is over, or the winning redemption
    failed (it never stored a successor).
    """
    deadline = time.monotonic() + max(grace().total_seconds(), 1.0)
    while True:
        db.session.rollback()  # a fresh snapshot: see the winner's commit
        found = db.session.execute(
            select(OidcToken.successor_encrypted, OidcToken.rotated_at, OidcToken.revoked_at).where(
                OidcToken.id == row_id
            )
        ).one_or_none()
        if found is None or found.revoked_at is not None:
            return None
        if found.successor_encrypted:
            if found.rotated_at is None or utcnow() - found.rotated_at > grace():
                return None
            kept = json.loads(secretbox.decrypt(found.successor_encrypted))
            kept["expires_in"] = max(int(kept.pop("expires_at")) - int(time.time()), 0)
            return dict(kept)
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_SECONDS)
