"""Browser tests of the DingTalk sync console against the sandbox corp and the real job engine:
connection, test, import with preview, invalid rows removed, live progress across a reload,
confirm, apply, and a delete-protection decision; in zh_CN and en, with screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import ADMIN_PASSWORD
from tests.dingtalk_login.conftest import quiet_harness_logs
from tests.dingtalk_login.support import configure, sandbox_config
from tests.e2e.test_admin_console import shot, sign_in
from tests.sandbox.fixtures import fast_live, start_sandbox

pytestmark = pytest.mark.e2e

TEXT = {
    "zh": {"passed": "通过", "removed": "已移除无效行", "applied": "已应用"},
    "en": {"passed": "Passed", "removed": "Invalid rows removed.", "applied": "Applied"},
}


@pytest.fixture
def synced(make_app: Any, leak_guard: Any) -> Iterator[SimpleNamespace]:
    """idaas (CSRF on, a job worker running) with connection `corp` to a seeded sandbox corp.

    The sandbox answers slowly enough (5 calls a second) that the preview job is seen running.
    """
    from idaas.events.worker import Worker

    with quiet_harness_logs():
        sandbox_iter = start_sandbox(departments=10, users=160, seed=14)
        sandbox = next(sandbox_iter)
        try:
            app = make_app(
                WTF_CSRF_ENABLED=True,
                DINGTALK_SYNC_QPS=5,
                DINGTALK_SYNC_BATCH=20,
                **sandbox_config(sandbox),
            )
            with app.app_context():
                from idaas.directory.bootstrap import ensure_administrator
                from idaas.extensions import db

                configure(sandbox, leak_guard)
                root, _ = ensure_administrator("system", "root", ADMIN_PASSWORD)
                root.must_change_password = False
                db.session.commit()
            people = sorted(sandbox.state.users.values(), key=lambda u: u.userid)
            for person in people[:3]:  # three rows the preview must flag
                person.email = "not-an-email"
            worker = Worker(app, name="e2e-admin", run_deliveries=False).start()
            try:
                with fast_live(app) as server:
                    yield SimpleNamespace(app=app, url=server.url, sandbox=sandbox, people=people)
            finally:
                worker.stop()
        finally:
            sandbox_iter.close()


def _confirm_dialog(page: Any, opener: str) -> None:
    page.click(opener)
    page.wait_for_selector("dialog.confirm-dialog[open]")
    page.click("#dialog-confirm")


def _wait_for_run(page: Any, status: str, timeout: float = 60_000) -> None:
    """The run page reloads itself when its job ends; wait for the run's new status."""
    page.wait_for_selector(f"#run-status[data-status='{status}']", timeout=timeout)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_import_with_preview_follows_the_engine_job_live(
    page: Any, synced: SimpleNamespace, lang: str
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    watch = sign_in(page, synced.url, lang)
    t = TEXT[lang]
    page.click("#admin-nav a[href='/admin/dingtalk']")
    shot(page, f"dingtalk-connections-{lang}")
    page.click("a[href='/admin/dingtalk/corp']")
    page.click("#test-connection")
    expect(page.locator("#test-result")).to_contain_text(t["passed"])
    shot(page, f"dingtalk-connection-tested-{lang}")

    # Start the import: the run page follows the engine's preview job.
    page.click("#start-import")
    page.wait_for_selector("#job-progress")
    page.wait_for_selector(".job-status[data-status='running']", timeout=30_000)
    seen = {page.locator("#job-progress progress").get_attribute("value")}
    shot(page, f"dingtalk-preview-running-{lang}")
    page.reload()  # the bar survives a reload: it is the job's, not the page's
    page.wait_for_selector("#job-progress")
    status = page.locator(".job-status").get_attribute("data-status")
    assert status in ("running", "succeeded"), status
    if status == "running":
        seen.add(page.locator("#job-progress progress").get_attribute("value"))
    _wait_for_run(page, "previewed")
    expect(page.locator(".job-status")).to_have_attribute("data-status", "succeeded")
    assert int(page.inner_text("#invalid-count")) == 3
    expect(page.locator("#run-rows tbody tr")).to_have_count(3)
    shot(page, f"dingtalk-preview-{lang}")

    # Remove the invalid rows in one action, then confirm: the apply job runs live.
    _confirm_dialog(page, "#remove-invalid")
    expect(page.locator(".flash")).to_contain_text(t["removed"])
    _confirm_dialog(page, "#confirm-import")
    page.wait_for_selector("#job-progress")
    shot(page, f"dingtalk-applying-{lang}")
    _wait_for_run(page, "applied")
    expect(page.locator("#run-status")).to_contain_text(t["applied"])
    shot(page, f"dingtalk-applied-{lang}")

    with synced.app.app_context():
        from sqlalchemy import func, select

        from idaas.directory.models import Account
        from idaas.extensions import db

        imported = db.session.scalar(
            select(func.count(Account.id)).where(Account.source == "dingtalk:corp")
        )
    assert imported == len(synced.people) - 3
    assert not watch.errors, watch.errors


def test_delete_protection_holds_the_run_until_the_admin_decides(
    page: Any, synced: SimpleNamespace
) -> None:
    from idaas.dingtalk import connections
    from tests.dingtalk_sync.support import full_import

    with synced.app.app_context():  # a first import, done without the console
        full_import(connections.require("corp"), "system")
    for person in synced.people[3:60]:  # many leave DingTalk at once
        synced.sandbox.state.delete_user(person.userid)
    watch = sign_in(page, synced.url, "en")
    page.goto(f"{synced.url}/admin/dingtalk/corp")
    expect(page.locator("#recent-runs li")).to_have_count(1)  # the first import is listed
    page.click("#start-import")
    _wait_for_run(page, "previewed")
    _confirm_dialog(page, "#confirm-import")
    _wait_for_run(page, "held")
    expect(page.locator("#run-message")).to_contain_text("Delete protection")
    shot(page, "dingtalk-held-en")
    _confirm_dialog(page, "#accept-deletions")
    _wait_for_run(page, "applied")
    shot(page, "dingtalk-held-applied-en")
    with synced.app.app_context():
        from sqlalchemy import select

        from idaas.audit.models import AuditEvent
        from idaas.extensions import db

        actions = list(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor.like("admin:%")))
        )
    assert "dingtalk.sync.confirmed" in actions
    assert not watch.errors, watch.errors
