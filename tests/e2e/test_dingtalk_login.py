"""Browser tests of DingTalk sign-in over the sandbox (issue 7 acceptance a to e)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import PASSWORD, free_port, screenshot
from tests.dingtalk_login.conftest import quiet_harness_logs
from tests.dingtalk_login.support import (
    DINGTALK_UA,
    MICRO,
    configure,
    links_of,
    make_local,
    sandbox_config,
)
from tests.sandbox.fixtures import LiveSandbox, start_sandbox
from tests.support.live import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox() -> Iterator[LiveSandbox]:
    """A seeded sandbox corp on loopback."""
    with quiet_harness_logs():
        yield from start_sandbox(departments=6, users=30, seed=11)


def _site(
    make_app: Any, sandbox: LiveSandbox, leak_guard: Any, generation: str, **settings: Any
) -> Iterator[Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    script = f"{sandbox.url}/dingding/h5-dingtalk-login/0.21.0/ddlogin.js"
    app = make_app(
        WTF_CSRF_ENABLED=True,
        ISSUER=url,
        DINGTALK_LOGIN_SCRIPT_URL=script,
        **sandbox_config(sandbox),
    )
    with app.app_context():
        configure(sandbox, leak_guard, generation=generation, **settings)
        alice = make_local("alice", PASSWORD, display_name="Alice Wang", email="alice@example.com")
        listed = [u for u in list(sandbox.state.users.values())[:20] if u.active]
        with LiveServer(app, port=port) as server:
            yield SimpleNamespace(app=app, url=server.url, alice=alice, people=listed)


@pytest.fixture
def site(make_app: Any, sandbox: LiveSandbox, leak_guard: Any) -> Iterator[Any]:
    """idaas (new OAuth QR) on loopback with CSRF on, pointed at the sandbox; account alice."""
    yield from _site(make_app, sandbox, leak_guard, "oauth2")


@pytest.fixture
def sns_site(make_app: Any, sandbox: LiveSandbox, leak_guard: Any) -> Iterator[Any]:
    """The same with the legacy SNS login generation."""
    yield from _site(make_app, sandbox, leak_guard, "sns")


@pytest.fixture
def embedded_site(make_app: Any, sandbox: LiveSandbox, leak_guard: Any) -> Iterator[Any]:
    """New OAuth with the embedded QR (DTFrameLogin) on /login."""
    yield from _site(make_app, sandbox, leak_guard, "oauth2", embedded_qr=True)


def _scan(page: Any, site: Any, userid: str, shot: str | None = None) -> None:
    page.goto(f"{site.url}/login")
    page.locator("a.source-dingtalk").click()
    page.wait_for_selector(f'button[data-userid="{userid}"]')
    if shot:
        screenshot(page, shot)
    page.locator(f'button[data-userid="{userid}"]').click()


def _bind(page: Any, identifier: str, password: str) -> None:
    page.get_by_label("用户名、邮箱或手机号").fill(identifier)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="关联并登录").click()


def test_qr_sign_in_binds_then_signs_in_directly(page, site):
    person = site.people[0]
    _scan(page, site, person.userid, "dingtalk-sandbox-qr")
    page.wait_for_url("**/login/bind")
    assert person.name in page.locator("main").inner_text()
    screenshot(page, "dingtalk-bind")
    _bind(page, "alice", "wrong-password")
    assert page.locator("#bind-error").inner_text() == "账号或密码不正确。"
    screenshot(page, "dingtalk-bind-wrong-password")
    _bind(page, "alice@example.com", PASSWORD)
    page.wait_for_url("**/portal/")
    screenshot(page, "dingtalk-bound-portal")
    with site.app.app_context():
        assert [i.subject for i in links_of(site.alice.id)] == [person.userid]
    page.goto(f"{site.url}/portal/identities")
    assert person.name in page.locator("main").inner_text()  # the DingTalk name, not the userid
    screenshot(page, "dingtalk-linked-identities")
    page.locator(".me").get_by_role("button").click()
    page.wait_for_url("**/login")
    _scan(page, site, person.userid)
    page.wait_for_url("**/portal/")
    assert page.get_by_role("heading", name="您好，Alice Wang").is_visible()


def test_person_from_another_corp_is_refused(page, site, sandbox):
    sandbox.post(
        "/faults",
        {"errors": [{"endpoint": "topapi/user/getbyunionid", "errcode": 60121, "times": 1}]},
    )
    _scan(page, site, site.people[1].userid)
    page.wait_for_selector("#dingtalk-error")
    assert "不是本组织成员" in page.locator("h1").inner_text()
    screenshot(page, "dingtalk-outsider-refused")
    assert "/portal" not in page.url


def test_user_cancels_in_dingtalk(page, site):
    page.goto(f"{site.url}/login")
    page.locator("a.source-dingtalk").click()
    page.get_by_role("button", name="拒绝授权").click()
    page.wait_for_selector("#dingtalk-retry")
    screenshot(page, "dingtalk-cancelled")
    page.locator("#dingtalk-retry").click()
    page.wait_for_selector("button[data-userid]")


def test_legacy_sns_generation_end_to_end(page, sns_site):
    person = sns_site.people[2]
    _scan(page, sns_site, person.userid, "dingtalk-sandbox-sns")
    assert "/connect/qrconnect" in page.url or "/login/bind" in page.url
    page.wait_for_url("**/login/bind")
    _bind(page, "alice", PASSWORD)
    page.wait_for_url("**/portal/")
    page.locator(".me").get_by_role("button").click()
    page.wait_for_url("**/login")
    _scan(page, sns_site, person.userid)
    page.wait_for_url("**/portal/")


def _link_to_current_user(site: Any, sandbox: LiveSandbox, person: Any) -> None:
    """Link alice to `person` and make `person` the sandbox's current DingTalk user."""
    with site.app.app_context():
        from idaas.directory import service

        service.link_identity(
            "system",
            site.alice.id,
            provider="dingtalk",
            tenant=sandbox.state.corp_id,
            subject=person.userid,
            linked_via="manual",
        )
    sandbox.post("/current-user", {"userid": person.userid})


def test_micro_app_free_login_and_plain_browser_fallback(browser, site, sandbox):
    person = site.people[3]
    _link_to_current_user(site, sandbox, person)
    # Without `app` the target is the portal (with `app`: see the demo-app test below).
    url = f"{site.url}/login/dingtalk-micro/{MICRO}"
    inside = browser.new_context(locale="zh-CN", user_agent=DINGTALK_UA)
    try:
        page = inside.new_page()
        page.set_default_timeout(10_000)
        page.goto(url)
        # No page to fill in: the JSAPI code is posted and the person lands signed in.
        page.wait_for_url("**/portal/")
        screenshot(page, "dingtalk-micro-app-landed")
    finally:
        inside.close()
    plain = browser.new_context(locale="zh-CN")
    try:
        page = plain.new_page()
        page.goto(url)
        page.wait_for_selector(f'button[data-userid="{person.userid}"]')
        assert page.url.startswith(sandbox.url + "/oauth2/auth")
        page.locator(f'button[data-userid="{person.userid}"]').click()
        page.wait_for_url("**/portal/")
    finally:
        plain.close()


def test_micro_app_page_explains_a_jsapi_failure(browser, site, sandbox):
    with site.app.app_context():
        from idaas.dingtalk import connections

        connections.save("system", "corp", corp_id="dingsomeoneelse")  # a misconfigured corp
    inside = browser.new_context(locale="zh-CN", user_agent=DINGTALK_UA)
    try:
        page = inside.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{site.url}/login/dingtalk-micro/{MICRO}?app=demo-app")
        page.wait_for_selector("#dt-micro-error:not([hidden])")
        screenshot(page, "dingtalk-micro-app-jsapi-error")
        # Inside DingTalk no QR code is offered; the messages are Chinese, DingTalk's code small.
        text = page.locator("main").inner_text()
        assert "钉钉拒绝了此次登录。" in text and "扫码" not in text
        assert page.locator("#dt-micro-error code").inner_text()
        page.get_by_role("link", name="重试").click()
        page.wait_for_selector("#dt-micro-error:not([hidden])")
    finally:
        inside.close()


def test_embedded_qr_on_the_login_page(page, browser, embedded_site):
    """DingTalk's embedded QR (§2.2): the frame shows a whole QR code and one caption; the
    person scans it with the phone, confirms there, and the login page goes on by itself."""
    person = embedded_site.people[4]
    page.goto(f"{embedded_site.url}/login")
    frame = page.frame_locator("#dt-qr-dingtalk iframe")
    qr = frame.locator("[data-scan-url]")
    qr.wait_for()
    # No button repeats what the frame says, and the frame fits the QR code without scrolling.
    assert page.locator("a.source-dingtalk").count() == 0
    assert frame.locator("body").inner_text().strip() == "请使用钉钉扫描二维码登录"
    sizes = frame.locator("html").evaluate(
        "e => [e.scrollWidth, e.scrollHeight, e.clientWidth, e.clientHeight]"
    )
    assert sizes[0] <= sizes[2] and sizes[1] <= sizes[3], sizes
    box = qr.bounding_box()
    outer = page.locator("#dt-qr-dingtalk iframe").bounding_box()
    assert box["y"] >= outer["y"] and box["y"] + box["height"] <= outer["y"] + outer["height"]
    screenshot(page, "dingtalk-embedded-qr")
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 800})
    try:
        scan = phone.new_page()
        scan.goto(qr.get_attribute("data-scan-url"))
        scan.locator(f'button[data-userid="{person.userid}"]').click()
        scan.wait_for_selector("#scan-done")
    finally:
        phone.close()
    page.wait_for_url("**/login/bind")
    _bind(page, "alice", PASSWORD)
    page.wait_for_url("**/portal/")


def test_keyboard_does_not_tab_into_the_embedded_qr(page, embedded_site):
    page.goto(f"{embedded_site.url}/login")
    page.frame_locator("#dt-qr-dingtalk iframe").locator("[data-scan-url]").wait_for()
    assert page.locator("#dt-qr-dingtalk iframe").get_attribute("tabindex") == "-1"
    visited = []
    for _ in range(25):
        page.keyboard.press("Tab")
        visited.append(page.evaluate("(e => e.tagName + '#' + e.id)(document.activeElement)"))
    assert not [v for v in visited if v.startswith("IFRAME")], visited
    # Focus stays in idaas's own page: after the last control it comes back round, never inside.
    assert any(v.startswith("INPUT#identifier") for v in visited)
    assert any(v == "A#forgot-password" for v in visited)


@pytest.fixture
def demo_app(site: Any, leak_guard: Any) -> Iterator[Any]:
    """The demo relying party on loopback, registered in idaas as a first-party application."""
    from idaas.applications import apps
    from idaas.sandbox.relying_party import create_relying_party

    port = free_port()
    rp_url = f"http://127.0.0.1:{port}"
    with site.app.app_context():
        registered, secret = apps.create_application(
            "system",
            name="示例应用 Demo app",
            redirect_uris=[f"{rp_url}/callback"],
            initiate_login_uri=f"{rp_url}/initiate",
            consent_required=False,
        )
        client_id = registered.client_id
    leak_guard.register(secret)
    rp = create_relying_party(site.url, client_id, secret, public_base=rp_url)
    with LiveServer(rp, port=port) as server:
        yield SimpleNamespace(url=server.url, client_id=client_id, rp=rp)


def _rp_claims(page: Any, demo_app: Any) -> dict[str, Any]:
    """What the demo app received, read through the browser (its session cookie)."""
    state: dict[str, Any] = page.request.get(f"{demo_app.url}/_rp/state").json()
    return state


def test_from_the_demo_app_qr_sign_in_binds_and_returns_with_an_id_token(page, site, demo_app):
    person = site.people[5]
    page.goto(demo_app.url)
    page.locator("#login").click()
    page.wait_for_url("**/login**")
    page.locator("a.source-dingtalk").click()
    page.wait_for_selector(f'button[data-userid="{person.userid}"]')
    page.locator(f'button[data-userid="{person.userid}"]').click()
    page.wait_for_url("**/login/bind")
    _bind(page, "alice", PASSWORD)
    # Linked and signed in, the pending authorization request resumes: back in the app.
    page.wait_for_url(f"{demo_app.url}/")
    page.wait_for_selector("#welcome")
    screenshot(page, "dingtalk-qr-into-demo-app")
    state = _rp_claims(page, demo_app)
    # The RP accepted the ID token only after checking it against idaas's JWKS (authlib).
    assert state["signed_in"]
    assert state["id_claims"]["preferred_username"] == "alice"
    assert state["id_claims"]["iss"] == site.url
    assert [i.subject for i in links_of(site.alice.id)] == [person.userid]


def test_micro_app_free_login_lands_in_the_demo_app(browser, site, sandbox, demo_app):
    person = site.people[4]
    _link_to_current_user(site, sandbox, person)
    url = f"{site.url}/login/dingtalk-micro/{MICRO}?app={demo_app.client_id}"
    inside = browser.new_context(locale="zh-CN", user_agent=DINGTALK_UA)
    try:
        page = inside.new_page()
        page.set_default_timeout(15_000)
        page.goto(url)
        # Inside DingTalk: no page to fill in, straight into the application.
        page.wait_for_url(f"{demo_app.url}/")
        page.wait_for_selector("#welcome")
        screenshot(page, "dingtalk-micro-app-into-demo-app")
        assert _rp_claims(page, demo_app)["id_claims"]["preferred_username"] == "alice"
    finally:
        inside.close()
    plain = browser.new_context(locale="zh-CN")
    try:
        page = plain.new_page()
        page.set_default_timeout(15_000)
        page.goto(url)
        # A plain browser gets the QR flow, then the same application.
        page.wait_for_selector(f'button[data-userid="{person.userid}"]')
        page.locator(f'button[data-userid="{person.userid}"]').click()
        page.wait_for_url(f"{demo_app.url}/")
        page.wait_for_selector("#welcome")
    finally:
        plain.close()
