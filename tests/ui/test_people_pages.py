"""Branding, the pending application, per-language names, session methods, linked accounts."""

from __future__ import annotations

import re
from typing import Any

from tests.auth.helpers import enrol_totp, sign_in, totp_code
from tests.conftest import PASSWORD
from tests.dingtalk_login.support import (
    DINGTALK_UA,
    MICRO,
    issue_code,
    make_local,
    people,
    qr_callback,
)
from tests.oidc.support import authorize_url, pkce, register

BRAND = {
    "BRAND_NAME": {"zh_CN": "星河科技", "en": "Galaxy Tech"},
    "BRAND_LOGO_URL": "https://cdn.example.com/galaxy.png",
    "BRAND_LOGIN_NOTICE": {"zh_CN": "系统将于周六维护。", "en": "Maintenance on Saturday."},
}


def _title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def test_branding_on_login_portal_consent_and_error_pages(make_app, leak_guard):
    app = make_app(**BRAND)
    with app.app_context():
        make_local("alice", PASSWORD)
        client = app.test_client()
        client.set_cookie("lang", "en")
        login = client.get("/login").get_data(as_text=True)
        assert _title(login) == "Sign in · Galaxy Tech"
        assert "Sign in to Galaxy Tech" in login and "Maintenance on Saturday." in login
        assert 'src="https://cdn.example.com/galaxy.png"' in login
        missing = client.get("/nowhere", headers={"Accept": "text/html"}).get_data(as_text=True)
        assert _title(missing) == "Page not found · Galaxy Tech" and "galaxy.png" in missing
        client.set_cookie("lang", "zh_CN")
        assert "系统将于周六维护。" in client.get("/login").get_data(as_text=True)
        sign_in(client, "alice")
        portal = client.get("/portal/").get_data(as_text=True)
        assert _title(portal) == "个人门户 · 星河科技" and "galaxy.png" in portal
        client_id, _ = register(leak_guard, name="Expenses", consent_required=True)
        _, challenge = pkce()
        consent = client.get(authorize_url(client_id, challenge)).get_data(as_text=True)
        assert "星河科技" in consent and "Expenses" in consent


def test_without_branding_the_defaults_show(client, account):
    login = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _title(login) == "Sign in · idaas" and "login-notice" not in login


def test_login_shows_the_application_being_signed_in_to(client, leak_guard):
    from idaas.applications import apps

    client_id, _ = register(
        leak_guard,
        name="报销 Expenses",
        icon_url="https://cdn.example.com/expenses.png",
        display_names={"zh_CN": "报销系统", "en": "Expenses"},
    )
    _, challenge = pkce()
    for language, name in (("zh_CN", "报销系统"), ("en", "Expenses")):
        client.set_cookie("lang", language)
        pending = client.get(authorize_url(client_id, challenge))
        html = client.get(pending.location).get_data(as_text=True)
        box = html.split('id="pending-app"', 1)[1].split("</div>", 1)[0]
        assert name in box and "https://cdn.example.com/expenses.png" in box
    assert "pending-app" not in client.get("/login").get_data(as_text=True)
    apps.update_application("system", client_id, enabled=False)
    assert "pending-app" not in client.get(pending.location).get_data(as_text=True)


def test_application_names_are_validated(app):
    import pytest

    from idaas.applications import apps
    from idaas.applications.errors import ApplicationError

    created, _ = apps.create_application("system", name="X", redirect_uris=["https://x.test/cb"])
    with pytest.raises(ApplicationError) as caught:
        apps.update_application("system", created.client_id, display_names={"fr": "Le X"})
    assert "fr" in str(caught.value.fields["display_names"])  # type: ignore[attr-defined]
    assert apps.get_application(created.client_id).display_names is None


def test_sign_in_method_labels_follow_the_language(dt_client, dt_app):
    from idaas.auth import sources

    sources.save("password", "password", "Password", order=0)
    for language, label in (("zh_CN", "钉钉"), ("en", "DingTalk")):
        dt_client.set_cookie("lang", language)
        html = dt_client.get("/login").get_data(as_text=True)
        button = re.search(r'class="button secondary block source-dingtalk"[^>]*>([^<]*)<', html)
        assert label in button.group(1)
    sources.save(
        "dingtalk",
        "dingtalk",
        "Corp DingTalk",
        order=10,
        settings={"connection": "corp", "display_names": {"zh_CN": "公司钉钉", "en": "Corp app"}},
    )
    dt_client.set_cookie("lang", "zh_CN")
    assert "使用公司钉钉登录" in dt_client.get("/login").get_data(as_text=True)


def _methods(client: Any) -> list[str]:
    html = client.get("/portal/sessions").get_data(as_text=True)
    return re.findall(r'<span class="session-method">([^<]*)</span>', html)


def test_sessions_show_how_each_one_signed_in(dt_app, sandbox, leak_guard):
    from idaas.directory import service

    alice = make_local("alice", PASSWORD)
    person = people(sandbox)[3]
    service.link_identity(
        "system",
        alice.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=person.userid,
        linked_via="manual",
    )
    by_password = dt_app.test_client()
    by_password.set_cookie("lang", "en")
    assert sign_in(by_password).status_code == 302
    assert _methods(by_password) == ["Password"]
    by_qr = dt_app.test_client()
    by_qr.set_cookie("lang", "zh_CN")
    assert qr_callback(by_qr, sandbox, person.userid, leak_guard).status_code == 302
    by_micro = dt_app.test_client()
    page = by_micro.get(f"/login/dingtalk-micro/{MICRO}", headers={"User-Agent": DINGTALK_UA})
    state = re.search(r'name="state" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    code = issue_code(sandbox, person.userid, "micro", leak_guard)
    by_micro.post(f"/login/dingtalk-micro/{MICRO}", data={"code": code, "state": state.group(1)})
    assert sorted(_methods(by_qr)) == ["密码", "钉钉工作台", "钉钉扫码"]
    secret = enrol_totp(by_password)
    by_password.post("/logout")
    sign_in(by_password)
    by_password.post("/login/mfa", data={"code": totp_code(secret, 1)})
    assert "Password + two-step verification" in _methods(by_password)


def test_linked_accounts_show_the_dingtalk_name_and_organisation(dt_app, sandbox):
    from idaas.directory import service

    alice = make_local("alice", PASSWORD)
    person = people(sandbox)[4]
    service.link_identity(
        "system",
        alice.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=person.userid,
        linked_via="manual",
    )
    client = dt_app.test_client()
    client.set_cookie("lang", "en")
    sign_in(client)
    html = client.get("/portal/identities").get_data(as_text=True)
    corp = sandbox.state.departments[1].name
    assert f'<span class="linked-name">{person.name}</span>' in html
    assert f'<span class="linked-org">{corp}</span>' in html
    assert person.userid not in html.split('id="identity-list"', 1)[1]
    # DingTalk unreachable: the link is still listed, with its raw id.
    sandbox.post("/faults", {"ip_ban": "html"})
    degraded = client.get("/portal/identities").get_data(as_text=True)
    assert degraded.count("data-identity=") == 1 and person.userid in degraded
