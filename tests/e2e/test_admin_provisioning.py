"""Browser test of an application's Provisioning page against a real scim2-server on loopback:
configure the SCIM target, test it, dry run (the diff), sync with live progress; zh and en."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_console import console, shot, sign_in  # noqa: F401  (fixture)
from tests.scim_push.server import scim_server

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_configure_dry_run_and_sync_a_scim_target(
    page: Any,
    console: SimpleNamespace,  # noqa: F811
    lang: str,
) -> None:
    from idaas.events.worker import Worker

    worker = Worker(console.app, name="e2e-provisioning", run_deliveries=False).start()
    try:
        with scim_server() as scim:
            page.set_viewport_size({"width": 1280, "height": 900})
            watch = sign_in(page, console.url, lang)
            page.click("#admin-nav a[href='/admin/applications']")
            page.get_by_role("link", name="内部 Wiki").first.click()
            page.click("#provisioning-link")
            expect(page.locator("#no-target")).to_be_visible()
            page.fill("#base_url", scim.url)
            page.check("#enabled")
            page.click("#save-provisioning")
            expect(page.locator(".flash-success")).to_be_visible()

            page.click("#test-target")
            expect(page.locator("#test-capabilities")).to_contain_text("User")
            shot(page, f"provisioning-test-{lang}")

            page.click("#dry-run")  # the page follows the job and reloads when it ends
            expect(page.locator("#plan-items")).to_be_visible(timeout=30_000)
            expect(page.locator("#plan-items")).to_contain_text("user3")
            assert not scim.users()  # a dry run changes nothing
            shot(page, f"provisioning-dry-run-{lang}")

            page.click("#start-sync")
            expect(page.locator("#sync-counts")).to_be_visible(timeout=30_000)
            expected = {f"user{i}" for i in range(8)}
            assert expected <= set(scim.users())
            expect(page.locator("#delivery-log")).to_contain_text("POST")
            shot(page, f"provisioning-sync-{lang}")
            assert not watch.errors, watch.errors
    finally:
        worker.stop()
