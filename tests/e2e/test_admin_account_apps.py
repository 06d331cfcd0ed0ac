"""Browser test of the account detail's application access and sub-accounts (keyboard only)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_console import console, shot, sign_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e
SET = {"zh": "已设置在应用中的用户名", "en": "The username in the application has been set."}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_set_a_subaccount_from_the_account_page(
    page: Any,
    console: SimpleNamespace,  # noqa: F811
    lang: str,
) -> None:
    with console.app.app_context():
        from idaas.applications import apps
        from idaas.directory import service

        app, _ = apps.create_application(
            "system",
            name=f"报销 {lang}",
            redirect_uris=["https://expense.example/cb"],
            subaccount_mode="association",
        )
        person = service.find_by_identifier("user3")
        client_id, person_id = app.client_id, person.id
    page.set_viewport_size({"width": 1280, "height": 900})
    watch = sign_in(page, console.url, lang)
    page.goto(f"{console.url}/admin/accounts/{person_id}")
    field = page.locator(f"#sub-{client_id}")
    field.focus()
    page.keyboard.type("emp-0003")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text(SET[lang])
    expect(page.locator("#app-access")).to_contain_text("emp-0003")
    page.locator("#app-access-title").scroll_into_view_if_needed()
    shot(page, f"account-app-access-{lang}")
    assert not watch.errors, watch.errors


POLICY_SAVED = {"zh": "应用已保存", "en": "The application has been saved."}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_access_policy_picked_by_name(
    page: Any,
    console: SimpleNamespace,  # noqa: F811
    lang: str,
) -> None:
    with console.app.app_context():
        from idaas.applications import apps
        from idaas.directory import service

        app, _ = apps.create_application(
            "system", name=f"考勤 {lang}", redirect_uris=["https://hr.example/cb"]
        )
        service.create_group("system", name=f"财务组 {lang}")
        client_id = app.client_id
    page.set_viewport_size({"width": 1280, "height": 900})
    watch = sign_in(page, console.url, lang)
    page.goto(f"{console.url}/admin/applications/{client_id}")
    page.uncheck("#everyone")
    page.fill("#policy_departments", "研发部")
    page.fill("#policy_accounts", "user1")
    page.get_by_label(f"财务组 {lang}").check()
    page.click("#save-application")
    expect(page.locator(".flash")).to_contain_text(POLICY_SAVED[lang])
    expect(page.locator("#policy_departments")).to_have_value("研发部")
    expect(page.locator("#policy_accounts")).to_have_value("user1")
    page.locator("#policy_departments").scroll_into_view_if_needed()
    shot(page, f"application-policy-{lang}")
    assert not watch.errors, watch.errors
