"""The sandbox's login pages and JSAPI stand-in in headless Chromium (dingtalk-api.md §2, §3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask, jsonify, request

from idaas.dingtalk.client import DingTalkClient
from tests.conftest import screenshot
from tests.sandbox import fixtures as fx
from tests.sandbox.fixtures import LiveSandbox, fast_live

# The shared sandbox fixtures (tests/e2e has no conftest of its own for them).
http = fx.http
live_sandbox = fx.live_sandbox
dingtalk = fx.dingtalk

pytestmark = pytest.mark.e2e

MICRO_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>微应用</title><script src="{sandbox}/dingding/dingtalk-jsapi/2.10.3/dingtalk.open.js">
</script></head><body style="font:16px sans-serif;padding:24px">
<h1>钉钉工作台微应用（免登）</h1><p id="legacy">legacy…</p><p id="mini">mini…</p>
<p id="current">current…</p><p id="wrong">wrong corp…</p>
<script>
function resolve(code, target) {{
  return fetch('/micro/login', {{method: 'POST', body: code}}).then(r => r.text())
    .then(t => {{ document.getElementById(target).textContent = target + ': ' + t; }});
}}
dd.ready(function () {{
  dd.runtime.permission.requestAuthCode({{corpId: '{corp}',
    onSuccess: function (r) {{ resolve(r.code, 'legacy').then(function () {{
      dd.getAuthCode({{corpId: '{corp}', success: function (res) {{
        resolve(res.authCode, 'mini').then(function () {{
          dd.requestAuthCode({{corpId: '{corp}', clientId: '{client}'}}).then(function (r2) {{
            return resolve(r2.code, 'current'); }});
        }}); }} }});
    }}); }},
    onFail: function (e) {{
      document.getElementById('legacy').textContent = 'fail ' + e.errorCode; }}
  }});
  dd.requestAuthCode({{corpId: 'dingother', onSuccess: function () {{}},
    onFail: function (e) {{ document.getElementById('wrong').textContent =
      'wrong corp refused: ' + e.errorCode; }} }});
}});
</script></body></html>"""


def relying_party(client: DingTalkClient, sandbox: LiveSandbox) -> Flask:
    """A tiny app that uses the idaas client the way the login blueprints will."""
    app = Flask("rp")

    @app.get("/sns")
    def sns() -> Any:
        """Legacy QR callback: exchange the code, resolve the userid (§2.1 steps 2-4)."""
        info = client.sns_user_info(request.args["code"])
        userid = client.userid_by_unionid(info["unionid"])["userid"]
        return (
            f"<h1>已登录：{info['nick']}</h1><p id=userid>{userid}</p>"
            f"<p id=state>{request.args.get('state')}</p>"
        )

    @app.get("/oauth")
    def oauth() -> Any:
        """New OAuth callback: userAccessToken, users/me, getbyunionid (§2.2)."""
        assert request.args["code"] == request.args["authCode"]
        tokens = client.user_access_token(request.args["authCode"])
        me = client.user_profile(tokens["accessToken"])
        userid = client.userid_by_unionid(me["unionId"])["userid"]
        return (
            f"<h1>已登录：{me['nick']}</h1><p id=userid>{userid}</p>"
            f"<p id=state>{request.args.get('state')}</p>"
        )

    @app.get("/micro")
    def micro() -> Any:
        """A micro-app page using the JSAPI stand-in (§3.1)."""
        return MICRO_PAGE.format(
            sandbox=sandbox.url, corp=sandbox.state.corp_id, client=client.app.app_key
        )

    @app.post("/micro/login")
    def micro_login() -> Any:
        """Exchange a free-login code server-side (§3.2)."""
        info = client.micro_app_user_info(request.get_data(as_text=True))
        return jsonify(info["userid"])

    return app


@pytest.fixture
def rp(dingtalk: DingTalkClient, live_sandbox: LiveSandbox) -> Iterator[str]:
    """The relying party on loopback."""
    with fast_live(relying_party(dingtalk, live_sandbox)) as server:
        yield server.url


def _someone(sandbox: LiveSandbox, index: int) -> Any:
    return list(sandbox.state.users.values())[index]


def test_legacy_qr_login_in_browser(
    page: Any,
    live_sandbox: LiveSandbox,
    dingtalk: DingTalkClient,
    rp: str,
) -> None:
    """§2.1: the QR page shows a real QR code and people; confirming lands on the RP."""
    user = _someone(live_sandbox, 4)
    page.goto(dingtalk.sns_login_url(f"{rp}/sns", "legacy-state"))
    assert page.locator(".qr-code svg").count() == 1
    screenshot(page, "sandbox-dingtalk-qrconnect")
    page.fill("input[name=q]", user.name)
    page.click("button[type=submit]:has-text('搜索')")
    page.click(f"button[data-userid='{user.userid}']")
    page.wait_for_url(f"{rp}/sns?*")
    assert page.inner_text("#userid") == user.userid
    assert page.inner_text("#state") == "legacy-state"
    assert user.name in page.inner_text("h1")
    screenshot(page, "sandbox-dingtalk-qrconnect-done")


def test_new_oauth_login_in_browser(
    page: Any,
    live_sandbox: LiveSandbox,
    dingtalk: DingTalkClient,
    rp: str,
) -> None:
    """§2.2: the login.dingtalk.com page redirects with authCode=code and state."""
    user = _someone(live_sandbox, 5)
    page.goto(dingtalk.oauth2_login_url(f"{rp}/oauth", "new-state"))
    assert page.get_by_text("拒绝授权").count() == 1
    screenshot(page, "sandbox-dingtalk-oauth2")
    page.click(f"button[data-userid='{user.userid}']")
    page.wait_for_url(f"{rp}/oauth?*")
    assert page.inner_text("#userid") == user.userid
    assert page.inner_text("#state") == "new-state"
    screenshot(page, "sandbox-dingtalk-oauth2-done")


def test_scan_page_confirms_login(
    page: Any,
    live_sandbox: LiveSandbox,
    dingtalk: DingTalkClient,
    rp: str,
    http: httpx.Client,
) -> None:
    """The QR code's URL opens the phone-side confirm page, which completes the login."""
    user = _someone(live_sandbox, 6)
    page.goto(dingtalk.oauth2_login_url(f"{rp}/oauth", "scan"))
    scan_url = page.get_attribute("a[href*='/_sandbox/scan/']", "href")
    assert scan_url
    phone = page.context.new_page()
    phone.set_viewport_size({"width": 390, "height": 800})
    phone.goto(scan_url)
    screenshot(phone, "sandbox-dingtalk-scan-phone")
    phone.click(f"button[data-userid='{user.userid}']")
    phone.wait_for_url(f"{rp}/oauth?*")
    assert phone.inner_text("#userid") == user.userid


def test_micro_app_free_login_in_browser(
    page: Any,
    live_sandbox: LiveSandbox,
    rp: str,
) -> None:
    """§3.1/§3.2: legacy, mini-program and current JSAPI calls get codes for the current user."""
    user = _someone(live_sandbox, 7)
    live_sandbox.post("/current-user", {"userid": user.userid})
    page.goto(f"{rp}/micro")
    page.wait_for_function("document.getElementById('current').textContent.includes('\"')")
    assert page.inner_text("#legacy") == f'legacy: "{user.userid}"'
    assert page.inner_text("#mini") == f'mini: "{user.userid}"'
    assert page.inner_text("#current") == f'current: "{user.userid}"'
    assert page.inner_text("#wrong") == "wrong corp refused: 3"
    screenshot(page, "sandbox-dingtalk-micro-app")


def test_sandbox_home_page(page: Any, live_sandbox: LiveSandbox) -> None:
    """The newcomer's view: corp, app credentials, current user, links."""
    page.goto(f"{live_sandbox.url}/_sandbox/")
    assert live_sandbox.state.default_app.app_key in page.content()
    screenshot(page, "sandbox-dingtalk-home")
