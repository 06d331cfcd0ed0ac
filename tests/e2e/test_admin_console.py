"""Browser tests of the admin console: each page family's main task in zh_CN and en,
keyboard-only creation, narrow screens, no console errors (the job progress bar is
followed on a real engine job in test_admin_dingtalk.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import ADMIN_PASSWORD, ARTIFACTS, PASSWORD
from tests.support.live import LiveServer

pytestmark = pytest.mark.e2e
SHOTS = ARTIFACTS / "screenshots" / "admin"


def shot(page: Any, name: str) -> Path:
    """Full-page screenshot under test-artifacts/screenshots/admin/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def console(make_app: Any, leak_guard: Any) -> Iterator[SimpleNamespace]:
    """An app with CSRF on and some directory data, served on loopback; root is super admin."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from idaas.applications import apps
        from idaas.directory import service
        from idaas.directory.bootstrap import ensure_administrator
        from idaas.extensions import db

        root, _ = ensure_administrator("system", "root", ADMIN_PASSWORD)
        root.must_change_password = False
        db.session.commit()
        hq = service.create_department("system", name="总部")
        rd = service.create_department("system", name="研发部", parent_id=hq.id)
        service.create_department("system", name="后端组", parent_id=rd.id)
        for i in range(8):
            service.create_account(
                "system",
                username=f"user{i}",
                display_name=f"员工 {i}",
                email=f"user{i}@example.com",
                memberships=[rd.id],
                password=PASSWORD,
                must_change_password=False,
            )
        apps.create_application(
            "system", name="内部 Wiki", redirect_uris=["https://wiki.example/cb"]
        )
        from idaas.applications import service as clients

        clients.submit_request(
            name="HR 系统", contact="hr@example.com", scopes=["directory:read"], reason="同步"
        )
        with LiveServer(app) as server:
            yield SimpleNamespace(app=app, url=server.url, rd=rd.id)


class Console:
    """Collects console errors and page errors of a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def sign_in(page: Any, url: str, lang: str) -> Console:
    """Sign in as root in `lang` (zh or en) and land on the console."""
    watch = Console(page)
    page.goto(f"{url}/lang/{'zh_CN' if lang == 'zh' else 'en'}?next=/login")
    page.fill("#identifier", "root")
    page.fill("#password", ADMIN_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**/portal/**")
    page.goto(f"{url}/admin/")
    return watch


TEXT = {
    "zh": {
        "saved": "已保存",
        "created": "部门已创建",
        "disabled_n": "已修改 2 个账号",
        "copy": "仅显示这一次",
    },
    "en": {
        "saved": "saved",
        "created": "The department has been created.",
        "disabled_n": "2 account(s) changed.",
        "copy": "shown only once",
    },
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_main_task_of_each_page_family(page: Any, console: SimpleNamespace, lang: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 860})
    watch = sign_in(page, console.url, lang)
    t = TEXT[lang]
    shot(page, f"dashboard-{lang}")

    # Directory: expand the tree lazily, create a sub-department.
    page.click("#admin-nav a[href='/admin/departments']")
    page.locator(".tree-toggle").first.click()
    page.wait_for_selector("text=研发部")
    page.locator(".tree-toggle").nth(1).click()
    page.wait_for_selector("text=后端组")
    shot(page, f"departments-tree-{lang}")
    page.click("text=研发部")
    page.click("#new-subdepartment")
    page.fill("#name", f"测试组-{lang}")
    page.click("#create-department")
    assert t["created"] in page.inner_text(".flash")
    shot(page, f"department-{lang}")

    # Accounts: filter by department, bulk-disable two through the confirm dialog.
    page.goto(f"{console.url}/admin/accounts?department={console.rd}")
    boxes = page.locator("input[name=ids]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.select_option("#bulk-action", "disable")
    page.click("#bulk-apply")
    page.wait_for_selector("#confirm-button")
    shot(page, f"accounts-bulk-confirm-{lang}")
    page.click("#confirm-button")
    assert t["disabled_n"] in page.inner_text(".flash")
    shot(page, f"accounts-{lang}")
    page.click("text=user2")
    shot(page, f"account-detail-{lang}")
    # Reset the password through the dialog: the one-time password is shown once.
    page.click("#reset-password")
    page.wait_for_selector("dialog.confirm-dialog[open]")
    shot(page, f"confirm-dialog-{lang}")
    page.click("#dialog-confirm")
    page.wait_for_selector("#secret-once")
    assert t["copy"] in page.inner_text("#secret-once")
    shot(page, f"secret-once-{lang}")

    # Applications: create one, the secret is shown once.
    page.goto(f"{console.url}/admin/applications/new")
    page.fill("#name", f"报销系统 {lang}")
    page.fill("#redirect_uris", "https://expense.example/callback")
    page.click("#save-application")
    page.wait_for_selector("#secret-once")
    page.click("#secret-done")
    shot(page, f"application-{lang}")

    # API clients: create with a scope.
    page.goto(f"{console.url}/admin/clients/new")
    page.fill("#name", f"SCIM 同步 {lang}")
    page.check("input[value='directory:read']")
    page.click("#create-client")
    page.wait_for_selector("#secret-once")
    page.goto(f"{console.url}/admin/clients")
    shot(page, f"clients-{lang}")

    # Integration requests: reject with a reason (confirm page).
    page.goto(f"{console.url}/admin/requests")
    if page.locator(".request .danger").count():
        page.locator(".request .danger").first.click()
        page.fill("#reason", "请先走内部审批")
        page.click("#confirm-button")
    shot(page, f"requests-{lang}")

    # Keys: rotate now through the dialog.
    page.goto(f"{console.url}/admin/keys")
    page.click("#rotate-key")
    page.click("#dialog-confirm")
    page.wait_for_selector("#keys-table")
    shot(page, f"keys-{lang}")

    # Audit log: filter by actor, open one event.
    page.goto(f"{console.url}/admin/audit")
    page.fill("#a-actor", "admin:*")
    page.click("#apply-audit-filters")
    page.locator("table.data tbody a").first.click()
    page.wait_for_selector("#audit-details")
    shot(page, f"audit-event-{lang}")
    page.goto(f"{console.url}/admin/audit?actor=admin:*")
    shot(page, f"audit-{lang}")

    # Groups, roles and the data dictionary: create one of each.
    page.goto(f"{console.url}/admin/groups")
    page.fill("#group-name", f"财务组 {lang}")
    page.click("#create-group")
    assert page.locator("#groups-table", has_text=f"财务组 {lang}").count() == 1
    shot(page, f"groups-{lang}")
    page.goto(f"{console.url}/admin/roles")
    page.fill("#role-code", f"expense.approver-{lang}")
    page.fill("#role-name", f"报销审批 {lang}")
    page.fill("#role-permissions", "expense:approve")
    page.click("#create-role")
    assert page.locator("#roles-table", has_text=f"expense.approver-{lang}").count() == 1
    shot(page, f"roles-{lang}")
    page.goto(f"{console.url}/admin/attributes")
    page.fill("#attr-key", f"cost_center_{lang}")
    page.fill("#attr-label", "成本中心")
    page.click("#create-attribute")
    assert page.get_by_text(f"cost_center_{lang}").count() == 1
    shot(page, f"attributes-{lang}")
    # Administrators: grant the auditor role to user3.
    page.goto(f"{console.url}/admin/admins")
    page.fill("#grant-account", "user3")
    page.select_option("#grant-role", "auditor")
    page.click("#grant-button")
    assert page.locator("#admins-table", has_text="user3").count() == 1

    for path, name in [
        ("/admin/signin", "signin"),
        ("/admin/admins", "admins"),
        ("/admin/search?q=user", "search"),
        ("/admin/accounts/import", "import"),
    ]:
        page.goto(console.url + path)
        shot(page, f"{name}-{lang}")
    assert watch.errors == []


def tab_to(page: Any, selector: str, limit: int = 120) -> None:
    """Press Tab until the focused element matches `selector`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


def wait_for_focus(page: Any, selector: str) -> None:
    """Wait until autofocus has put the focus on `selector` (Chromium applies it after load)."""
    page.wait_for_function(
        "(s) => document.activeElement && document.activeElement.matches(s)", arg=selector
    )


def test_keyboard_only_department_account_application(page: Any, console: SimpleNamespace) -> None:
    page.set_viewport_size({"width": 1280, "height": 860})
    watch = sign_in(page, console.url, "en")
    tab_to(page, "#admin-nav a[href='/admin/departments']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/departments")
    tab_to(page, "#new-department")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/departments/new")
    wait_for_focus(page, "#name")
    page.keyboard.type("Keyboard Team")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=The department has been created.")
    tab_to(page, "#dept-members")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/accounts?department=*")
    tab_to(page, "#new-account")
    page.keyboard.press("Enter")
    page.wait_for_selector("#new-account-department")
    wait_for_focus(page, "#username")
    page.keyboard.type("keys")
    page.keyboard.press("Tab")
    page.keyboard.type("Keyboard Person")
    page.keyboard.press("Enter")
    page.wait_for_selector("#secret-once")
    tab_to(page, "#secret-done")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/accounts/*")
    page.wait_for_selector("text=Keyboard Team")
    tab_to(page, "#admin-nav a[href='/admin/applications']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/applications")
    tab_to(page, "#new-application")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/applications/new")
    wait_for_focus(page, "#name")
    page.keyboard.type("Keyboard App")
    tab_to(page, "#redirect_uris")
    page.keyboard.type("https://kbd.example/cb")
    tab_to(page, "#save-application")
    # Focus is visible on the button it reached.
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("Enter")
    page.wait_for_selector("#secret-once")
    shot(page, "keyboard-application-created-en")
    with console.app.app_context():
        from idaas.applications import apps
        from idaas.directory import service

        person = service.find_by_identifier("keys")
        assert [service.get_department(m.department_id).name for m in person.memberships] == [
            "Keyboard Team"
        ]
        assert "Keyboard App" in [a.name for a in apps.list_applications()]
    assert watch.errors == []


def test_readable_at_390px(browser: Any, console: SimpleNamespace) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        watch = sign_in(page, console.url, "zh")
        for path, name in [
            ("/admin/", "dashboard"),
            ("/admin/accounts", "accounts"),
            ("/admin/audit", "audit"),
        ]:
            page.goto(console.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            wide = page.evaluate(
                "Array.from(document.querySelectorAll('body *'))"
                ".filter(e => e.getBoundingClientRect().right > 392)"
                ".slice(0, 5).map(e => e.tagName + '.' + e.className)"
            )
            assert width <= 392, (path, width, wide)
            shot(page, f"{name}-zh-390")
        assert watch.errors == []
    finally:
        context.close()


def test_drag_a_department_onto_another(page: Any, console: SimpleNamespace) -> None:
    page.set_viewport_size({"width": 1280, "height": 860})
    watch = sign_in(page, console.url, "en")
    with console.app.app_context():
        from idaas.directory import service

        target = service.create_department("system", name="Target")
        target_id = target.id
    page.goto(f"{console.url}/admin/departments")
    page.locator(".tree-toggle").first.click()
    page.wait_for_selector("text=研发部")
    page.locator(".tree-label", has_text="研发部").drag_to(
        page.locator(".tree-label", has_text="Target")
    )
    page.wait_for_selector("text=The department has been moved.")
    with console.app.app_context():
        from idaas.directory import service
        from idaas.extensions import db

        db.session.rollback()
        assert service.get_department(console.rd).parent_id == target_id
    assert watch.errors == []
