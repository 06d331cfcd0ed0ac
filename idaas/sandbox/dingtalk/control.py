"""The `/_sandbox/` control API (JSON): seed, edit contacts, codes, callbacks, faults, logs.

Documented in docs/dingtalk-sandbox.md. None of this exists on real DingTalk; each endpoint's
docstring cites the dingtalk-api.md section whose behaviour it drives or inspects.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for

from idaas.dingtalk.crypto import BadAesKey, aes_key_bytes, generate_aes_key, random_nonce
from idaas.sandbox.dingtalk.events import DISCONNECT_REASON
from idaas.sandbox.dingtalk.state import (
    DEFAULT_VARIANTS,
    App,
    Subscription,
    default_faults,
    random_string,
)
from idaas.sandbox.dingtalk.web import sandbox

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    return data if isinstance(data, dict) else {}


def _bad(message: str, status: int = 400) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.get("/")
def index() -> str:
    """Home page: corp, app credentials, current user (§3.1), links to the login pages (§2)."""
    return render_template("index.html", state=sandbox().state())


@bp.get("/phone")
def phone() -> str:
    """The phone stand-in: open a pending QR login's scan page without a camera (§2.2 embed)."""
    sb = sandbox()
    now = sb.now()
    with sb.lock:
        pending = [
            (login, sb.apps[login.app_key].name)
            for login in sb.logins.values()
            if login.expires_at > now and login.result is None
        ]
    return render_template("phone.html", pending=pending)


@bp.get("/state")
def state() -> Response:
    """Corp id, apps (§1 credentials), callbacks (§6.1), counts, variants, faults (§9)."""
    return jsonify(sandbox().state())


@bp.post("/seed")
def seed() -> Response:
    """Replace the contacts with a generated corp: {corp_id, departments, users, seed} (§4, §5)."""
    data = _body()
    counts = sandbox().seed(
        departments=int(data.get("departments", 20)),
        users=int(data.get("users", 100)),
        seed=data.get("seed", 0),
        corp_id=data.get("corp_id"),
        corp_name=data.get("corp_name"),
    )
    return jsonify({"corp_id": sandbox().corp_id, **counts})


@bp.post("/apps")
def add_app() -> Response:
    """Add an internal app {app_key?, app_secret?, agent_id?, name?, homepage?} (§1, §3)."""
    data = _body()
    app = sandbox().add_app(
        data.get("app_key"),
        data.get("app_secret"),
        data.get("agent_id"),
        data.get("name", "app"),
        data.get("homepage"),
    )
    return jsonify(app.public())


# ---------------------------------------------------------------------- contacts (fire §6.5 events)


def _comma(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


@bp.post("/departments")
def create_department() -> Response:
    """Create a department with §5.1 rules; fires `org_dept_create` (§6.5)."""
    dept = sandbox().create_department(_body())
    return jsonify(sandbox().dept_json(dept, detail=True))


@bp.patch("/departments/<int:dept_id>")
def update_department(dept_id: int) -> Response:
    """Update a department with §5.2 rules; fires `org_dept_modify` (§6.5)."""
    data = {**_body(), "dept_id": dept_id}
    if "dept_manager_userid_list" in data:
        data["dept_manager_userid_list"] = _comma(data["dept_manager_userid_list"])
    dept = sandbox().update_department(data)
    return jsonify(sandbox().dept_json(dept, detail=True))


@bp.delete("/departments/<int:dept_id>")
def delete_department(dept_id: int) -> Response:
    """Delete a department with §5.3 rules; fires `org_dept_remove` (§6.5)."""
    sandbox().delete_department(dept_id)
    return jsonify({"deleted": dept_id})


@bp.get("/users")
def list_users() -> Response:
    """Users as user/get shows them (§4.6): ?q= (name, userid, mobile), ?dept_id=, ?limit=."""
    sb = sandbox()
    q = request.args.get("q", "").lower()
    dept = request.args.get("dept_id", type=int)
    limit = request.args.get("limit", 50, type=int)
    with sb.lock:
        pool = sb.members.get(dept, []) if dept else list(sb.users)
        found = []
        for userid in pool:
            user = sb.users[userid]
            if (
                q
                and q not in user.name.lower()
                and q not in userid
                and q not in (user.mobile or "")
            ):
                continue
            found.append(sb.user_json(user, detail=True))
            if len(found) >= limit:
                break
    return jsonify({"users": found, "total": len(sb.users)})


@bp.post("/users")
def create_user() -> Response:
    """Create a user with §5.4 rules (mobile required); fires `user_add_org` (§6.5)."""
    data = _body()
    data["dept_id_list"] = _comma(data.get("dept_id_list", "1"))
    user = sandbox().create_user(data)
    return jsonify(sandbox().user_json(user, detail=True))


@bp.patch("/users/<userid>")
def update_user(userid: str) -> Response:
    """Update a user with §5.5 rules; fires `user_modify_org` (§6.5)."""
    data = {**_body(), "userid": userid}
    if "dept_id_list" in data:
        data["dept_id_list"] = _comma(data["dept_id_list"])
    user = sandbox().update_user(data)
    return jsonify(sandbox().user_json(user, detail=True))


@bp.delete("/users/<userid>")
def delete_user(userid: str) -> Response:
    """Delete a user; fires `user_leave_org` (§6.5)."""
    sandbox().delete_user(userid)
    return jsonify({"deleted": userid})


# ---------------------------------------------------------------------- codes and JSAPI (§2, §3)


def _app_for(data: dict[str, Any]) -> App | None:
    sb = sandbox()
    key = data.get("app_key") or data.get("clientId")
    if key:
        return sb.apps.get(str(key))
    url = str(data.get("url") or "")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url)) if url else ""
    for app in sb.apps.values():
        if app.homepage and origin and app.homepage.startswith(origin):
            return app
    return sb.default_app


@bp.post("/auth-codes")
def issue_auth_code() -> Response:
    """Issue a code for {userid, app_key?, kind: micro (§3.2) | sns (§2.1) | oauth2 (§2.2)}."""
    data = _body()
    kind = str(data.get("kind", "micro"))
    if kind not in ("micro", "sns", "oauth2"):
        return _bad("kind must be micro, sns or oauth2")
    app = _app_for(data)
    if app is None:
        return _bad("unknown app_key", 404)
    code = sandbox().issue_code(kind, app.app_key, str(data.get("userid") or ""))
    return jsonify(
        {
            "code": code.value,
            "kind": kind,
            "app_key": app.app_key,
            "expires_in": int(code.expires_at - sandbox().now()),
        }
    )


@bp.post("/current-user")
def current_user() -> Response:
    """Choose the "current DingTalk user" the JSAPI stand-in answers for (§3.1)."""
    sb = sandbox()
    userid = str(_body().get("userid") or "")
    if userid not in sb.users:
        return _bad("unknown userid", 404)
    sb.current_user = userid
    return jsonify({"current_user": userid})


@bp.post("/current-user/form")
def current_user_form() -> Any:
    """The home page's form for the current user (§3.1)."""
    sb = sandbox()
    userid = request.form.get("userid", "")
    if userid in sb.users:
        sb.current_user = userid
    return redirect(url_for("control.index"))


@bp.route("/jsapi/requestAuthCode", methods=["POST", "OPTIONS"])
def jsapi_request_auth_code() -> Response:
    """Backs dd.requestAuthCode & co (§3.1): a 5-minute, single-use code for the current user."""
    if request.method == "OPTIONS":
        return Response(status=204)
    sb = sandbox()
    data = _body()
    if data.get("corpId") != sb.corp_id:
        return jsonify(
            {"errorCode": "3", "errorMessage": "该企业下没有此域名对应的微应用 (corpId 不匹配)"}
        )
    if sb.current_user not in sb.users:
        return jsonify(
            {
                "errorCode": "-1",
                "errorMessage": "沙箱未设置当前钉钉用户：POST /_sandbox/current-user",
            }
        )
    app = _app_for(data)
    if app is None:
        return jsonify({"errorCode": "3", "errorMessage": "clientId 不存在"})
    assert sb.current_user is not None
    code = sb.issue_code("micro", app.app_key, sb.current_user)
    return jsonify({"code": code.value})


def _signed_url(url: str) -> str:
    parts = urlsplit(url.split("#", 1)[0])
    plain = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return f"{plain}?{unquote(parts.query)}" if parts.query else plain


@bp.route("/jsapi/config", methods=["POST", "OPTIONS"])
def jsapi_config() -> Response:
    """Backs dd.config (§3.3): ticket of the agent's app, SHA-256/SHA-1 per the variant."""
    if request.method == "OPTIONS":
        return Response(status=204)
    sb = sandbox()
    data = _body()
    app = next((a for a in sb.apps.values() if str(a.agent_id) == str(data.get("agentId"))), None)
    if app is None:
        return jsonify({"ok": False, "errorCode": "40056", "errorMessage": "agentId 不合法"})
    if data.get("corpId") != sb.corp_id:
        return jsonify({"ok": False, "errorCode": "3", "errorMessage": "corpId 不匹配"})
    ticket = sb.tickets.get(app.app_key)
    if ticket is None or sb.now() >= ticket.expires_at:
        return jsonify(
            {"ok": False, "errorCode": "9", "errorMessage": "jsapi_ticket 不存在或已过期"}
        )
    plain = (
        f"jsapi_ticket={ticket.value}&noncestr={data.get('nonceStr')}"
        f"&timestamp={data.get('timeStamp')}&url={_signed_url(str(data.get('url') or ''))}"
    )
    accepted = {"both": ("sha256", "sha1"), "sha256": ("sha256",), "sha1": ("sha1",)}[
        sb.variants["jsapi_signature"]
    ]
    digests = {hashlib.new(name, plain.encode()).hexdigest() for name in accepted}
    if str(data.get("signature") or "").lower() not in digests:
        return jsonify({"ok": False, "errorCode": "9", "errorMessage": "签名校验失败"})
    return jsonify({"ok": True})


# ---------------------------------------------------------------------- callbacks (§6.1 A, §6.2)


@bp.get("/callbacks")
def list_callbacks() -> Response:
    """Registered HTTP push subscriptions (console and register_call_back) (§6.1)."""
    return jsonify({"callbacks": [s.public() for s in sandbox().subscriptions.values()]})


@bp.post("/callbacks")
def register_callback() -> Response:
    """Console-style registration (§6.1 A): owner key = AppKey, check_url must answer success."""
    sb = sandbox()
    data = _body()
    app = sb.apps.get(str(data.get("app_key") or sb.default_app.app_key))
    if app is None:
        return _bad("unknown app_key", 404)
    token = str(data.get("token") or random_nonce(16))
    if not (3 <= len(token) <= 32 and token.isalnum()):
        return _bad("token must be 3-32 letters or digits (§6.1 A)")
    aes_key = str(data.get("aes_key") or generate_aes_key())
    try:
        aes_key_bytes(aes_key)
    except BadAesKey:
        return _bad("aes_key must be 43 characters (§6.1 A)")
    url = str(data.get("url") or "")
    if not url.startswith(("http://", "https://")):
        return _bad("url must be an absolute http(s) URL")
    tags = data.get("tags")
    with sb.lock:
        for existing in list(sb.subscriptions.values()):
            if existing.mode == "console" and existing.app_key == app.app_key:
                del sb.subscriptions[existing.id]
    sub = Subscription(
        id="console-" + random_string(8),
        mode="console",
        url=url,
        token=token,
        aes_key=aes_key,
        owner_key=app.app_key,
        tags=list(tags) if tags else None,
        app_key=app.app_key,
    )
    if data.get("check", True):
        delivered, error = sb.dispatcher.push(sub, {"EventType": "check_url"})
        if not delivered:
            return _bad(f"check_url failed: {error}", 422)
    with sb.lock:
        sb.subscriptions[sub.id] = sub
    return jsonify(sub.public())


@bp.delete("/callbacks/<sub_id>")
def delete_callback(sub_id: str) -> Response:
    """Remove a subscription (§6.1)."""
    sb = sandbox()
    with sb.lock:
        sb.subscriptions.pop(sub_id, None)
        if sb.legacy_subscription == sub_id:
            sb.legacy_subscription = None
    return jsonify({"deleted": sub_id})


@bp.get("/callbacks/deliveries")
def deliveries() -> Response:
    """Every push with its attempts and status: pending, delivered, failed (§6.2)."""
    return jsonify({"deliveries": sandbox().dispatcher.snapshot()})


@bp.post("/callbacks/settings")
def callback_settings() -> Response:
    """Retry schedule after a failed push, e.g. {"retry_delays": [1, 3, 10]} (§6.2)."""
    delays = _body().get("retry_delays")
    if not isinstance(delays, list) or not all(isinstance(d, int | float) for d in delays):
        return _bad("retry_delays must be a list of seconds")
    sandbox().dispatcher.retry_delays = [float(d) for d in delays]
    return jsonify({"retry_delays": sandbox().dispatcher.retry_delays})


# ---------------------------------------------------------------------- Stream mode (§6.6)


def _stream_targets(data: dict[str, Any]) -> list[Any] | Response:
    """The live connections named by {connection?} (all of them when omitted)."""
    conns = sandbox().stream.live()
    wanted = data.get("connection")
    if wanted is not None:
        conns = [c for c in conns if c.id == wanted]
        if not conns:
            return _bad(f"no live stream connection {wanted}", 404)
    return conns


@bp.get("/stream")
def stream_state() -> Response:
    """Stream connections, delivery counts and every EVENT delivery with its acks (§6.6)."""
    hub = sandbox().stream
    return jsonify({**hub.summary(), "events": hub.snapshot()})


@bp.post("/stream/settings")
def stream_settings() -> Response:
    """Ack deadline and redelivery: {ack_timeout?, max_tries?, later_delay?} in seconds (§6.6)."""
    data = _body()
    hub = sandbox().stream
    values = {k: data[k] for k in ("ack_timeout", "max_tries", "later_delay") if k in data}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return _bad(f"{key} must be a non-negative number")
    if "max_tries" in values and int(values["max_tries"]) < 1:
        return _bad("max_tries must be at least 1")
    hub.ack_timeout = float(values.get("ack_timeout", hub.ack_timeout))
    hub.max_tries = int(values.get("max_tries", hub.max_tries))
    hub.later_delay = float(values.get("later_delay", hub.later_delay))
    return jsonify(
        {"ack_timeout": hub.ack_timeout, "max_tries": hub.max_tries, "later_delay": hub.later_delay}
    )


@bp.post("/stream/ping")
def stream_ping() -> Response:
    """Send a SYSTEM `ping` to {connection?} or every live connection; echoes count as pongs
    in /_sandbox/stream (§6.6 step 5)."""
    conns = _stream_targets(_body())
    if isinstance(conns, Response):
        return conns
    hub = sandbox().stream
    return jsonify({"pinged": {c.id: hub.ping(c) for c in conns}})


@bp.post("/stream/disconnect")
def stream_disconnect() -> Response:
    """Send a SYSTEM `disconnect` {reason} to {connection?} or every live connection and close
    it; clients reconnect through connections/open (§6.6 step 5). {"frame": false} closes
    without the frame, like a dropped socket."""
    data = _body()
    conns = _stream_targets(data)
    if isinstance(conns, Response):
        return conns
    hub = sandbox().stream
    reason = str(data.get("reason") or DISCONNECT_REASON)
    for conn in conns:
        hub.disconnect(conn, reason, frame=data.get("frame", True) is not False)
    return jsonify({"disconnected": [c.id for c in conns]})


# ------------------------------------------------------------ faults and variants (§8, §9)

FAULT_KEYS = {"errors", "throttle", "ip_whitelist", "latency", "ip_ban", "token_lifetime"}


@bp.get("/faults")
def get_faults() -> Response:
    """The active fault injections (§8)."""
    return jsonify(sandbox().faults)


@bp.post("/faults")
def set_faults() -> Response:
    """Merge fault injections: errors, throttle, ip_whitelist, latency, ip_ban (§8.1-§8.3)."""
    sb = sandbox()
    data = _body()
    unknown = set(data) - FAULT_KEYS
    if unknown:
        return _bad(f"unknown fault keys: {sorted(unknown)}")
    with sb.lock:
        if "errors" in data:
            errors = data["errors"]
            if not isinstance(errors, list):
                return _bad("errors must be a list of rules")
            sb.faults["errors"] = [dict(rule) for rule in errors]
        for key in FAULT_KEYS - {"errors"}:
            if key in data:
                sb.faults[key] = data[key]
        sb.throttle_windows.clear()
    return jsonify(sb.faults)


@bp.delete("/faults")
def clear_faults() -> Response:
    """Remove every fault injection (§8, §9.9)."""
    sb = sandbox()
    with sb.lock:
        sb.faults = default_faults()
        sb.throttle_windows.clear()
    return jsonify(sb.faults)


@bp.get("/variants")
def get_variants() -> Response:
    """The chosen behaviour where dingtalk-api.md says UNVERIFIED (see §10)."""
    return jsonify(sandbox().variants)


@bp.post("/variants")
def set_variants() -> Response:
    """Switch UNVERIFIED behaviours, e.g. {"throttle_style": "wrapped"} (§10)."""
    sb = sandbox()
    data = _body()
    unknown = set(data) - set(DEFAULT_VARIANTS)
    if unknown:
        return _bad(f"unknown variants: {sorted(unknown)}")
    sb.variants.update(data)
    return jsonify(sb.variants)


@bp.delete("/variants")
def reset_variants() -> Response:
    """Back to the default variants (§10 UNVERIFIED list)."""
    sb = sandbox()
    sb.variants = dict(DEFAULT_VARIANTS)
    return jsonify(sb.variants)


@bp.post("/tokens/expire")
def expire_tokens() -> Response:
    """Early token expiry (§9.3): mode `invalidate` (-> 40014) or `expire` (-> 42001)."""
    mode = str(_body().get("mode", "invalidate"))
    if mode not in ("invalidate", "expire"):
        return _bad("mode must be invalidate or expire")
    return jsonify({"tokens": sandbox().expire_tokens(mode), "mode": mode})


@bp.post("/clock")
def advance_clock() -> Response:
    """Move the sandbox clock forward {advance: seconds}: expires codes (§3.1) and tokens (§1.4)."""
    sb = sandbox()
    sb.offset += float(_body().get("advance", 0))
    return jsonify({"offset": sb.offset, "now": sb.now()})


# ---------------------------------------------------------------------- inspection


@bp.get("/notifications")
def notifications() -> Response:
    """Work notifications received through asyncsend_v2 (§7)."""
    return jsonify({"notifications": list(sandbox().notifications)})


@bp.delete("/notifications")
def clear_notifications() -> Response:
    """Forget received work notifications (§7)."""
    sandbox().notifications.clear()
    return jsonify({"notifications": []})


@bp.get("/calls")
def calls() -> Response:
    """Call count per endpoint and errors per endpoint, for measuring a sync's calls (§8.3)."""
    sb = sandbox()
    with sb.lock:
        return jsonify(
            {
                "total": sum(sb.calls.values()),
                "counts": dict(sb.calls),
                "errors": {k: dict(v) for k, v in sb.call_errors.items()},
            }
        )


@bp.delete("/calls")
def clear_calls() -> Response:
    """Reset the call log (§8.3 call counting)."""
    sb = sandbox()
    with sb.lock:
        sb.calls.clear()
        sb.call_errors.clear()
    return jsonify({"total": 0})


@bp.get("/echo")
def echo() -> Response:
    """A redirect_uri for trying the login pages by hand: shows the query it received (§2)."""
    return jsonify(dict(request.args))
