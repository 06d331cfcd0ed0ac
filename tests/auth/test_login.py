"""Password sign-in: identifiers, uninformative failures, CSRF, `next`, lockout, throttling."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.auth.helpers import audit_actions, sid, sign_in
from tests.conftest import PASSWORD


@pytest.mark.parametrize(
    "identifier", ["alice", "ALICE", " Alice@Example.com ", "+86 138-0013-8000", "138 0013 8000"]
)
def test_sign_in_with_each_identifier_form(client, account, db, identifier):
    response = sign_in(client, identifier)
    assert response.status_code == 302
    assert response.location.endswith("/portal/")
    assert client.get("/portal/").status_code == 200
    success = audit_actions(db, "auth.login")[-1]
    assert success.outcome == "success" and success.target_id == str(account.id)


def test_login_page_lists_the_password_source_and_is_translated(client):
    zh = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 200 and "登录".encode() in zh.data
    en = client.get("/login", headers={"Accept-Language": "en"})
    assert b"Sign in" in en.data and b'name="identifier"' in en.data


def test_wrong_password_and_unknown_account_look_the_same(client, account, db):
    wrong = sign_in(client, "alice", "Wrong-Password-1")
    unknown = sign_in(client, "nobody", "Wrong-Password-1")
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.data.replace(b"alice", b"X") == unknown.data.replace(b"nobody", b"X")
    reasons = [row.details["reason"] for row in audit_actions(db, "auth.login")]
    assert reasons == ["bad_password", "unknown_account"]


def test_unknown_account_costs_a_real_hash_verification(make_app, account):
    """With production argon2 parameters, unknown and wrong take similar time (dummy hash)."""
    app = make_app(ARGON2_MEMORY_COST=19456, ARGON2_TIME_COST=2)
    with app.app_context():
        from idaas.directory import service
        from idaas.extensions import db

        service.set_password(
            "system",
            service.find_by_identifier("alice").id,
            "Another-Horse-43",
            enforce_policy=False,
        )
        db.session.remove()
    client = app.test_client()

    def timed(identifier):
        start = time.perf_counter()
        client.post("/login", data={"identifier": identifier, "password": "Wrong-Password-1"})
        return time.perf_counter() - start

    timed("nobody")  # warm up (the dummy hash is computed once)
    wrong = statistics.median(timed("alice") for _ in range(3))
    unknown = statistics.median(timed("nobody") for _ in range(3))
    assert unknown > 0.5 * wrong and wrong > 0.5 * unknown, (wrong, unknown)


def test_disabled_account_gets_the_generic_message(client, account, db):
    from idaas.directory import service

    service.set_status("system", account.id, "disabled")
    response = sign_in(client)
    assert (
        b"The account or password is incorrect." in response.data
        or "不正确".encode() in response.data
    )
    assert audit_actions(db, "auth.login")[-1].details["reason"] == "account_disabled"


def test_post_without_csrf_token_is_refused(make_app, account):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert (
        client.post("/login", data={"identifier": "alice", "password": PASSWORD}).status_code == 400
    )
    assert client.post("/logout").status_code == 400
    page = client.get("/login")
    assert b'name="csrf_token"' in page.data


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "http:evil.example",
        "///evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "oidc:../x",
    ],
)
def test_off_site_next_never_leaves_the_site(client, account, target):
    response = sign_in(client, next=target)
    assert response.status_code == 302
    assert response.location == "/portal/"
    again = client.get("/login", query_string={"next": target})
    assert again.status_code == 302 and again.location == "/portal/"


def test_same_origin_next_is_resumed(client, account):
    response = sign_in(client, next="/portal/sessions?tab=1")
    assert response.location == "/portal/sessions?tab=1"


def test_pending_request_next_is_resumed_by_its_module(app, client, account):
    from idaas.auth import flow

    flow.register_resume_handler(app, "oidc", lambda request_id: f"/oauth2/authorize/{request_id}")
    response = sign_in(client, next="oidc:abc123")
    assert response.location == "/oauth2/authorize/abc123"


def test_login_redirects_to_login_with_next_and_back(client, account):
    response = client.get("/portal/sessions")
    assert response.status_code == 302 and response.location.startswith("/login?next=")
    assert sign_in(client, next="/portal/sessions").location == "/portal/sessions"


def test_root_redirects_by_sign_in_state(client, account):
    assert client.get("/").location == "/login"
    sign_in(client)
    assert client.get("/").location == "/portal/"


def test_lockout_after_threshold_same_message_and_unlock(client, account, db, runner):
    for _ in range(5):
        sign_in(client, password="Wrong-Password-1")
    wrong = sign_in(client, password="Wrong-Password-1")
    locked = sign_in(client)  # the right password learns about the lock (issue 17)
    assert wrong.status_code == locked.status_code == 200
    locked_text = "已被锁定".encode()
    assert locked_text in locked.data and locked_text not in wrong.data
    assert sid(client) is None
    lock_rows = audit_actions(db, "auth.lockout")
    assert len(lock_rows) == 1 and lock_rows[0].outcome == "denied"
    assert audit_actions(db, "auth.login")[-1].details["reason"] == "locked"

    result = runner.invoke(args=["accounts", "unlock", "alice"])
    assert result.exit_code == 0, result.output
    assert "unlocked" in result.output
    assert audit_actions(db, "auth.unlock")
    assert sign_in(client).location == "/portal/"


def test_lockout_expires(client, account, db):
    from datetime import timedelta

    from idaas.auth.models import AccountLockout

    for _ in range(5):
        sign_in(client, password="Wrong-Password-1")
    row = db.session.get(AccountLockout, account.id)
    row.locked_until -= timedelta(minutes=16)
    db.session.commit()
    assert sign_in(client).location == "/portal/"


def test_throttled_per_ip(make_app, account):
    app = make_app(LOGIN_RATE_LIMIT_IP="3/minute", LOCKOUT_THRESHOLD=0)
    client = app.test_client()
    statuses = [
        client.post("/login", data={"identifier": f"user{i}", "password": "x"}).status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    with app.app_context():
        from idaas.extensions import db

        assert audit_actions(db, "auth.login")[-1].details["reason"] == "throttled_ip"


def test_throttled_per_account_and_ip(make_app, account):
    app = make_app(LOGIN_RATE_LIMIT_ACCOUNT="2/minute", LOCKOUT_THRESHOLD=0)
    client = app.test_client()
    codes = [
        client.post(
            "/login",
            data={"identifier": "alice", "password": "x"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]  # across IPs the lockout protects the account


def test_throttle_counters_do_not_reveal_which_identifiers_share_an_account(make_app, account):
    app = make_app(LOGIN_RATE_LIMIT_ACCOUNT="2/minute", LOCKOUT_THRESHOLD=0)
    client = app.test_client()

    def attempt(identifier):
        return client.post("/login", data={"identifier": identifier, "password": "x"}).status_code

    assert [attempt("alice"), attempt("alice")] == [200, 200]
    # another identifier of the same account behaves like an unknown one
    assert attempt("alice@example.com") == attempt("nobody") == 200
    assert attempt(" ALICE ") == 429
