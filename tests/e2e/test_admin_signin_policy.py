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


def test_dashboard_shows_provisioning_health(
    page: Any,
    console: SimpleNamespace,  # noqa: F811
) -> None:
    import uuid
    from datetime import datetime

    with console.app.app_context():
        from idaas.applications import apps
        from idaas.dingtalk.push.models import PushSettings
        from idaas.events.models import Delivery
        from idaas.extensions import db
        from idaas.scim.push.models import ProvisioningTarget

        crm = apps.create_application(
            "system", name="CRM 系统", redirect_uris=["https://crm.example/cb"]
        )[0]
        db.session.add(
            ProvisioningTarget(application_id=crm.id, base_url="https://crm.example/scim")
        )
        _connection("corp")
        db.session.add(PushSettings(connection="corp", enabled=True))
        for key, kind, status, error in (
            (crm.client_id, "scim.push", "dead", "HTTP 503 from https://crm.example/scim/Users"),
            (crm.client_id, "scim.push", "delivered", None),
            ("corp", "dingtalk.push", "pending", None),
        ):
            db.session.add(
                Delivery(
                    uid=str(uuid.uuid4()),
                    target_type=kind,
                    target_key=key,
                    object_type="account",
                    object_id="1",
                    action="updated",
                    origin="test",
                    status=status,
                    last_error=error,
                    last_attempt_at=datetime(2026, 12, 1, 9),
                    delivered_at=datetime(2026, 12, 1, 8) if status == "delivered" else None,
                )
            )
        db.session.commit()
    page.set_viewport_size({"width": 1280, "height": 860})
    watch = sign_in(page, console.url, "en")
    page.goto(f"{console.url}/admin/")
    expect(page.locator("#provisioning-health")).to_contain_text("CRM")
    expect(page.locator("#provisioning-health")).to_contain_text("HTTP 503")
    shot(page, "dashboard-provisioning-en")
    page.click("#provisioning-health a >> text=corp")
    expect(page).to_have_url(f"{console.url}/admin/dingtalk/corp/push")
    assert not watch.errors, watch.errors


def _connection(name: str) -> None:
    """A DingTalk connection (its push page exists)."""
    from idaas.dingtalk import connections

    connections.save(
        "system", name, corp_id="dingdash", app_key="keydash01", app_secret="secretdash0123456"
    )
