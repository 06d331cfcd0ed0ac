"""Two admins saving the sign-in policy at once from the same version: one wins, the other is
told it changed meanwhile; never two audit rows for one version, never a lost update."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.auth.helpers import audit_actions


@pytest.mark.parametrize("first_save", [False, True], ids=["insert", "update"])
def test_concurrent_saves_at_one_version(app: Any, db: Any, first_save: bool) -> None:
    from idaas.security import signin_policy

    if first_save:
        signin_policy.update("admin:0", {"password_history": 3}, 0)
    version = signin_policy.effective().version
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(threshold: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                signin_policy.update(
                    f"admin:{threshold}", {"lockout_threshold": threshold}, version
                )
            except signin_policy.SignInPolicyError as error:
                assert error.conflict
                outcomes.append("conflict")
            else:
                outcomes.append("saved")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=(n,)) for n in (3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["conflict", "saved"]
    db.session.expire_all()
    policy = signin_policy.effective()
    assert policy.version == version + 1
    (row,) = [
        r
        for r in audit_actions(db, "settings.signin_policy.updated")
        if "lockout_threshold" in r.details["after"]
    ]
    assert row.actor == f"admin:{policy.lockout_threshold}"
