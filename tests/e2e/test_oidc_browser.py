"""Browser: portal tile -> IdP-initiated sign-in -> consent -> the demo RP, in zh_CN and en."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from idaas.applications import apps
from idaas.sandbox.relying_party import create_relying_party
from tests.conftest import PASSWORD, free_port, screenshot
from tests.support.live import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(make_app: Any, leak_guard: Any) -> Iterator[SimpleNamespace]:
    """idaas (CSRF on) and the demo RP as a third-party app with a launch URL."""
    port, rp_port = free_port(), free_port()
    issuer, rp_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{rp_port}"
    app = make_app(WTF_CSRF_ENABLED=True, ISSUER=issuer)
    with app.app_context():
        from idaas.directory import service

        for username, name in (("alice", "Alice Wang"), ("bob", "Bob Li")):
            service.create_account(
                "system",
                username=username,
                display_name=name,
                email=f"{username}@example.com",
                password=PASSWORD,
                must_change_password=False,
            )
        registered, secret = apps.create_application(
            "system",
            name="演示应用 Demo RP",
            description="Shows the claims it receives",
            redirect_uris=[f"{rp_url}/callback"],
            post_logout_redirect_uris=[f"{rp_url}/logged-out"],
            initiate_login_uri=f"{rp_url}/initiate",
            scopes=["openid", "profile", "email", "phone", "offline_access", "departments"],
            consent_required=True,
        )
        client_id = registered.client_id
    leak_guard.register(secret)
    rp = create_relying_party(
        issuer, client_id, secret, public_base=rp_url, scope="openid profile email"
    )
    with LiveServer(app, port), LiveServer(rp, rp_port):
        yield SimpleNamespace(url=issuer, rp=rp_url)


def _journey(page: Any, world: SimpleNamespace, user: str, lang: str, labels: dict) -> None:
    page.goto(f"{world.url}/login")
    page.get_by_label(labels["identifier"]).fill(user)
    page.get_by_label(labels["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=labels["sign_in"]).click()
    page.wait_for_url("**/portal/")
    screenshot(page, f"oidc-portal-tiles-{lang}")
    page.get_by_role("link", name="演示应用 Demo RP").click()
    page.wait_for_url("**/oauth2/authorize**")
    assert page.get_by_role("heading", name=labels["consent"]).is_visible()
    screenshot(page, f"oidc-consent-{lang}")
    page.get_by_role("button", name=labels["allow"]).click()
    page.wait_for_url(f"{world.rp}/")
    assert page.locator("#id-claims").is_visible()
    assert page.locator("#userinfo").get_by_text(f"{user}@example.com").is_visible()
    screenshot(page, f"oidc-rp-claims-{lang}")
    page.locator("#logout").click()
    page.wait_for_url(f"{world.rp}/logged-out**")


def test_portal_to_demo_rp_with_consent_zh(page, world):
    labels = {
        "identifier": "用户名、邮箱或手机号",
        "password": "密码",
        "sign_in": "登录",
        "consent": "演示应用 Demo RP 请求使用您的 idaas 账号",
        "allow": "允许",
    }
    _journey(page, world, "alice", "zh", labels)


def test_portal_to_demo_rp_with_consent_en(browser, world):
    context = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    labels = {
        "identifier": "Username, email or mobile",
        "password": "Password",
        "sign_in": "Sign in",
        "consent": "演示应用 Demo RP wants to use your idaas account",
        "allow": "Allow",
    }
    try:
        _journey(page, world, "bob", "en", labels)
    finally:
        context.close()
