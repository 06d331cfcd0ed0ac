"""Browser test of the SCIM page: a static token is shown once, works, and is revoked."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_console import console, shot, sign_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_static_scim_token_shown_once_works_then_revoked(
    page: Any,
    console: SimpleNamespace,  # noqa: F811
    leak_guard: Any,
    lang: str,
) -> None:
    with console.app.app_context():
        from idaas.applications import service as clients

        clients.create_client("system", name=f"HR 控制台 {lang}", scopes=["scim:read"])
    page.set_viewport_size({"width": 1280, "height": 860})
    watch = sign_in(page, console.url, lang)
    page.click("#admin-nav a[href='/admin/scim']")
    expect(page.locator("#scim-base-url")).to_contain_text("/scim/v2")
    form = page.locator("form.inline-form").first
    form.locator("input[name=name]").fill("北森")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#secret-once")
    token = page.inner_text("#secret-value").strip()
    leak_guard.register(token)
    shot(page, f"scim-token-once-{lang}")

    def users() -> int:
        with httpx.Client(trust_env=False) as http:
            return http.get(
                f"{console.url}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}
            ).status_code

    assert users() == 200
    page.goto(f"{console.url}/admin/scim")
    assert token not in page.content()  # shown once only
    shot(page, f"scim-{lang}")
    page.locator("[id^=revoke-token-]").first.click()
    page.wait_for_selector("dialog.confirm-dialog[open]")
    page.click("#dialog-confirm")
    expect(page.locator(".flash")).to_be_visible()
    assert users() == 401
    assert not watch.errors, watch.errors
