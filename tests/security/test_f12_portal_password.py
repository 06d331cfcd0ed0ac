"""Issue 11 finding 12: the portal's password change follows the lockout."""

from __future__ import annotations

from tests.conftest import PASSWORD

NEW = "Brand-New-Pass-91"


def _change(http, current):
    return http.post(
        "/portal/password",
        data={"current_password": current, "new_password": NEW, "confirm": NEW},
    )


def test_f12_guessing_the_current_password_locks_and_ends_the_session(logged_in, account, db):
    from idaas.auth.models import AccountLockout

    for _ in range(4):
        assert _change(logged_in, "Wrong-Guess-1").status_code == 200
    locking = _change(logged_in, "Wrong-Guess-1")
    assert locking.status_code == 302 and locking.location == "/login"
    assert logged_in.get("/portal/").status_code == 302  # the guessing session ended
    row = db.session.get(AccountLockout, account.id)
    db.session.refresh(row)
    assert row.locked_until is not None


def test_f12_a_locked_account_cannot_change_its_password(make_app, account):
    app = make_app()
    holder, attacker = app.test_client(), app.test_client()
    with app.app_context():
        holder.post("/login", data={"identifier": "alice", "password": PASSWORD})
        for _ in range(5):
            attacker.post("/login", data={"identifier": "alice", "password": "Wrong-Guess-1"})
        refused = _change(holder, PASSWORD)  # even the right password: locked
        assert refused.status_code == 200
        assert "已被锁定" in refused.get_data(as_text=True)
        from idaas.directory.models import Account
        from idaas.extensions import db
        from idaas.security.passwords import verify_password

        stored = db.session.get(Account, account.id)
        db.session.refresh(stored)
        assert verify_password(stored.password_hash, PASSWORD)[0]  # unchanged
