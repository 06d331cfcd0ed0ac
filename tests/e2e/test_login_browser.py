"""Browser tests of sign-in: identifiers, wrong password, lockout, forced change, TOTP, recovery."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.auth.helpers import totp_code
from tests.conftest import PASSWORD, screenshot
from tests.support.live import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(make_app: Any, leak_guard: Any) -> Iterator[SimpleNamespace]:
    """An app with CSRF on, served on loopback, with the account alice."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from idaas.directory import service

        account = service.create_account(
            "system",
            username="alice",
            display_name="Alice Wang",
            email="alice@example.com",
            mobile="13800138000",
            password=PASSWORD,
            must_change_password=False,
        )
        with LiveServer(app) as server:
            yield SimpleNamespace(app=app, url=server.url, account_id=account.id)


def sign_in(
    page: Any, site: SimpleNamespace, identifier: str = "alice", password: str = PASSWORD
) -> None:
    """Fill and submit the login form."""
    page.goto(f"{site.url}/login")
    page.get_by_label("用户名、邮箱或手机号").fill(identifier)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def sign_out(page: Any) -> None:
    """Use the sign-out button in the top bar."""
    page.locator(".me").get_by_role("button").click()
    page.wait_for_url("**/login")


def test_sign_in_with_each_identifier_form(page, site):
    page.goto(f"{site.url}/")
    page.wait_for_url("**/login")
    screenshot(page, "login-zh")
    for identifier in ("alice", "alice@example.com", "+86 138 0013 8000"):
        sign_in(page, site, identifier)
        page.wait_for_url("**/portal/")
        assert page.get_by_role("heading", name="您好，Alice Wang").is_visible()
        sign_out(page)
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/login")
    assert page.get_by_role("heading", name="Sign in").is_visible()
    screenshot(page, "login-en")


def test_wrong_password_then_lockout_and_unlock(page, site):
    sign_in(page, site, password="Wrong-Password-1")
    error = page.locator("#login-error")
    assert error.inner_text() == "账号或密码不正确。"
    screenshot(page, "login-error-zh")
    for _ in range(4):
        sign_in(page, site, password="Wrong-Password-1")
    sign_in(page, site, password="Wrong-Password-1")  # wrong password, locked: still generic
    assert page.locator("#login-error").inner_text() == "账号或密码不正确。"
    sign_in(page, site)  # right password, locked account: told it is locked, and for how long
    message = page.locator("#login-error").inner_text()
    assert "已被锁定" in message and "15 分钟" in message and "管理员" in message
    assert "/login" in page.url
    screenshot(page, "login-locked-zh")

    from idaas.auth import lockout

    assert lockout.is_locked(site.account_id)
    lockout.unlock("admin:test", site.account_id)
    sign_in(page, site)
    page.wait_for_url("**/portal/")


def test_forced_password_change(page, site):
    from idaas.directory import service

    service.set_password("admin:test", site.account_id, "Reset-By-Admin-9", must_change=True)
    sign_in(page, site, password="Reset-By-Admin-9")
    page.wait_for_url("**/login/password")
    assert page.locator("#password-rules li").count() >= 3
    page.get_by_label("新密码", exact=True).fill("short")
    page.get_by_label("再次输入新密码").fill("short")
    page.get_by_role("button", name="保存并继续").click()
    assert page.locator(".field-error").first.is_visible()
    screenshot(page, "password-change-zh")
    page.get_by_label("新密码", exact=True).fill("Brand-New-Horse-77")
    page.get_by_label("再次输入新密码").fill("Brand-New-Horse-77")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/portal/")
    assert page.get_by_text("密码已修改。").is_visible()


def test_totp_enrolment_sign_in_and_recovery_code_once(page, site):
    sign_in(page, site)
    page.wait_for_url("**/portal/")
    page.get_by_role("link", name="两步验证").first.click()
    page.get_by_role("link", name="设置身份验证器应用").click()
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    assert page.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml")
    screenshot(page, "mfa-enrol-zh")
    page.get_by_label("身份验证器应用中的验证码").fill(totp_code(secret))
    page.get_by_role("button", name="开启").click()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "mfa-recovery-codes-zh")
    page.get_by_role("link", name="我已保存，继续").click()
    sign_out(page)

    sign_in(page, site)
    page.wait_for_url("**/login/mfa")
    screenshot(page, "mfa-step-zh")
    page.get_by_label("验证码").fill(totp_code(secret, 1))
    page.get_by_role("button", name="验证").click()
    page.wait_for_url("**/portal/")
    sign_out(page)

    sign_in(page, site)
    page.get_by_label("验证码").fill(codes[0])
    page.get_by_role("button", name="验证").click()
    page.wait_for_url("**/portal/")
    assert page.get_by_text("还剩 9 个").is_visible()
    sign_out(page)

    sign_in(page, site)
    page.get_by_label("验证码").fill(codes[0])
    page.get_by_role("button", name="验证").click()
    assert "/login/mfa" in page.url
    assert page.get_by_role("alert").inner_text().startswith("验证码无效")
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/login/mfa")
    screenshot(page, "mfa-step-en")
