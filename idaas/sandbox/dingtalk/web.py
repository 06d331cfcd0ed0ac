"""The sandbox Flask app: one port serving the oapi, api and login hosts by path (§0, §9.1).

Every counted request goes through the same pipeline: IP ban, latency, egress-IP whitelist,
QPS throttle and injected errors (the `/_sandbox/faults` knobs), then the view, then the call log.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, jsonify, request

from idaas.sandbox.dingtalk.state import (
    API_EQUIVALENT,
    ERRMSG,
    ApiError,
    App,
    OapiError,
    Sandbox,
    Token,
)

HERE = Path(__file__).resolve().parent
F = TypeVar("F", bound=Callable[..., Any])
BAN_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>访问被拒绝</title></head>
<body><h1>访问被拒绝</h1><p>您的IP访问过于频繁，已被暂时禁止访问，请5分钟后再试。</p></body></html>"""


def sandbox() -> Sandbox:
    """The Sandbox behind the current app."""
    return cast(Sandbox, current_app.extensions["dingtalk_sandbox"])


def request_id() -> str:
    """A DingTalk-looking request id for this request (created once)."""
    if "request_id" not in g:
        g.request_id = "".join(
            secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12)
        )
    return str(g.request_id)


def _stringify(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return value


def ok(**data: Any) -> Response:
    """The oapi success envelope: HTTP 200, errcode 0, request_id (§0)."""
    body = {"errcode": 0, "errmsg": "ok", **data, "request_id": request_id()}
    if sandbox().variants.get("scalars") == "strings":
        body = _stringify(body)
    return jsonify(body)


def api_ok(data: dict[str, Any]) -> Response:
    """An api-host success: HTTP 200, bare object, `x-acs-request-id` header (§0)."""
    response = jsonify(data)
    response.headers["x-acs-request-id"] = request_id()
    return response


def payload() -> dict[str, Any]:
    """The request body as a dict: JSON or form-encoded, both accepted on topapi (§0, §9.2)."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise OapiError(40035, "请求体不是合法的JSON对象")
        return data
    form = request.form.to_dict()
    if isinstance(form.get("msg"), str):
        try:
            form["msg"] = json.loads(form["msg"])
        except ValueError:
            raise OapiError(40035, "msg 不是合法的JSON") from None
    return form


def access_token_value() -> str | None:
    """`access_token` from the query string, or from a form body (§9.2)."""
    return request.args.get("access_token") or request.form.get("access_token")


def oapi_app() -> App:
    """The app whose valid token authenticates this oapi call; 40014/42001 otherwise (§1.4)."""
    token = sandbox().check_token(access_token_value())
    g.app_key = token.app_key
    return sandbox().apps[token.app_key]


def header_token(kind: str = "app") -> Token:
    """The `x-acs-dingtalk-access-token` header token (§0); InvalidAuthentication otherwise."""
    value = request.headers.get("x-acs-dingtalk-access-token")
    token = sandbox().check_token(value, kind)
    g.app_key = token.app_key
    return token


def methods(*allowed: str) -> Callable[[F], F]:
    """Answer 43001 (GET needed) / 43002 (POST needed) like oapi does for a wrong method (§8.1)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method not in allowed:
                raise OapiError(
                    43002 if "POST" in allowed else 43001,
                    "需要POST请求" if "POST" in allowed else "需要GET请求",
                )
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def _host() -> str:
    path = request.path
    if path.startswith("/_sandbox") or request.endpoint in (None, "static"):
        return "control"
    if path.startswith("/v1.0/"):
        return "api"
    if request.endpoint and request.endpoint.startswith("login."):
        return "page"
    return "oapi"


def _endpoint_key() -> str:
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    return rule.lstrip("/")


def _caller_app_key() -> str | None:
    value = access_token_value() or request.headers.get("x-acs-dingtalk-access-token")
    token = sandbox().tokens.get(value or "")
    if token is not None:
        return token.app_key
    return request.args.get("appkey") or request.args.get("accessKey")


def _matches(rule: dict[str, Any] | None, endpoint: str) -> bool:
    if not rule:
        return False
    endpoints = rule.get("endpoints")
    return not endpoints or endpoint in endpoints


def _before() -> Response | None:
    g.host = _host()
    if g.host == "control":
        return None
    sb = sandbox()
    endpoint = _endpoint_key()
    g.endpoint_key = endpoint
    g.outcome = "ok"
    faults = sb.faults
    ban = faults.get("ip_ban")
    if ban:
        g.outcome = "ip_ban"
        if ban == "json":
            return jsonify(
                {
                    "status": 1111,
                    "wait": 5,
                    "source": "x5",
                    "punish": "deny",
                    "uuid": secrets.token_hex(16),
                }
            )
        return Response(BAN_PAGE, status=200, mimetype="text/html")
    latency = faults.get("latency")
    if _matches(latency, endpoint):
        assert latency is not None
        time.sleep(float(latency.get("ms", 0)) / 1000.0)
    if g.host == "page":
        return None
    app_key = _caller_app_key()
    whitelist = faults.get("ip_whitelist")
    if whitelist is not None and request.remote_addr not in whitelist:
        raise OapiError(
            60020,
            f"访问ip不在白名单之中,request ip={request.remote_addr} appKey({app_key or ''})",
        )
    throttle = faults.get("throttle")
    if throttle and sb.throttled(app_key or str(request.remote_addr), endpoint):
        style = throttle.get("style") or sb.variants["throttle_style"]
        if throttle.get("scope") == "global" or style == "global":
            raise OapiError(
                90002,
                f"{ERRMSG[90002]}, apiPath(/{endpoint}), 请求总次数超过了 {throttle['qps']} 次/秒",
            )
        if style == "wrapped":
            raise OapiError(
                88,
                f"ding talk error[subcode=90018,submsg={ERRMSG[90018]}]",
                sub_code="90018",
                sub_msg=ERRMSG[90018],
            )
        raise OapiError(90018)
    rule = sb.injected_error(endpoint)
    if rule:
        if g.host == "api" and rule.get("code"):
            raise ApiError(
                int(rule.get("status", 400)),
                str(rule["code"]),
                str(rule.get("message") or rule["code"]),
            )
        errcode = int(rule.get("errcode", -1))
        message = rule.get("errmsg")
        if errcode == 60020 and not message:
            message = f"{ERRMSG[60020]},request ip={request.remote_addr} appKey({app_key or ''})"
        if rule.get("wrapped"):
            sub_msg = message or ERRMSG.get(errcode, "error")
            raise OapiError(
                88,
                f"ding talk error[subcode={errcode},submsg={sub_msg}]",
                sub_code=str(errcode),
                sub_msg=sub_msg,
            )
        raise OapiError(errcode, message)
    return None


def _after(response: Response) -> Response:
    if g.get("host") not in (None, "control"):
        sandbox().record_call(g.endpoint_key, g.get("outcome", "ok"))
    if request.path.startswith("/_sandbox/jsapi/"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    return response


def _api_error_response(status: int, code: str, message: str) -> Response:
    g.outcome = code
    response = jsonify({"code": code, "message": message, "requestid": request_id()})
    response.status_code = status
    response.headers["x-acs-request-id"] = request_id()
    return response


def _on_oapi_error(error: OapiError) -> Response:
    if g.get("host") == "control":
        response = jsonify({"error": error.errmsg, "errcode": error.errcode})
        response.status_code = 400
        return response
    if g.get("host") == "api":
        status, code = API_EQUIVALENT.get(error.errcode, (400, f"errcode.{error.errcode}"))
        return _api_error_response(status, code, error.errmsg)
    g.outcome = str(error.extra.get("sub_code") or error.errcode)
    body = {
        "errcode": error.errcode,
        "errmsg": error.errmsg,
        **error.extra,
        "request_id": request_id(),
    }
    return jsonify(body)


def _on_api_error(error: ApiError) -> Response:
    return _api_error_response(error.status, error.code, error.message)


def create_sandbox_app(sb: Sandbox | None = None, **options: Any) -> Flask:
    """The sandbox WSGI app around a `Sandbox` (a new, empty one when omitted)."""
    app = Flask(
        __name__,
        template_folder=str(HERE / "templates"),
        static_folder=str(HERE / "static"),
        static_url_path="/_sandbox/static",
    )
    app.config.update(JSON_AS_ASCII=False, **options)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["dingtalk_sandbox"] = sb or Sandbox()
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(OapiError, _on_oapi_error)
    app.register_error_handler(ApiError, _on_api_error)

    from idaas.sandbox.dingtalk import api, control, login, oapi

    app.register_blueprint(oapi.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(login.bp)
    app.register_blueprint(control.bp)
    return app
