"""Issue 11 findings 1 (MFA guessing), 2 (per-IP limits behind a proxy); issue 17 lock message."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.auth.helpers import audit_actions, enrol_totp, sid, sign_in, totp_code
from tests.conftest import PASSWORD


def _enrolled(client):
    secret = enrol_totp(client)
    client.post("/logout")
    return secret


def test_f01_mfa_failures_survive_a_password_sign_in(logged_in, account, db):
    secret = _enrolled(logged_in)
    # Before the fix each password sign-in reset the count: 2 guesses per sign-in, forever.
    for _ in range(2):
        assert sign_in(logged_in).location == "/login/mfa"
        assert logged_in.post("/login/mfa", data={"code": "000000"}).status_code == 200
        assert logged_in.post("/login/mfa", data={"code": "abcde-12345"}).status_code == 200
    assert sign_in(logged_in).location == "/login/mfa"
    locking = logged_in.post("/login/mfa", data={"code": "111111"})
    assert locking.location == "/login"
    locks = audit_actions(db, "auth.lockout")
    assert len(locks) == 1 and locks[0].details["factor"] == "mfa"
    # Locked: the right password and a right code get nowhere.
    sign_in(logged_in)
    assert logged_in.post("/login/mfa", data={"code": totp_code(secret, 1)}).location != "/portal/"
    assert logged_in.get("/portal/").status_code == 302


def test_f01_locking_ends_pending_sign_ins_and_the_lock_is_checked_first(make_app, account):
    app = make_app()
    first, attacker = app.test_client(), app.test_client()
    with app.app_context():
        sign_in(first)
        secret = enrol_totp(first)
        first.post("/logout")
    assert sign_in(first).location == "/login/mfa"  # a pending sign-in waiting for its code
    for _ in range(5):
        sign_in(attacker, password="Wrong-Password-1")  # the account locks
    response = first.post("/login/mfa", data={"code": totp_code(secret, 1)})
    assert response.location == "/login"
    assert first.get("/portal/").status_code == 302
    with app.app_context():
        from idaas.auth.models import AuthSession
        from idaas.extensions import db

        rows = list(db.session.scalars(db.select(AuthSession).where(AuthSession.state == "mfa")))
        assert rows and all(row.revoked_reason == "locked" for row in rows)


def test_f01_mfa_step_is_rate_limited_per_account(make_app, account):
    app = make_app(MFA_RATE_LIMIT_ACCOUNT="3/minute", LOCKOUT_THRESHOLD=0)
    client = app.test_client()
    with app.app_context():
        sign_in(client)
        enrol_totp(client)
        client.post("/logout")
    sign_in(client)
    statuses = [client.post("/login/mfa", data={"code": "000000"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_f01_a_lock_ends_and_resets_the_mfa_count(logged_in, account, db):
    from idaas.auth.models import AccountLockout

    secret = _enrolled(logged_in)
    sign_in(logged_in)
    for _ in range(5):
        logged_in.post("/login/mfa", data={"code": "000000"})
    row = db.session.get(AccountLockout, account.id)
    db.session.refresh(row)
    assert row.locked_until is not None and row.mfa_failures == 5
    # The clock moves past the lock (the stored timestamps go back 16 minutes).
    row.locked_until -= timedelta(minutes=16)
    row.mfa_last_failure_at -= timedelta(minutes=16)
    db.session.commit()
    assert sign_in(logged_in).location == "/login/mfa"
    assert logged_in.post("/login/mfa", data={"code": totp_code(secret, 1)}).location == "/portal/"


def test_i17_locked_account_is_told_only_with_the_right_password(client, account, db):
    for _ in range(5):
        sign_in(client, password="Wrong-Password-1")
    right = sign_in(client)
    wrong = sign_in(client, password="Wrong-Password-1")
    unknown = sign_in(client, identifier="nobody", password="Wrong-Password-1")
    assert sid(client) is None
    text = right.get_data(as_text=True)
    assert "已被锁定" in text and "15 分钟" in text and "管理员" in text
    assert "锁定" not in wrong.get_data(as_text=True)
    english = client.post(
        "/login",
        data={"identifier": "alice", "password": PASSWORD},
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert "locked" in english and "15 minute" in english and "administrator" in english
    same = wrong.get_data(as_text=True).replace('value="alice"', 'value="nobody"')
    assert same == unknown.get_data(as_text=True)


def test_f02_proxy_fix_keys_per_ip_limits_on_the_forwarded_client(make_app, account):
    app = make_app(TRUSTED_PROXY_HOPS=1, LOGIN_RATE_LIMIT_IP="2/minute", LOCKOUT_THRESHOLD=0)
    client = app.test_client()

    def attempt(ip):
        headers = {"X-Forwarded-For": ip, "X-Forwarded-Proto": "https"}
        data = {"identifier": "someone", "password": "x"}
        return client.post("/login", data=data, headers=headers).status_code

    assert [attempt("203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert attempt("198.51.100.9") == 200  # another client behind the same proxy
    response = client.post(
        "/login",
        data={"identifier": "alice", "password": PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.44"},
    )
    assert response.status_code == 302
    with app.app_context():
        from idaas.auth.models import AuthSession
        from idaas.extensions import db

        assert db.session.scalars(db.select(AuthSession.ip)).one() == "192.0.2.44"


def test_f02_forwarded_headers_are_ignored_without_trusted_proxies(make_app, account):
    app = make_app(LOGIN_RATE_LIMIT_IP="2/minute", LOCKOUT_THRESHOLD=0)
    client = app.test_client()
    statuses = [
        client.post(
            "/login",
            data={"identifier": "someone", "password": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        ).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]  # a client cannot spoof its way out of the limit


def test_f02_identifier_throttle_is_per_client_ip(make_app, account):
    app = make_app(LOGIN_RATE_LIMIT_ACCOUNT="2/minute", LOCKOUT_THRESHOLD=0)
    client = app.test_client()

    def attempt(ip):
        data = {"identifier": "alice", "password": "x"}
        return client.post("/login", data=data, environ_base={"REMOTE_ADDR": ip}).status_code

    assert [attempt("10.0.0.1") for _ in range(3)] == [200, 200, 429]
    assert attempt("10.0.0.2") == 200  # the attacker does not lock alice out everywhere


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRUSTED_PROXY_HOPS", "two"),
        ("TRUSTED_PROXY_HOPS", -1),
        ("REFRESH_TOKEN_REUSE_GRACE_SECONDS", "x"),
        ("MAX_CONTENT_LENGTH", 10),
        ("MFA_RATE_LIMIT_ACCOUNT", "often"),
        ("KEY_PUBLISH_SECONDS", 0.5),
    ],
)
def test_security_settings_are_validated(tmp_path, name, value):
    from idaas.config import ConfigError, finalise, load_settings

    with pytest.raises(ConfigError, match=f"IDAAS_{name}"):
        finalise(load_settings(tmp_path, {name: value}), tmp_path)
