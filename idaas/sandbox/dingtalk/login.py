"""The login pages: legacy QR/SNS (oapi host) and new OAuth (login host), plus the JSAPI script."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import segno
from flask import Blueprint, Response, redirect, render_template, request, send_from_directory

from idaas.sandbox.dingtalk.state import LoginSession, User, random_string
from idaas.sandbox.dingtalk.web import HERE, sandbox

bp = Blueprint("login", __name__)
LOGIN_LIFETIME = 180
PAGE_PEOPLE = 20


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _error_page(message: str, status: int = 400) -> tuple[str, int]:
    return render_template("error.html", message=message), status


def _people(query: str) -> list[tuple[User, str]]:
    sb = sandbox()
    q = query.strip().lower()
    found: list[tuple[User, str]] = []
    with sb.lock:
        for user in sb.users.values():
            if (
                q
                and q not in user.name.lower()
                and q not in user.userid
                and q not in (user.mobile or "")
            ):
                continue
            dept = sb.departments.get(user.dept_id_list[0]) if user.dept_id_list else None
            found.append((user, dept.name if dept else ""))
            if len(found) >= PAGE_PEOPLE:
                break
    return found


def _render(session: LoginSession, mobile: bool = False) -> str:
    sb = sandbox()
    scan_url = f"{request.host_url}_sandbox/scan/{session.ticket}"
    qr_svg = segno.make(scan_url, error="m").svg_inline(scale=4, dark="#1f2329")
    if session.embed and not mobile:
        # §2.2 embedded login: DingTalk's frame shows only the QR code and one caption.
        return render_template(
            "embed.html",
            session=session,
            qr_svg=qr_svg,
            scan_url=scan_url,
            app=sb.apps[session.app_key],
        )
    confirm = "login.oauth2_confirm" if session.flow == "oauth2" else "login.sns_confirm"
    query = request.args.get("q", "")
    return render_template(
        "login.html",
        session=session,
        app=sb.apps[session.app_key],
        corp_name=sb.departments[1].name,
        corp_id=sb.corp_id,
        qr_svg=qr_svg,
        scan_url=scan_url,
        confirm_endpoint=confirm,
        people=_people(query),
        query=query,
        mobile=mobile,
    )


def _start(flow: str, app_key: str, redirect_uri: str, state: str | None, scope: str) -> str:
    sb = sandbox()
    session = LoginSession(
        ticket=random_string(24),
        flow=flow,
        app_key=app_key,
        redirect_uri=redirect_uri,
        state=state,
        scope=scope,
        expires_at=sb.now() + LOGIN_LIFETIME,
        embed=flow == "oauth2" and bool(request.args.get("embed")),
    )
    with sb.lock:
        sb.logins[session.ticket] = session
    return _render(session)


def _authorize_refusal(key_param: str, checks: list[tuple[bool, str]]) -> tuple[str, int] | None:
    """The error page for the first failed check of an authorize request (§2.1, §2.2): the app
    key in `key_param`, response_type=code, the (ok, message) `checks`, an absolute redirect_uri."""
    args = request.args
    ordered = [
        (args.get(key_param) in sandbox().apps, f"{key_param} 不存在：请检查应用的 AppKey"),
        (args.get("response_type") == "code", "response_type 必须为 code"),
        *checks,
        (args.get("redirect_uri", "").startswith(("http://", "https://")), "redirect_uri 无效"),
    ]
    return next((_error_page(message) for ok, message in ordered if not ok), None)


def _sns_start() -> Any:
    args = request.args
    scope_ok = args.get("scope") in ("snsapi_login", "snsapi_auth")
    refusal = _authorize_refusal("appid", [(scope_ok, "scope 必须为 snsapi_login")])
    if refusal:
        return refusal
    return _start("sns", args["appid"], args["redirect_uri"], args.get("state"), args["scope"])


@bp.get("/connect/qrconnect")
def qrconnect() -> Any:
    """§2.1 step 1: the DingTalk-hosted QR page (people list stands in for a phone scan)."""
    return _sns_start()


@bp.get("/connect/oauth2/sns_authorize")
def sns_authorize() -> Any:
    """§2.1 step 1: the account/password page variant of the legacy login."""
    return _sns_start()


@bp.get("/oauth2/auth")
def oauth2_auth() -> Any:
    """§2.2: the new OAuth authorize page (redirect_uri, client_id, scope, prompt=consent)."""
    args = request.args
    scopes = args.get("scope", "").split()
    corp_id = args.get("corpId")
    refusal = _authorize_refusal(
        "client_id",
        [
            (
                "openid" in scopes and all(s in ("openid", "corpid") for s in scopes),
                "scope 必须为 openid 或 openid corpid",
            ),
            (args.get("prompt") == "consent", "prompt 必须为 consent"),
            (
                not ("corpid" in scopes and corp_id and corp_id != sandbox().corp_id),
                "当前用户不属于指定的组织 corpId",
            ),
        ],
    )
    if refusal:
        return refusal
    return _start(
        "oauth2", args["client_id"], args["redirect_uri"], args.get("state"), " ".join(scopes)
    )


def _confirm(flow: str) -> Any:
    sb = sandbox()
    session = sb.logins.get(request.form.get("ticket", ""))
    if session is None or sb.now() > session.expires_at or session.flow != flow:
        return _error_page("二维码已失效，请刷新页面重试", 410)
    params: dict[str, str] = {}
    if request.form.get("action") == "deny":
        params["error"] = "access_denied"
    else:
        userid = request.form.get("userid", "")
        if userid not in sb.users:
            return _error_page("该用户不在组织中")
        kind = "oauth2" if flow == "oauth2" else "sns"
        code = sb.issue_code(kind, session.app_key, userid).value
        if flow == "oauth2":
            params.update({"authCode": code, "code": code})
        else:
            params["code"] = code
    if session.state is not None:
        params["state"] = session.state
    target = _with_query(session.redirect_uri, params)
    if session.embed:
        # Embedded (DTFrameLogin) login: the phone confirmed; the frame on the computer learns
        # it on its next poll and hands the result to its parent page (§2.2).
        result: dict[str, Any] = {
            "redirectUrl": target,
            "authCode": params.get("authCode"),
            "state": session.state,
        }
        if "error" in params:
            result = {"error": params["error"], "state": session.state}
        with sb.lock:
            session.result = result
        denied = "error" in params
        return render_template("scan_done.html", app=sb.apps[session.app_key], denied=denied)
    with sb.lock:
        sb.logins.pop(session.ticket, None)
    return redirect(target, code=302)


@bp.post("/connect/qrconnect/confirm")
def sns_confirm() -> Any:
    """§2.1 step 2: 302 to `redirect_uri?code=X&state=S` (single-use, 5-minute code)."""
    return _confirm("sns")


@bp.post("/oauth2/auth/confirm")
def oauth2_confirm() -> Any:
    """§2.2 callback: 302 with both `authCode` and `code`, and `state`; deny -> `error`."""
    return _confirm("oauth2")


@bp.get("/_sandbox/scan/<ticket>")
def scan(ticket: str) -> Any:
    """What the phone opens after scanning the QR (§2.1/§2.2): pick who confirms the login."""
    sb = sandbox()
    session = sb.logins.get(ticket)
    if session is None or sb.now() > session.expires_at:
        return _error_page("二维码已失效，请刷新页面重试", 410)
    return _render(session, mobile=True)


@bp.get("/_sandbox/embed/<ticket>/poll")
def embed_poll(ticket: str) -> Any:
    """The embedded frame's poll (§2.2): `waiting`, `expired`, or the result once confirmed."""
    sb = sandbox()
    with sb.lock:
        session = sb.logins.get(ticket)
        if session is None or not session.embed:
            return {"status": "expired"}
        if session.result is None:
            expired = sb.now() > session.expires_at
            return {"status": "expired" if expired else "waiting"}
        sb.logins.pop(ticket, None)
        return {"status": "done", "result": session.result}


@bp.get("/ddlogin.js")
@bp.get("/dingding/h5-dingtalk-login/<version>/ddlogin.js")
def ddlogin_script(version: str | None = None) -> Response:
    """§2.2: stand-in for ddlogin.js (`DTFrameLogin`, the embedded QR login)."""
    response = send_from_directory(HERE / "static", "ddlogin.js", mimetype="application/javascript")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/dingtalk.open.js")
@bp.get("/dingding/dingtalk-jsapi/<version>/dingtalk.open.js")
def jsapi_script(version: str | None = None) -> Response:
    """§3.1: stand-in for dingtalk.open.js (requestAuthCode, runtime.permission, getAuthCode)."""
    response = send_from_directory(
        HERE / "static", "dingtalk.open.js", mimetype="application/javascript"
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
