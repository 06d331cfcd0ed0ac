"""TOTP enrolment and verification, recovery codes, remembered devices, required MFA."""

from __future__ import annotations

from tests.auth.helpers import audit_actions, enrol_totp, sid, sign_in, totp_code


def test_enrol_then_sign_in_needs_a_code(logged_in, account, db):
    secret = enrol_totp(logged_in)
    assert [r.outcome for r in audit_actions(db, "auth.mfa.enrol")] == ["success"]
    logged_in.post("/logout")

    first = sign_in(logged_in)
    assert first.location == "/login/mfa"
    partial = sid(logged_in)
    assert logged_in.get("/portal/").location == "/login/mfa"  # not signed in yet
    wrong = logged_in.post("/login/mfa", data={"code": "000000"})
    assert wrong.status_code == 200
    done = logged_in.post("/login/mfa", data={"code": totp_code(secret, 1)})
    assert done.location == "/portal/"
    assert sid(logged_in) != partial  # rotated on the privilege change
    assert logged_in.get("/portal/").status_code == 200
    outcomes = [r.outcome for r in audit_actions(db, "auth.mfa.verify")]
    assert outcomes == ["failure", "success"]
    from idaas.auth.models import AuthSession

    row = db.session.scalars(db.select(AuthSession).where(AuthSession.revoked_at.is_(None))).one()
    assert row.acr == "mfa" and row.methods == ["pwd", "otp"]


def test_totp_secret_is_encrypted_at_rest(logged_in, db):
    from idaas.auth.models import AccountMfa

    secret = enrol_totp(logged_in)
    row = db.session.scalars(db.select(AccountMfa)).one()
    assert secret not in row.totp_secret


def test_a_code_is_accepted_once(logged_in, db):
    secret = enrol_totp(logged_in)
    code = totp_code(secret, 1)
    logged_in.post("/logout")
    sign_in(logged_in)
    assert logged_in.post("/login/mfa", data={"code": code}).location == "/portal/"
    logged_in.post("/logout")
    sign_in(logged_in)
    assert logged_in.post("/login/mfa", data={"code": code}).status_code == 200  # replay


def test_recovery_code_works_once(logged_in, db):
    enrol_totp(logged_in)
    codes = logged_in.post("/portal/mfa/recovery-codes").get_data(as_text=True)
    import re

    code = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", codes)[0]
    logged_in.post("/logout")
    sign_in(logged_in)
    assert logged_in.post("/login/mfa", data={"code": code.upper()}).location == "/portal/"
    logged_in.post("/logout")
    sign_in(logged_in)
    assert logged_in.post("/login/mfa", data={"code": code}).status_code == 200
    assert logged_in.get("/portal/").location == "/login/mfa"
    assert [r.details.get("method") for r in audit_actions(db, "auth.mfa.verify")] == [
        "recovery",
        None,
    ]


def test_remember_device_is_off_by_default_and_skips_mfa_when_chosen(logged_in, db):
    secret = enrol_totp(logged_in)
    logged_in.post("/logout")
    sign_in(logged_in)
    page = logged_in.get("/login/mfa").get_data(as_text=True)
    assert 'name="remember"' in page and "checked" not in page
    response = logged_in.post("/login/mfa", data={"code": totp_code(secret, 1), "remember": "y"})
    assert "idaas_device=" in " ".join(response.headers.getlist("Set-Cookie"))
    logged_in.post("/logout")
    assert sign_in(logged_in).location == "/portal/"


def test_required_mfa_forces_enrolment(logged_in, account, db, runner):
    logged_in.post("/logout")
    assert runner.invoke(args=["accounts", "require-mfa", "alice"]).exit_code == 0
    assert sign_in(logged_in).location == "/login/mfa/enrol"
    assert logged_in.get("/portal/").location == "/login/mfa/enrol"
    page = logged_in.get("/login/mfa/enrol").get_data(as_text=True)
    assert "data:image/svg+xml" in page
    from idaas.auth.models import AccountMfa
    from idaas.security import secretbox

    row = db.session.get(AccountMfa, account.id)
    db.session.refresh(row)
    secret = secretbox.decrypt(row.totp_secret)
    response = logged_in.post("/login/mfa/enrol", data={"code": totp_code(secret)})
    assert response.status_code == 200 and b"recovery-codes" in response.data
    assert logged_in.get("/portal/").status_code == 200


def test_global_mfa_requirement(make_app, account):
    app = make_app(MFA_REQUIRED=True)
    client = app.test_client()
    assert sign_in(client).location == "/login/mfa/enrol"


def test_too_many_wrong_codes_lock_and_end_the_partial_session(logged_in, db):
    enrol_totp(logged_in)
    logged_in.post("/logout")
    sign_in(logged_in)
    for _ in range(4):
        assert logged_in.post("/login/mfa", data={"code": "000000"}).status_code == 200
    last = logged_in.post("/login/mfa", data={"code": "000000"})
    assert last.location == "/login"
    assert audit_actions(db, "auth.lockout")


def test_turn_off_mfa(logged_in, db):
    enrol_totp(logged_in)
    response = logged_in.post("/portal/mfa/disable")
    assert response.status_code == 302
    assert audit_actions(db, "auth.mfa.disabled")
    logged_in.post("/logout")
    assert sign_in(logged_in).location == "/portal/"
