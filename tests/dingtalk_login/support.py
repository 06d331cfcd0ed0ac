"""Helpers for DingTalk sign-in tests: configure idaas against a live sandbox, drive the flows."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.sandbox.fixtures import LiveSandbox

QR = "dingtalk"
MICRO = "dingtalk-app"
DINGTALK_UA = "Mozilla/5.0 (iPhone) AliApp(DingTalk/7.6.0) DingTalk/7.6.0 Channel/201200"


def sandbox_config(sandbox: LiveSandbox) -> dict[str, Any]:
    """idaas config pointing every DingTalk host (and the JSAPI script) at the sandbox."""
    return {
        "DINGTALK_OAPI_BASE": sandbox.url,
        "DINGTALK_API_BASE": sandbox.url,
        "DINGTALK_LOGIN_BASE": sandbox.url,
        "DINGTALK_JSAPI_URL": f"{sandbox.url}/dingding/dingtalk-jsapi/3.1.0/dingtalk.open.js",
    }


def configure(
    sandbox: LiveSandbox, leak_guard: Any, generation: str = "oauth2", **settings: Any
) -> None:
    """A connection to the sandbox corp and both DingTalk sources (inside an app context)."""
    from idaas.auth import sources
    from idaas.auth.sources.dingtalk import clean_settings
    from idaas.dingtalk import connections

    app = sandbox.state.default_app
    leak_guard.register(app.app_secret)
    connections.save(
        "system",
        "corp",
        corp_id=sandbox.state.corp_id,
        app_key=app.app_key,
        app_secret=app.app_secret,
        agent_id=str(app.agent_id),
        login_generation=generation,
    )
    clean = clean_settings({"connection": "corp", **settings})
    sources.save(QR, "dingtalk", "DingTalk", order=10, settings=clean)
    sources.save(MICRO, "dingtalk_micro", "DingTalk workbench", show_on_login=False, settings=clean)


def people(sandbox: LiveSandbox) -> list[Any]:
    """The sandbox corp's active people, in a stable order."""
    return sorted((u for u in sandbox.state.users.values() if u.active), key=lambda u: u.userid)


def state_of(location: str) -> str:
    """The `state` parameter of a DingTalk authorize URL."""
    return parse_qs(urlsplit(location).query)["state"][0]


def issue_code(sandbox: LiveSandbox, userid: str, kind: str, leak_guard: Any) -> str:
    """A login code for `userid` from the sandbox control API (registered as a secret)."""
    code = str(sandbox.post("/auth-codes", {"userid": userid, "kind": kind})["code"])
    leak_guard.register(code)
    return code


def qr_start(client: Any, source: str = QR, **query: Any) -> str:
    """Start the QR flow; return DingTalk's authorize URL."""
    response = client.get(f"/login/dingtalk/{source}", query_string=query)
    assert response.status_code == 302, response.data
    return str(response.location)


def qr_callback(
    client: Any,
    sandbox: LiveSandbox,
    userid: str,
    leak_guard: Any,
    *,
    source: str = QR,
    generation: str = "oauth2",
    state: str | None = None,
    **query: Any,
) -> Any:
    """Start, let `userid` confirm in the sandbox, and call the callback like DingTalk does."""
    if state is None:
        state = state_of(qr_start(client, source, **query))
    kind = "oauth2" if generation == "oauth2" else "sns"
    code = issue_code(sandbox, userid, kind, leak_guard)
    params = {"state": state, "code": code}
    if generation == "oauth2":
        params["authCode"] = code
    return client.get(f"/login/dingtalk/{source}/callback", query_string=params)


def confirm_in_sandbox(authorize_url: str, userid: str) -> str:
    """Press the sandbox's "确认登录" for `userid` (over HTTP); return the redirect target."""
    with httpx.Client(timeout=10, trust_env=False) as http:
        page = http.get(authorize_url)
        assert page.status_code == 200, page.text
        ticket = page.text.split('name="ticket" value="', 1)[1].split('"', 1)[0]
        action = (
            "/oauth2/auth/confirm"
            if "/oauth2/auth" in authorize_url
            else ("/connect/qrconnect/confirm")
        )
        base = f"{urlsplit(authorize_url).scheme}://{urlsplit(authorize_url).netloc}"
        answer = http.post(base + action, data={"ticket": ticket, "userid": userid})
        assert answer.status_code == 302, answer.text
        return str(answer.headers["location"])


def make_local(username: str, password: str, **fields: Any) -> Any:
    """A local account with a known password."""
    from idaas.directory import service

    return service.create_account(
        "system",
        username=username,
        display_name=fields.pop("display_name", username.title()),
        password=password,
        must_change_password=False,
        **fields,
    )


def links_of(account_id: int) -> list[Any]:
    """The account's DingTalk links."""
    from idaas.directory import service

    return [i for i in service.identities_of(account_id) if i.provider == "dingtalk"]


def audit_rows(action: str) -> list[Any]:
    """Audit rows of one action."""
    from sqlalchemy import select

    from idaas.audit.models import AuditEvent
    from idaas.extensions import db

    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )
