"""The `api.dingtalk.com` host: JSON only, HTTP status + `{code, message, requestid}` (§0, §8.2).

Also the Stream gateway (§6.6): `connections/open` hands out a ticket and a `ws://` endpoint on
this same server and port, `/connect` is that WebSocket. The socket is served by
`simple-websocket` (wsproto underneath): it takes over the connection from inside an ordinary
WSGI view via `werkzeug.socket` (threaded dev server, so the tests' LiveServer) or
`gunicorn.socket` (threaded workers), needs no async server or monkey-patching, and is kept by the
Flask-Sock maintainer. It is used directly rather than through `flask-sock` so that a bad ticket
is refused with an ordinary HTTP error before the upgrade.
"""

from __future__ import annotations

import contextlib
import hmac
import socket
from typing import Any

from flask import Blueprint, Response, request
from simple_websocket import ConnectionClosed, Server

from idaas.sandbox.dingtalk.state import ApiError, App, OapiError
from idaas.sandbox.dingtalk.web import api_ok, header_token, sandbox

bp = Blueprint("api", __name__)


def _json_body() -> dict[str, Any]:
    """New-API bodies are JSON only; form bodies get 400 (§0)."""
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        raise ApiError(400, "MissingParameter", "body is mandatory for this action")
    return data


def _client(
    data: dict[str, Any],
    key_field: str = "clientId",
    secret_field: str = "clientSecret",
    refusal: tuple[str, str] = ("invalidClientIdOrSecret", "无效的clientId或者clientSecret"),
) -> App:
    """The app whose key and secret are in the body's `key_field`/`secret_field`; 400 else."""
    app = sandbox().apps.get(str(data.get(key_field) or ""))
    if app is None or not hmac.compare_digest(app.app_secret, str(data.get(secret_field) or "")):
        raise ApiError(400, *refusal)
    return app


@bp.post("/v1.0/oauth2/accessToken")
def access_token() -> Response:
    """§1.2: {appKey, appSecret} -> {accessToken, expireIn}; same token while valid (§1.4)."""
    app = _client(_json_body(), "appKey", "appSecret")
    sb = sandbox()
    token = sb.issue_app_token(app)
    return api_ok({"accessToken": token.value, "expireIn": sb.token_lifetime_left(token)})


@bp.post("/v1.0/oauth2/<corp_id>/token")
def unified_token(corp_id: str) -> Response:
    """§1.3: client_credentials for a corp -> {access_token, expires_in}."""
    data = _json_body()
    if data.get("grant_type") != "client_credentials":
        raise ApiError(400, "unsupported.grant.type", "不支持的grant_type")
    sb = sandbox()
    app = _client(
        data, "client_id", "client_secret", ("invalid.client", "无效的client_id或client_secret")
    )
    if corp_id != sb.corp_id:
        raise ApiError(401, "unauthorized.client", "应用未授权该组织")
    token = sb.issue_app_token(app)
    return api_ok({"access_token": token.value, "expires_in": sb.token_lifetime_left(token)})


@bp.post("/v1.0/oauth2/userAccessToken")
def user_access_token() -> Response:
    """§2.2: authorization_code (single use) or refresh_token (30 days) grants."""
    data = _json_body()
    sb = sandbox()
    app = _client(data)
    status = int(sb.variants["invalid_code_status"])
    grant = data.get("grantType")
    if grant == "authorization_code":
        code = sb.redeem_code(str(data.get("code") or ""), "oauth2", app.app_key)
        if code is None or code.userid not in sb.users:
            raise ApiError(status, "invalidCode", "无效的授权码")
        unionid = sb.users[code.userid].unionid
    elif grant == "refresh_token":
        refresh = sb.tokens.get(str(data.get("refreshToken") or ""))
        if refresh is None or refresh.kind != "refresh" or sb.now() >= refresh.expires_at:
            raise ApiError(status, "invalidCode", "无效的refreshToken")
        if refresh.app_key != app.app_key or refresh.unionid is None:
            raise ApiError(status, "invalidCode", "无效的refreshToken")
        unionid = refresh.unionid
    else:
        raise ApiError(400, "unsupported.grant.type", "不支持的grantType")
    token, refresh_value = sb.issue_user_token(app.app_key, unionid)
    return api_ok(
        {
            "accessToken": token.value,
            "refreshToken": refresh_value,
            "expireIn": sb.token_lifetime_left(token),
            "corpId": sb.corp_id,
        }
    )


@bp.get("/v1.0/contact/users/<union_id>")
def contact_user(union_id: str) -> Response:
    """§2.2: the user token's own profile (`me`) or any unionId; 404 user.notFound."""
    sb = sandbox()
    try:
        token = header_token("user")
    except OapiError:
        token = header_token("app")
    if union_id == "me":
        if token.unionid is None:
            raise ApiError(400, "InvalidAuthentication", "me 需要用户的access_token")
        union_id = token.unionid
    userid = sb.by_unionid.get(union_id)
    if userid is None:
        raise ApiError(404, "invalidParameter.user.notFound", "找不到该用户")
    user = sb.users[userid]
    return api_ok(
        {
            "nick": user.name,
            "avatarUrl": user.avatar or "",
            "mobile": user.mobile or "",
            "openId": sb.openid(token.app_key, user.userid),
            "unionId": user.unionid,
            "email": user.email or "",
            "stateCode": user.state_code,
            "visitor": False,
        }
    )


@bp.post("/v1.0/oauth2/jsapiTickets")
def jsapi_tickets() -> Response:
    """§3.3: header token, no body -> {jsapiTicket, expireIn}; same rules as get_jsapi_ticket."""
    token = header_token("app")
    sb = sandbox()
    ticket = sb.issue_ticket(token.app_key)
    return api_ok(
        {"jsapiTicket": ticket.value, "expireIn": max(0, int(ticket.expires_at - sb.now()))}
    )


@bp.post("/v1.0/gateway/connections/open")
def stream_open() -> Response:
    """§6.6 step 1: {clientId, clientSecret, subscriptions, ua?, localIp?} -> {endpoint, ticket}.

    Bad credentials are 400 invalidClientIdOrSecret (§8.2); the ticket is single-use.
    """
    data = _json_body()
    app = _client(data)
    subscriptions = data.get("subscriptions")
    if (
        not isinstance(subscriptions, list)
        or not subscriptions
        or not all(
            isinstance(s, dict)
            and isinstance(s.get("type"), str)
            and isinstance(s.get("topic"), str)
            for s in subscriptions
        )
    ):
        raise ApiError(400, "MissingParameter", "subscriptions is mandatory for this action")
    ticket = sandbox().stream.issue_ticket(
        app.app_key,
        [{"type": s["type"], "topic": s["topic"]} for s in subscriptions],
        str(data.get("ua") or ""),
        str(data.get("localIp") or ""),
    )
    return api_ok({"endpoint": f"ws://{request.host}/connect", "ticket": ticket.value})


class _Upgraded(Response):
    """What a view returns after its WebSocket closed: nothing more may be written.

    Under werkzeug, raising ConnectionError makes the server drop the connection quietly (the
    same trick as flask-sock); other servers get an empty body.
    """

    mode = "unknown"

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if self.mode == "werkzeug":
            raise ConnectionError("websocket closed")
        if self.mode == "gunicorn":
            raise StopIteration
        return []


@bp.route("/connect", websocket=True)
def stream_connect() -> Response:
    """§6.6 steps 2-5: the Stream WebSocket, `?ticket=` from connections/open (single use).

    An unknown, used or expired ticket is refused before the upgrade with HTTP 401
    `{code: "invalidTicket", …}` (the real gateway's refusal is UNVERIFIED). Then SYSTEM
    CONNECTED and REGISTERED frames, EVENT frames for contact changes that must be acked, ping
    echoes; `/_sandbox/stream/*` sends ping and disconnect.
    """
    hub = sandbox().stream
    ticket = hub.redeem(request.args.get("ticket", ""))
    if ticket is None:
        raise ApiError(401, "invalidTicket", "无效的ticket")
    ws = Server(request.environ)
    conn = hub.attach(ticket, ws)
    reason = "closed by client"
    try:
        while ws.connected and not conn.closed:
            text = ws.receive(timeout=0.2)
            if text is not None:
                hub.receive(conn, text if isinstance(text, str) else text.decode())
    except ConnectionClosed:
        pass
    finally:
        hub.detach(conn, reason)
        with conn.send_lock, contextlib.suppress(ConnectionClosed):
            ws.close()
        ws.thread.join(timeout=1.0)  # the peer's close reply ends the reader thread
        # The server still holds the socket through its request file objects: shut it down so
        # the server's next read sees EOF and the peer sees the TCP close at once.
        with contextlib.suppress(OSError):
            ws.sock.shutdown(socket.SHUT_RDWR)
    response = _Upgraded()
    response.mode = ws.mode
    return response
