"""QR sign-in (dingtalk-api.md §2): binding, second sign-in, outsiders, state, both generations."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tests.conftest import PASSWORD
from tests.dingtalk_login.support import (
    QR,
    audit_rows,
    configure,
    confirm_in_sandbox,
    links_of,
    make_local,
    people,
    qr_callback,
    qr_start,
    state_of,
)


def _bind(client, identifier, password):
    return client.post("/login/bind", data={"identifier": identifier, "password": password})


def test_login_page_shows_dingtalk_button(dt_client):
    page = dt_client.get("/login").get_data(as_text=True)
    assert "/login/dingtalk/dingtalk" in page and "使用钉钉登录" in page
    assert "/login/dingtalk/dingtalk-app" not in page  # the micro-app source is hidden


def test_authorize_url_carries_signed_state_and_redirect(dt_client, sandbox):
    location = qr_start(dt_client, next="/portal/profile")
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    assert location.startswith(sandbox.url + "/oauth2/auth?")
    assert query["client_id"] == [sandbox.state.default_app.app_key]
    assert query["redirect_uri"] == ["http://localhost/login/dingtalk/dingtalk/callback"]
    assert query["prompt"] == ["consent"] and query["scope"] == ["openid"]
    assert "portal" not in query["state"][0]  # signed and opaque, not a plain `next`


def test_unbound_person_binds_then_signs_in_directly(dt_client, sandbox, leak_guard, db):
    person = people(sandbox)[3]
    alice = make_local("alice", PASSWORD, email="alice@example.com")
    # Through the real sandbox page: the person presses 确认登录.
    callback = confirm_in_sandbox(qr_start(dt_client), person.userid)
    leak_guard.register(parse_qs(urlsplit(callback).query)["code"][0])
    response = dt_client.get(callback.replace("http://localhost", ""))
    assert response.status_code == 302 and response.location.endswith("/login/bind")
    page = dt_client.get("/login/bind").get_data(as_text=True)
    assert person.name in page
    wrong = _bind(dt_client, "alice", "not-the-password")
    assert wrong.status_code == 200 and not links_of(alice.id)
    right = _bind(dt_client, "alice@example.com", PASSWORD)
    assert right.status_code == 302 and right.location.endswith("/portal/")
    [identity] = links_of(alice.id)
    assert (identity.tenant, identity.subject, identity.union_id) == (
        sandbox.state.corp_id,
        person.userid,
        person.unionid,
    )
    assert identity.linked_via == "manual"
    assert audit_rows("auth.dingtalk.bound")
    from idaas.auth.models import AuthSession

    row = db.session.scalars(db.select(AuthSession).order_by(AuthSession.id.desc())).first()
    assert row.methods == ["dingtalk"] and row.source == QR and row.state == "active"

    # Second sign-in: no bind page.
    fresh = dt_client.application.test_client()
    again = qr_callback(fresh, sandbox, person.userid, leak_guard)
    assert again.status_code == 302 and again.location.endswith("/portal/")
    assert fresh.get("/portal/").status_code == 200


def test_next_is_resumed_after_dingtalk_sign_in(dt_client, sandbox, leak_guard):
    person = people(sandbox)[0]
    alice = make_local("alice", PASSWORD)
    from idaas.directory import service

    service.link_identity(
        "system",
        alice.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=person.userid,
        linked_via="admin",
    )
    response = qr_callback(dt_client, sandbox, person.userid, leak_guard, next="/portal/profile")
    assert response.location.endswith("/portal/profile")


def test_imported_account_never_sees_bind_page(dt_client, sandbox, leak_guard):
    person = people(sandbox)[5]
    imported = make_local(
        "imported", PASSWORD, references={f"dingtalk:{sandbox.state.corp_id}": person.userid}
    )
    response = qr_callback(dt_client, sandbox, person.userid, leak_guard)
    assert response.location.endswith("/portal/")
    [identity] = links_of(imported.id)
    assert identity.linked_via == "import"


def test_person_outside_the_corp_is_refused_and_audited(dt_client, sandbox, leak_guard):
    # DingTalk answers 60121 for a unionid that is not a member of the corp (§2.1 step 4, §4.7).
    sandbox.post(
        "/faults",
        {"errors": [{"endpoint": "topapi/user/getbyunionid", "errcode": 60121, "times": 1}]},
    )
    response = qr_callback(dt_client, sandbox, people(sandbox)[1].userid, leak_guard)
    assert response.status_code == 403
    assert 'data-problem="outsider"' in response.get_data(as_text=True)
    [row] = audit_rows("auth.dingtalk.outsider_refused")
    assert row.outcome == "denied" and row.details["reason"] == "not_a_member"
    assert dt_client.get("/portal/").status_code == 302


def test_denied_callback_shows_retry(dt_client):
    state = state_of(qr_start(dt_client))
    response = dt_client.get(
        "/login/dingtalk/dingtalk/callback", query_string={"error": "access_denied", "state": state}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="dingtalk-retry"' in body


def test_state_tampering_reuse_other_browser_and_expiry_are_refused(
    dt_app, dt_client, sandbox, leak_guard
):
    person = people(sandbox)[2]
    state = state_of(qr_start(dt_client))
    tampered = state[:-3] + ("aaa" if not state.endswith("aaa") else "bbb")
    bad = qr_callback(dt_client, sandbox, person.userid, leak_guard, state=tampered)
    assert bad.status_code == 400 and 'data-problem="state"' in bad.get_data(as_text=True)

    first = qr_callback(dt_client, sandbox, person.userid, leak_guard, state=state)
    assert first.status_code == 302  # bind page
    reused = qr_callback(dt_client, sandbox, person.userid, leak_guard, state=state)
    assert reused.status_code == 400

    other = dt_app.test_client()
    stolen = state_of(qr_start(dt_client))
    assert qr_callback(other, sandbox, person.userid, leak_guard, state=stolen).status_code == 400

    old = state_of(qr_start(dt_client))
    dt_app.config["DINGTALK_STATE_MAX_AGE"] = -1
    assert qr_callback(dt_client, sandbox, person.userid, leak_guard, state=old).status_code == 400
    reasons = [r.details["reason"] for r in audit_rows("auth.dingtalk.state_refused")]
    assert reasons == ["tampered", "reused", "other_browser", "expired"]


def test_reused_qr_code_is_refused(dt_client, sandbox, leak_guard):
    from tests.dingtalk_login.support import issue_code

    person = people(sandbox)[4]
    code = issue_code(sandbox, person.userid, "oauth2", leak_guard)
    first = dt_client.get(
        "/login/dingtalk/dingtalk/callback",
        query_string={"state": state_of(qr_start(dt_client)), "authCode": code},
    )
    assert first.status_code == 302
    second = dt_client.get(
        "/login/dingtalk/dingtalk/callback",
        query_string={"state": state_of(qr_start(dt_client)), "authCode": code},
    )
    assert second.status_code == 400 and 'data-problem="code"' in second.get_data(as_text=True)
    assert audit_rows("auth.dingtalk.code_replayed")


def test_legacy_sns_generation(make_app, sandbox, leak_guard):
    from tests.dingtalk_login.support import sandbox_config

    app = make_app(**sandbox_config(sandbox))
    with app.app_context():
        configure(sandbox, leak_guard, generation="sns")
        client = app.test_client()
        person = people(sandbox)[6]
        bob = make_local("bob", PASSWORD)
        location = qr_start(client)
        assert location.startswith(sandbox.url + "/connect/qrconnect?")
        callback = confirm_in_sandbox(location, person.userid)
        leak_guard.register(parse_qs(urlsplit(callback).query)["code"][0])
        assert client.get(callback.replace("http://localhost", "")).location.endswith("/login/bind")
        assert _bind(client, "bob", PASSWORD).location.endswith("/portal/")
        assert links_of(bob.id)[0].subject == person.userid


def test_no_dingtalk_secret_code_or_token_in_logs(dt_client, sandbox, leak_guard):
    person = people(sandbox)[7]
    make_local("alice", PASSWORD)
    qr_callback(dt_client, sandbox, person.userid, leak_guard)
    dt_client.post("/login/bind", data={"identifier": "alice", "password": PASSWORD})
    tokens = list(sandbox.state.tokens)  # the app token and the person's user/refresh tokens
    assert len(tokens) >= 3
    leak_guard.register(*tokens)
    idaas_calls = [m for m in leak_guard.messages if "getbyunionid" in m and "HTTP Request" in m]
    assert idaas_calls and all("access_token=***" in m for m in idaas_calls)
    assert leak_guard.find() == []


def test_bind_then_mfa_when_enrolled(dt_client, sandbox, leak_guard, db):
    from idaas.auth import mfa
    from idaas.auth.models import AccountMfa
    from idaas.security import secretbox

    alice = make_local("alice", PASSWORD)
    secret = mfa.start_enrolment(alice.id)
    row = db.session.get(AccountMfa, alice.id)
    row.totp_confirmed_at = row.updated_at
    db.session.commit()
    assert secretbox.decrypt(row.totp_secret) and mfa.is_enrolled(alice.id)
    leak_guard.register(secret)
    qr_callback(dt_client, sandbox, people(sandbox)[8].userid, leak_guard)
    bound = dt_client.post("/login/bind", data={"identifier": "alice", "password": PASSWORD})
    assert bound.location.endswith("/login/mfa")
    assert dt_client.get("/portal/").status_code == 302
    assert not links_of(alice.id)  # the password alone does not make the link
    from tests.auth.helpers import totp_code

    done = dt_client.post("/login/mfa", data={"code": totp_code(secret)})
    assert done.location.endswith("/portal/")
    assert dt_client.get("/portal/").status_code == 200
    [identity] = links_of(alice.id)
    assert identity.linked_via == "manual"
    assert audit_rows("auth.dingtalk.bound")


def test_expired_single_use_records_are_purged(dt_client, db):
    from datetime import timedelta

    from idaas.dingtalk import signin
    from idaas.dingtalk.models import DingTalkSingleUse
    from idaas.extensions import utcnow

    qr_start(dt_client)
    old = DingTalkSingleUse(
        value_hash="0" * 64, kind="code", expires_at=utcnow() - timedelta(seconds=1)
    )
    db.session.add(old)
    db.session.commit()
    assert signin.purge_expired() == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(DingTalkSingleUse)) == 1


def test_sign_in_starts_are_rate_limited_per_ip(make_app, sandbox, leak_guard):
    from tests.dingtalk_login.support import sandbox_config

    app = make_app(DINGTALK_START_RATE_LIMIT="2/minute", **sandbox_config(sandbox))
    with app.app_context():
        configure(sandbox, leak_guard)
        client = app.test_client()
        codes = [client.get("/login/dingtalk/dingtalk").status_code for _ in range(3)]
        assert codes == [302, 302, 429]


def test_embedded_qr_on_the_login_page(make_app, sandbox, leak_guard):
    from tests.dingtalk_login.support import sandbox_config

    app = make_app(
        DINGTALK_LOGIN_SCRIPT_URL=f"{sandbox.url}/dingding/h5-dingtalk-login/0.21.0/ddlogin.js",
        **sandbox_config(sandbox),
    )
    with app.app_context():
        configure(sandbox, leak_guard, embedded_qr=True)
        client = app.test_client()
        response = client.get("/login?next=/portal/profile")
        html = response.get_data(as_text=True)
        assert 'id="dt-qr-dingtalk"' in html and "h5-dingtalk-login/0.21.0/ddlogin.js" in html
        assert "/login/dingtalk/dingtalk/callback" in html
        csp = response.headers["Content-Security-Policy"]
        assert f"script-src 'self' {sandbox.url}" in csp and f"frame-src {sandbox.url}" in csp
        # The embedded state is a normal signed, single-use state carrying `next`.
        state = re.search(r'"state": "([^"]+)"', html).group(1)
        person = people(sandbox)[9]
        from idaas.directory import service

        alice = make_local("alice", PASSWORD)
        service.link_identity(
            "system",
            alice.id,
            provider="dingtalk",
            tenant=sandbox.state.corp_id,
            subject=person.userid,
            linked_via="admin",
        )
        done = qr_callback(client, sandbox, person.userid, leak_guard, state=state)
        assert done.location.endswith("/portal/profile")
        # Off by default: no embed, and the plain CSP.
        configure(sandbox, leak_guard)
        plain = client.get("/login")
        assert "dt-qr" not in plain.get_data(as_text=True)
        assert "frame-src" not in plain.headers["Content-Security-Policy"]
