"""Browser test of the sign-in policy: a super admin shortens the minimum password length and
requires two-step verification; a bad value is refused on its field; the Sign-in page shows
the values in force, marked as set in the console."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_console import console, shot, sign_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_edit_the_sign_in_policy(
    page: Any,
    console: SimpleNamespace,  # noqa: F811
    lang: str,
) -> None:
    page.set_viewport_size({"width": 1280, "height": 860})
    watch = sign_in(page, console.url, lang)
    page.goto(f"{console.url}/admin/signin")
    shot(page, f"signin-policy-before-{lang}")
    page.click("#edit-signin-policy")
    expect(page.locator("#signin-policy-form")).to_be_visible()
    expect(page.locator("#password_min_length")).to_be_focused()
    shot(page, f"signin-policy-form-{lang}")
    page.fill("#password_min_length", "0")
    page.fill("#lockout_threshold", "three")
    page.click("#save-signin-policy")
    expect(page.locator("#password_min_length-error")).to_be_visible()
    expect(page.locator("#lockout_threshold-error")).to_be_visible()
    shot(page, f"signin-policy-errors-{lang}")
    # The refused form is answered 422 on purpose; Chromium logs that status as a console error.
    assert all("422" in error for error in watch.errors), watch.errors
    watch.errors.clear()
    page.fill("#password_min_length", "10")
    page.fill("#lockout_threshold", "")
    page.select_option("#mfa_required", "yes")
    page.click("#save-signin-policy")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#signin-policy")).to_contain_text("10")
    shot(page, f"signin-policy-saved-{lang}")
    with console.app.app_context():
        from idaas.security import signin_policy

        policy = signin_policy.effective()
        assert policy.password_min_length == 10 and policy.mfa_required
        assert policy.overridden == {"password_min_length", "mfa_required"}
    assert not watch.errors, watch.errors
