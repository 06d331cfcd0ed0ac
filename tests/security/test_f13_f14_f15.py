"""Issue 11 findings 13 (approval scopes), 14 (DingTalk state per GET /login), 15 (crypto input)."""

from __future__ import annotations

from sqlalchemy import func, select

REQUEST = {
    "name": "HR console",
    "contact": "it@hr.example.com",
    "scopes": ["directory:read"],
    "reason": "Sync new hires.",
}


def test_f13_approval_cannot_grant_more_than_was_requested(client, api_as, db, runner):
    from idaas.applications.models import ApiClient, IntegrationRequest

    reference = client.post("/api/v1/integration-requests", json=REQUEST).get_json()["reference"]
    admin = api_as("clients:admin")
    before = db.session.scalar(select(func.count()).select_from(ApiClient))
    wider = admin(
        "POST",
        f"/integration-requests/{reference}/approve",
        {"scopes": ["directory:read", "directory:write"]},
    )
    assert wider.status_code == 422
    assert "directory:write" in wider.get_data(as_text=True)
    cli = runner.invoke(
        args=["clients", "requests", "approve", reference, "--scope", "audit:read"],
    )
    assert cli.exit_code != 0
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ApiClient)) == before
    assert db.session.scalar(select(IntegrationRequest.status)) == "pending"
    exact = admin("POST", f"/integration-requests/{reference}/approve", {})
    assert exact.status_code == 200
    assert exact.get_json()["client"]["scopes"] == ["directory:read"]
    db.session.rollback()
    from tests.conftest import LeakGuard  # noqa: F401  (the secret is checked by the fixture)


def test_f14_login_page_reuses_a_browsers_embedded_state(make_app, sandbox, leak_guard):
    from idaas.dingtalk.models import DingTalkSingleUse
    from idaas.extensions import db
    from tests.dingtalk_login.support import configure, sandbox_config

    app = make_app(
        DINGTALK_LOGIN_SCRIPT_URL=f"{sandbox.url}/dingding/h5-dingtalk-login/0.21.0/ddlogin.js",
        LOGIN_STATE_RATE_LIMIT_IP="3/minute",
        **sandbox_config(sandbox),
    )
    with app.app_context():
        configure(sandbox, leak_guard, embedded_qr=True)
        browser = app.test_client()
        pages = [browser.get("/login").get_data(as_text=True) for _ in range(5)]
        assert all('id="dt-qr-dingtalk"' in page for page in pages)

        def rows():
            db.session.rollback()
            return db.session.scalar(
                select(func.count())
                .select_from(DingTalkSingleUse)
                .where(DingTalkSingleUse.kind == "state")
            )

        assert rows() == 1  # one browser, one state
        for _ in range(6):  # a client without cookies: bounded per IP
            app.test_client(use_cookies=False).get("/login")
        assert rows() == 3
        cookieless = app.test_client(use_cookies=False).get("/login").get_data(as_text=True)
        assert 'id="dt-qr-dingtalk"' not in cookieless and cookieless  # still a login page


def test_f15_crafted_timestamps_are_refused_before_any_arithmetic():
    import pytest

    from idaas.dingtalk.crypto import (
        CallbackCrypto,
        CallbackVerifier,
        StaleTimestamp,
        generate_aes_key,
    )

    verifier = CallbackVerifier(CallbackCrypto("tok123", generate_aes_key(), "dingapp"))
    for timestamp in ("²", "1" * 5000, "١٢٣", "12345678901234", " 1700000000", "-1"):
        query = {"msg_signature": "0" * 40, "timestamp": timestamp, "nonce": "n1"}
        with pytest.raises(StaleTimestamp):
            verifier.open(query, {"encrypt": "x"})
