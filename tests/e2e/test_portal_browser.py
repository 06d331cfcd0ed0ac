"""Browser tests of the portal: home, sessions (sign out others), pages in zh_CN and en."""

from __future__ import annotations

import pytest

from tests.conftest import screenshot
from tests.e2e.test_login_browser import sign_in, site  # noqa: F401

pytestmark = pytest.mark.e2e


def test_portal_pages_and_sign_out_other_sessions(browser, page, site):  # noqa: F811
    other = browser.new_context(
        locale="en-US",
        viewport={"width": 390, "height": 780},
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"
        " Mobile/15E148 DingTalk/7.5.0",
    )
    phone = other.new_page()
    try:
        sign_in(page, site)
        page.wait_for_url("**/portal/")
        screenshot(page, "portal-home-zh")

        phone.goto(f"{site.url}/login")
        phone.get_by_label("Username, email or mobile").fill("alice")
        phone.get_by_label("Password", exact=True).fill("Correct-Horse-42")
        phone.get_by_role("button", name="Sign in").click()
        phone.wait_for_url("**/portal/")
        screenshot(phone, "portal-home-en-mobile")

        page.get_by_role("link", name="登录会话").click()
        assert page.locator("#session-list li").count() == 2
        screenshot(page, "portal-sessions-zh")
        page.get_by_role("button", name="退出其他所有会话").click()
        assert page.get_by_text("已退出其他 1 个会话。").is_visible()
        assert page.locator("#session-list li").count() == 1

        phone.reload()
        phone.wait_for_url("**/login**")

        page.get_by_role("link", name="English").click()
        page.wait_for_url("**/portal/sessions")
        page.get_by_role("link", name="Home").click()
        screenshot(page, "portal-home-en")
        page.get_by_role("link", name="Profile").click()
        screenshot(page, "portal-profile-en")
        page.get_by_role("link", name="Password").first.click()
        screenshot(page, "portal-password-en")
    finally:
        other.close()


def test_keyboard_can_sign_in(page, site):  # noqa: F811
    page.goto(f"{site.url}/login")
    # The identifier field has focus; Chromium applies autofocus after load, so wait for it.
    page.wait_for_function("document.activeElement && document.activeElement.name === 'identifier'")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type("Correct-Horse-42")
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/")
