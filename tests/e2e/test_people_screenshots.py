"""Screenshots of every page people see, in zh_CN and en, at 1280 px and 390 px (issue 17).

Saved under test-artifacts/screenshots/people/<page>-<language>-<width>.png (git-ignored).
Each step also checks what the picture is meant to show: no horizontal overflow at 390 px,
the page in one language, the pending application, the real sign-in methods, and so on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import abort

from tests.conftest import ARTIFACTS, PASSWORD, free_port
from tests.dingtalk_login.conftest import quiet_harness_logs
from tests.dingtalk_login.support import (
    DINGTALK_UA,
    MICRO,
    configure,
    make_local,
    sandbox_config,
)
from tests.sandbox.fixtures import LiveSandbox, start_sandbox
from tests.support.live import LiveServer

pytestmark = pytest.mark.e2e
SHOTS = ARTIFACTS / "screenshots" / "people"
ERRORS = (400, 403, 409, 410, 429, 500, 502, 503)
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
COPY = {
    "zh_CN": {"allow": "允许", "sign_in": "登录", "sessions": "登录会话", "locale": "zh-CN"},
    "en": {"allow": "Allow", "sign_in": "Sign in", "sessions": "Sessions", "locale": "en-US"},
}


@pytest.fixture
def sandbox() -> Iterator[LiveSandbox]:
    """A seeded sandbox corp on loopback."""
    with quiet_harness_logs():
        yield from start_sandbox(departments=6, users=30, seed=17)


@pytest.fixture
def site(make_app: Any, sandbox: LiveSandbox, leak_guard: Any) -> Iterator[Any]:
    """Branded idaas with CSRF on, DingTalk sources, alice (linked), bob (MFA), a demo app."""
    from idaas.applications import apps
    from idaas.auth.models import AccountMfa
    from idaas.directory import service
    from idaas.extensions import db, utcnow
    from idaas.sandbox.relying_party import create_relying_party
    from idaas.security import secretbox

    port, rp_port = free_port(), free_port()
    url, rp_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{rp_port}"
    app = make_app(
        WTF_CSRF_ENABLED=True,
        ISSUER=url,
        DINGTALK_LOGIN_SCRIPT_URL=f"{sandbox.url}/dingding/h5-dingtalk-login/0.21.0/ddlogin.js",
        BRAND_NAME={"zh_CN": "星河科技", "en": "Galaxy Tech"},
        BRAND_LOGIN_NOTICE={
            "zh_CN": "本周六 22:00 至 23:00 系统维护，期间可能无法登录。",
            "en": "Maintenance on Saturday 22:00-23:00: sign-in may be unavailable.",
        },
        **sandbox_config(sandbox),
    )

    @app.get("/_test/error/<int:status>")
    def error_page(status: int) -> Any:
        """Raise an HTTP error to show its page (a test-only route)."""
        abort(status)

    @app.get("/_test/crash")
    def crash() -> Any:
        """An unexpected exception (a test-only route)."""
        raise RuntimeError("boom")

    with app.app_context():
        configure(sandbox, leak_guard)
        # The sandbox's QR page lists its first 20 people.
        crowd = [u for u in list(sandbox.state.users.values())[:20] if u.active]
        alice = make_local("alice", PASSWORD, display_name="王小丽", email="alice@example.com")
        service.link_identity(
            "system",
            alice.id,
            provider="dingtalk",
            tenant=sandbox.state.corp_id,
            subject=crowd[0].userid,
            linked_via="manual",
        )
        bob = make_local("bob", PASSWORD, display_name="李明")
        db.session.add(
            AccountMfa(
                account_id=bob.id,
                totp_secret=secretbox.encrypt(TOTP_SECRET),
                totp_confirmed_at=utcnow(),
            )
        )
        db.session.commit()
        registered, secret = apps.create_application(
            "system",
            name="Expenses",
            display_names={"zh_CN": "报销系统", "en": "Expenses"},
            redirect_uris=[f"{rp_url}/callback"],
            initiate_login_uri=f"{rp_url}/initiate",
            consent_required=True,
        )
        leak_guard.register(secret)
        rp = create_relying_party(url, registered.client_id, secret, public_base=rp_url)
        with LiveServer(app, port=port) as server, LiveServer(rp, port=rp_port) as rp_server:
            yield SimpleNamespace(
                app=app,
                url=server.url,
                rp_url=rp_server.url,
                client_id=registered.client_id,
                alice_person=crowd[0],
                stranger=crowd[1],
            )


def _shoot(page: Any, name: str, language: str, width: int) -> Path:
    """Save the full page and check it does not scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}-{language}-{width}.png"
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path), full_page=True)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    return path


def _context(browser: Any, site: Any, language: str, width: int, **extra: Any) -> Any:
    context = browser.new_context(
        locale=COPY[language]["locale"], viewport={"width": width, "height": 900}, **extra
    )
    context.add_cookies([{"name": "lang", "value": language, "url": site.url}])
    context.set_default_timeout(15_000)
    return context


def _password_sign_in(page: Any, username: str, language: str) -> None:
    page.locator("#identifier").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").first.click()


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_screenshots(browser, site, sandbox, language, width):
    from idaas.auth import sources
    from idaas.auth.sources.dingtalk import clean_settings
    from tests.dingtalk_login.support import QR

    words = COPY[language]

    def shoot(page: Any, name: str) -> None:
        _shoot(page, name, language, width)

    context = _context(browser, site, language, width)
    page = context.new_page()
    page.goto(f"{site.url}/login")
    shoot(page, "login")
    # From the application: the login page names it; then consent; then the app.
    page.goto(site.rp_url)
    page.locator("#login").click()
    page.wait_for_url("**/login?next=oidc*")
    app_name = "报销系统" if language == "zh_CN" else "Expenses"
    assert app_name in page.locator("#pending-app").inner_text()
    shoot(page, "login-pending-app")
    _password_sign_in(page, "alice", language)
    page.wait_for_selector("#consent-title")
    assert app_name in page.locator("#consent-title").inner_text()
    shoot(page, "consent")
    page.get_by_role("button", name=words["allow"]).click()
    page.wait_for_url(f"{site.rp_url}/")
    for path, name in (
        ("/portal/", "portal-home"),
        ("/portal/profile", "portal-profile"),
        ("/portal/password", "portal-password"),
        ("/portal/mfa", "portal-mfa"),
        ("/portal/sessions", "portal-sessions"),
        ("/portal/identities", "portal-identities"),
        ("/portal/permissions", "portal-consents"),
    ):
        answer = page.goto(site.url + path)
        assert answer is not None and answer.status == 200, path
        shoot(page, name)
        if width == 390:
            tabs = page.locator("nav.side a")
            for index in range(tabs.count()):
                box = tabs.nth(index).bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, (path, index, box)
    page.goto(site.url + "/portal/identities")
    assert site.alice_person.name in page.locator("#identity-list").inner_text()
    # Every error page, in the portal's card style.
    page.goto(site.url + "/no-such-page")
    shoot(page, "error-404")
    page.goto(site.url + "/portal/sessions/others/revoke")
    shoot(page, "error-405")
    for status in ERRORS:
        page.goto(f"{site.url}/_test/error/{status}")
        assert page.locator(f'[data-status="{status}"]').count() == 1
        shoot(page, f"error-{status}")
    page.goto(site.url + "/_test/crash")
    assert page.locator('[data-status="500"]').count() == 1
    page.goto(site.url + "/oauth2/authorize?client_id=nope&response_type=code&scope=openid")
    assert page.locator("#oidc-error-text").inner_text()
    shoot(page, "error-oidc")
    context.close()

    # The DingTalk QR scan of a person not linked yet: the binding page.
    context = _context(browser, site, language, width)
    page = context.new_page()
    page.goto(f"{site.url}/login")
    page.locator("a.source-dingtalk").click()
    page.locator(f'button[data-userid="{site.stranger.userid}"]').click()
    page.wait_for_url("**/login/bind")
    shoot(page, "bind")
    page.goto(f"{site.url}/login")
    _password_sign_in(page, "bob", language)
    page.wait_for_url("**/login/mfa")
    shoot(page, "mfa")
    page.goto(f"{site.url}/login/reset/")
    shoot(page, "reset-start")
    page.locator("#identifier").fill("alice")
    page.locator("#reset-send-code").click()
    page.wait_for_url("**/login/reset/code/*")
    shoot(page, "reset-code")
    context.close()

    # The embedded QR as DingTalk shows it.
    with site.app.app_context():
        settings = clean_settings({"connection": "corp", "embedded_qr": True})
        sources.save(QR, "dingtalk", "DingTalk", order=10, settings=settings)
    context = _context(browser, site, language, width)
    page = context.new_page()
    page.goto(f"{site.url}/login")
    page.frame_locator("#dt-qr-dingtalk iframe").locator("[data-scan-url]").wait_for()
    shoot(page, "login-embedded-qr")
    context.close()

    # The workbench micro-app: success lands in the portal; a failure explains itself.
    sandbox.post("/current-user", {"userid": site.alice_person.userid})
    context = _context(browser, site, language, width, user_agent=DINGTALK_UA)
    page = context.new_page()
    page.goto(f"{site.url}/login/dingtalk-micro/{MICRO}")
    page.wait_for_url("**/portal/")
    shoot(page, "micro-app-success")
    sessions = page.goto(f"{site.url}/portal/sessions")
    assert sessions is not None
    methods = page.locator(".session-method").all_inner_texts()
    assert ("钉钉工作台" if language == "zh_CN" else "DingTalk workbench") in methods
    context.close()
    with site.app.app_context():
        from idaas.dingtalk import connections

        connections.save("system", "corp", corp_id="dingsomeoneelse")
    try:
        context = _context(browser, site, language, width, user_agent=DINGTALK_UA)
        page = context.new_page()
        page.goto(f"{site.url}/login/dingtalk-micro/{MICRO}")
        page.wait_for_selector("#dt-micro-error:not([hidden])")
        shoot(page, "micro-app-failure")
        context.close()
    finally:
        with site.app.app_context():
            connections.save("system", "corp", corp_id=sandbox.state.corp_id)
