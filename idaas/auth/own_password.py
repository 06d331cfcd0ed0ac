"""A signed-in person changing their own password: under the lockout like any sign-in.

The current password is a credential check, so it follows the lockout (issue 11 finding 12):
a locked account is refused before verifying, every wrong password counts, and the failure
that locks the account ends the session that made it (a stolen session cannot keep guessing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from idaas import audit
from idaas.auth import lockout, sessions
from idaas.auth.models import AuthSession
from idaas.directory import service as directory
from idaas.directory.models import Account
from idaas.extensions import db
from idaas.security.passwords import verify_password


@dataclass
class Outcome:
    """`changed`, `wrong` (current password), `locked` (refused) or `locked_now` (session ended)."""

    result: str
    locked_until: datetime | None = None


def change(account: Account, row: AuthSession | None, current: str, new: str) -> Outcome:
    """Check the current password under the lockout, then set the new one (committed).

    Raises `DirectoryError` when the new password breaks the policy (nothing changed).
    """
    actor = f"user:{account.id}"
    until = lockout.locked_until(account.id)
    if until is not None:
        _failed(actor, account.id, "locked")
        db.session.commit()
        return Outcome("locked", until)
    ok, _ = verify_password(account.password_hash, current)
    if not ok:
        _failed(actor, account.id, "bad_current_password")
        if lockout.register_failure(account.id, actor):
            if row is not None:
                sessions.revoke(row, "locked", actor)
            db.session.commit()
            return Outcome("locked_now", lockout.locked_until(account.id))
        db.session.commit()
        return Outcome("wrong")
    lockout.clear_failures(account.id)
    directory.set_password(actor, account.id, new)  # commits; other sessions end
    return Outcome("changed")


def _failed(actor: str, account_id: int, reason: str) -> None:
    audit.record(
        actor,
        "auth.password.change",
        f"account:{account_id}",
        outcome="failure",
        details={"reason": reason},
    )
