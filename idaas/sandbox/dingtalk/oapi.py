"""The `oapi.dingtalk.com` host: errcode envelope, HTTP 200 on errors (dingtalk-api.md §0)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, request

from idaas.sandbox.dingtalk.state import (
    App,
    OapiError,
    Sandbox,
    Subscription,
    User,
    _bool,
    _int,
)
from idaas.sandbox.dingtalk.web import methods, oapi_app, ok, payload, sandbox

bp = Blueprint("oapi", __name__)
BOTH = ["GET", "POST"]
NOTIFY_MSG_TYPES = {"text", "image", "voice", "file", "link", "oa", "markdown", "action_card"}
View = Callable[..., Response]


def route(*paths: str, method: str, token: bool = True) -> Callable[[View], View]:
    """Serve a view at `paths` on GET and POST, refusing the wrong method as oapi does (§8.1);
    with `token`, the view is called with the app its access_token authenticates (§1.4)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def authenticated(*args: Any, **kwargs: Any) -> Response:
            return view(oapi_app(), *args, **kwargs)

        served = methods(method)(authenticated if token else view)
        for path in paths:
            bp.add_url_rule(path, view_func=served, methods=BOTH)
        return view

    return decorate


# ---------------------------------------------------------------------- §1 tokens


@route("/gettoken", method="GET", token=False)
def gettoken() -> Response:
    """§1.1: same token while valid (renewed), 7200 s; bad key/secret per the §1.1 variant."""
    sb = sandbox()
    app = sb.apps.get(request.args.get("appkey", ""))
    secret = request.args.get("appsecret", "")
    if app is None or not hmac.compare_digest(app.app_secret, secret):
        raise OapiError(int(sb.variants["gettoken_bad_secret"]))
    token = sb.issue_app_token(app)
    return ok(access_token=token.value, expires_in=sb.token_lifetime_left(token))


# ---------------------------------------------------------------------- §2.1 SNS login


@route("/sns/getuserinfo_bycode", method="POST", token=False)
def sns_getuserinfo_bycode() -> Response:
    """§2.1 step 3: HMAC-SHA256(appSecret, ms timestamp) signature, ±60 s window, 8530xx."""
    sb = sandbox()
    timestamp = request.args.get("timestamp", "")
    if not timestamp.isdigit() or len(timestamp) != 13:
        raise OapiError(853001)
    if abs(sb.now() * 1000 - int(timestamp)) > 60_000:
        raise OapiError(853002)
    app = sb.apps.get(request.args.get("accessKey", ""))
    if app is None:
        raise OapiError(853003)
    expected = base64.b64encode(
        hmac.new(app.app_secret.encode(), timestamp.encode(), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, request.args.get("signature", "")):
        raise OapiError(853004)
    code_value = payload().get("tmp_auth_code")
    if not code_value:
        raise OapiError(41026)
    code = sb.redeem_code(str(code_value), "sns", app.app_key)
    if code is None:
        raise OapiError(40078)
    user = sb.users.get(code.userid)
    if user is None:
        raise OapiError(40078)
    return ok(
        user_info={
            "nick": user.name,
            "unionid": user.unionid,
            "openid": sb.openid(app.app_key, user.userid),
            "main_org_auth_high_level": True,
        }
    )


# ---------------------------------------------------------------------- §3 free login


def _micro_code_user(code_value: Any, app_key: str) -> User:
    sb = sandbox()
    code = sb.redeem_code(str(code_value or ""), "micro", app_key)
    if code is None or code.userid not in sb.users:
        raise OapiError(40078)
    return sb.users[code.userid]


@route("/topapi/v2/user/getuserinfo", method="POST")
def v2_user_getuserinfo(app: App) -> Response:
    """§3.2: a single-use, 5-minute micro-app code -> {userid, unionid, name, sys_level, …}."""
    user = _micro_code_user(payload().get("code"), app.app_key)
    return ok(
        result={
            "userid": user.userid,
            "unionid": user.unionid,
            "associated_unionid": "",
            "name": user.name,
            "device_id": hashlib.md5(user.userid.encode()).hexdigest()[:16],
            "sys": user.sys_level in (1, 2),
            "sys_level": user.sys_level,
        }
    )


@route("/user/getuserinfo", method="GET")
def legacy_user_getuserinfo(app: App) -> Response:
    """§3.2 (archived): GET with ?code=, flat fields."""
    user = _micro_code_user(request.args.get("code"), app.app_key)
    return ok(
        userid=user.userid,
        name=user.name,
        deviceId=hashlib.md5(user.userid.encode()).hexdigest()[:16],
        is_sys=user.sys_level in (1, 2),
        sys_level=user.sys_level,
    )


@route("/get_jsapi_ticket", method="GET")
def get_jsapi_ticket(app: App) -> Response:
    """§3.3: one ticket per app, same ticket renewed for 2 h while valid, at most 24 h old."""
    sb = sandbox()
    ticket = sb.issue_ticket(app.app_key)
    return ok(ticket=ticket.value, expires_in=max(0, int(ticket.expires_at - sb.now())))


# ---------------------------------------------------------------------- §4 contacts read


def _dept_arg(data: dict[str, Any], required: bool = True) -> int:
    if data.get("dept_id") in (None, ""):
        if required:
            raise OapiError(40035, "缺少参数 dept_id")
        return 1
    dept_id = _int(data["dept_id"], 400002)
    if dept_id < 1:
        raise OapiError(400002)
    if dept_id not in sandbox().departments:
        raise OapiError(60003)
    return dept_id


@route("/topapi/v2/department/listsub", method="POST")
def department_listsub(app: App) -> Response:
    """§4.1: direct children only; `result` is an array; omitted dept_id per the §4.1 variant."""
    sb = sandbox()
    data = payload()
    if data.get("dept_id") in (None, "") and sb.variants["listsub_default"] == "error":
        raise OapiError(400002, "缺少参数 dept_id")
    dept_id = _dept_arg(data, required=False)
    with sb.lock:
        result = [sb.dept_json(sb.departments[c]) for c in sb.children[dept_id]]
    return ok(result=result)


@route("/topapi/v2/department/get", method="POST")
def department_get(app: App) -> Response:
    """§4.2: one department's details with member counts."""
    sb = sandbox()
    dept_id = _dept_arg(payload())
    with sb.lock:
        return ok(result=sb.dept_json(sb.departments[dept_id], detail=True))


@route("/topapi/v2/department/listsubid", method="POST")
def department_listsubid(app: App) -> Response:
    """§4.3: ids of direct child departments."""
    sb = sandbox()
    dept_id = _dept_arg(payload())
    return ok(result={"dept_id_list": list(sb.children[dept_id])})


@route("/topapi/user/listid", method="POST")
def user_listid(app: App) -> Response:
    """§4.4: userids directly in a department."""
    sb = sandbox()
    dept_id = _dept_arg(payload())
    return ok(result={"userid_list": list(sb.members[dept_id])})


ORDER_FIELDS = {"entry_asc", "entry_desc", "modify_asc", "modify_desc", "custom"}


@route("/topapi/v2/user/list", method="POST")
def user_list(app: App) -> Response:
    """§4.5: one department (not sub-departments), cursor paging, size 1..100, order_field."""
    sb = sandbox()
    data = payload()
    dept_id = _dept_arg(data)
    cursor = _int(data.get("cursor"), 40035)
    size = _int(data.get("size"), 40035)
    if not 0 <= cursor <= 100_000:
        raise OapiError(40035, "cursor 非法")
    if not 1 <= size <= 100:
        raise OapiError(40035, "size 非法，取值范围 1~100")
    order = data.get("order_field") or "custom"
    if order not in ORDER_FIELDS:
        raise OapiError(40035, "order_field 非法")
    with sb.lock:
        userids = list(sb.members[dept_id])
        users = [sb.users[u] for u in userids]
        if order.startswith("entry"):
            users.sort(key=lambda u: u.hired_date or u.created_ms, reverse=order.endswith("desc"))
        elif order.startswith("modify"):
            users.sort(key=lambda u: u.modified_ms, reverse=order.endswith("desc"))
        page = [sb.user_json(u) for u in users[cursor : cursor + size]]
        has_more = cursor + size < len(users)
    result: dict[str, Any] = {"has_more": has_more, "list": page}
    if has_more:
        result["next_cursor"] = cursor + size
    return ok(result=result)


@route("/topapi/v2/user/get", method="POST")
def user_get(app: App) -> Response:
    """§4.6: one user's details; 33012 for an unknown userid."""
    sb = sandbox()
    userid = str(payload().get("userid") or "")
    if not userid or len(userid) > 64:
        raise OapiError(400002)
    with sb.lock:
        user = sb.users.get(userid)
        if user is None:
            raise OapiError(33012)
        return ok(result=sb.user_json(user, detail=True))


@route("/topapi/user/getbyunionid", method="POST")
def user_getbyunionid(app: App) -> Response:
    """§4.7: unionid -> {contact_type, userid}; 60121 when the person is not in the corp."""
    sb = sandbox()
    unionid = str(payload().get("unionid") or "")
    if not unionid:
        raise OapiError(400002)
    userid = sb.by_unionid.get(unionid)
    if userid is None:
        raise OapiError(60121)
    return ok(result={"contact_type": 0, "userid": userid})


@route("/topapi/v2/user/getbymobile", method="POST")
def user_getbymobile(app: App) -> Response:
    """§4.8: mobile -> userid of an active employee; 40104 invalid mobile, 60121 not found."""
    sb = sandbox()
    mobile = str(payload().get("mobile") or "")
    if not mobile.lstrip("+").replace("-", "").isdigit():
        raise OapiError(40104, "无效的手机号码")
    userid = sb.by_mobile.get(mobile)
    if userid is None or not sb.users[userid].active:
        raise OapiError(60121)
    return ok(result={"userid": userid})


@route("/topapi/user/count", method="POST")
def user_count(app: App) -> Response:
    """§4.9: number of employees (`only_active` required)."""
    sb = sandbox()
    data = payload()
    if "only_active" not in data:
        raise OapiError(40035, "缺少参数 only_active")
    only_active = _bool(data["only_active"])
    with sb.lock:
        count = sum(1 for u in sb.users.values() if u.active or not only_active)
    return ok(result={"count": count})


# ---------------------------------------------------------------------- §5 contacts write


@route("/topapi/v2/department/create", method="POST")
def department_create(app: App) -> Response:
    """§5.1: name 1-64 without `-`/`,`/`，`, parent exists (60004), unique under it (60021)."""
    data = payload()
    data.pop("dept_id", None)
    dept = sandbox().create_department(data)
    return ok(result={"dept_id": dept.dept_id})


@route("/topapi/v2/user/create", method="POST")
def user_create(app: App) -> Response:
    """§5.4: mobile required, comma-string dept_id_list; answers camelCase `unionId`."""
    user = sandbox().create_user(payload())
    return ok(result={"userid": user.userid, "unionId": user.unionid})


# The §5 writes that answer a bare ok(): what each does with the request body.
PLAIN_WRITES: dict[str, Callable[[Sandbox, dict[str, Any]], object]] = {
    "/topapi/v2/department/update": Sandbox.update_department,
    "/topapi/v2/department/delete": lambda sb, data: sb.delete_department(data.get("dept_id")),
    "/topapi/v2/user/update": Sandbox.update_user,
    "/topapi/v2/user/delete": lambda sb, data: sb.delete_user(data.get("userid")),
}


@route(*PLAIN_WRITES, method="POST")
def plain_write(app: App) -> Response:
    """§5.2 department update: root not updatable (60018), cycles refused (60010); §5.3
    department delete: not the root (60007), no sub-departments (60006), no members (60005);
    §5.5 user update: dept_id_list a comma string (up to 300); §5.6 user delete: 33012 for an
    unknown userid. Omitted fields stay unchanged."""
    PLAIN_WRITES[request.path](sandbox(), payload())
    return ok()


# ---------------------------------------------------------------------- §6.1 B callbacks


def _callback_fields(data: dict[str, Any]) -> tuple[list[str], str, str, str]:
    from idaas.dingtalk.crypto import BadAesKey, aes_key_bytes

    tags = data.get("call_back_tag")
    if isinstance(tags, str):
        tags = [t for t in tags.split(",") if t]
    if not isinstance(tags, list) or not tags:
        raise OapiError(40035, "缺少参数 call_back_tag")
    token = str(data.get("token") or "")
    if not 6 <= len(token) < 64:
        raise OapiError(40035, "token 长度必须大于等于6且小于64")
    aes_key = str(data.get("aes_key") or "")
    try:
        if not aes_key.isalnum():
            raise BadAesKey()
        aes_key_bytes(aes_key)
    except BadAesKey:
        raise OapiError(40035, "aes_key 必须是43位字母或数字") from None
    url = str(data.get("url") or "")
    if not url.startswith(("http://", "https://")):
        raise OapiError(40035, "url 非法")
    return [str(t) for t in tags], token, aes_key, url


@route("/call_back/register_call_back", "/call_back/update_call_back", method="POST")
def register_call_back(app: App) -> Response:
    """§6.1 B: register (71006 when one exists) or update (71007 when none) the corp-level
    callback, same body; owner key = corpId; `check_url` is pushed and answered first."""
    update = request.path.endswith("/update_call_back")
    sb = sandbox()
    tags, token, aes_key, url = _callback_fields(payload())
    with sb.lock:
        existing = sb.subscriptions.get(sb.legacy_subscription or "")
        if existing and not update:
            raise OapiError(71006)
        if not existing and update:
            raise OapiError(71007)
    sub = Subscription(
        id=existing.id if existing else "legacy",
        mode="legacy",
        url=url,
        token=token,
        aes_key=aes_key,
        owner_key=sb.corp_id,
        tags=tags,
        app_key=app.app_key,
    )
    delivered, error = sb.dispatcher.push(sub, {"EventType": "check_url"})
    if not delivered:
        raise OapiError(71012, f"url地址访问异常,错误原因:{error}")
    with sb.lock:
        sb.subscriptions[sub.id] = sub
        sb.legacy_subscription = sub.id
    return ok()


@route("/call_back/get_call_back", method="GET")
def get_call_back(app: App) -> Response:
    """§6.1 B: {call_back_tag[], token, aes_key, url}."""
    sb = sandbox()
    sub = sb.subscriptions.get(sb.legacy_subscription or "")
    if sub is None:
        raise OapiError(71007)
    return ok(call_back_tag=sub.tags or [], token=sub.token, aes_key=sub.aes_key, url=sub.url)


@route("/call_back/delete_call_back", method="GET")
def delete_call_back(app: App) -> Response:
    """§6.1 B: remove the corp-level registration."""
    sb = sandbox()
    with sb.lock:
        if sb.legacy_subscription:
            sb.subscriptions.pop(sb.legacy_subscription, None)
            sb.legacy_subscription = None
    return ok()


@route("/call_back/get_call_back_failed_result", method="GET")
def get_call_back_failed_result(app: App) -> Response:
    """§6.1 B: failed pushes, at most 200 per call (returned ones are removed)."""
    sb = sandbox()
    with sb.lock:
        batch, sb.failed_events = sb.failed_events[:200], sb.failed_events[200:]
        has_more = bool(sb.failed_events)
    return ok(has_more=has_more, failed_list=batch)


# ---------------------------------------------------------------------- §7 work notifications


@route("/topapi/message/corpconversation/asyncsend_v2", method="POST")
def asyncsend_v2(app: App) -> Response:
    """§7: agent_id required, comma-string lists, one msg type, recorded for inspection."""
    sb = sandbox()
    data = payload()
    agent_id = _int(data.get("agent_id"), 40056)
    if agent_id != app.agent_id:
        raise OapiError(40056)
    users = [u for u in str(data.get("userid_list") or "").split(",") if u]
    depts_raw = [d for d in str(data.get("dept_id_list") or "").split(",") if d]
    to_all = _bool(data.get("to_all_user"))
    if not to_all and not users and not depts_raw:
        raise OapiError(1430000, "没有接收者")
    if len(users) > int(sb.variants["notify_max_userids"]) or len(depts_raw) > 20:
        raise OapiError(40035, "接收者数量超过限制")
    if not all(d.isdigit() for d in depts_raw):
        raise OapiError(40035, "dept_id_list 非法")
    msg = data.get("msg")
    if not isinstance(msg, dict) or msg.get("msgtype") not in NOTIFY_MSG_TYPES:
        raise OapiError(40008, "不合法的消息类型")
    import json

    if len(json.dumps(msg, ensure_ascii=False).encode()) > 2048:
        raise OapiError(40035, "msg 超过2048字节")
    with sb.lock:
        recipients: set[str] = set()
        invalid_users = [u for u in users if u not in sb.users]
        recipients.update(u for u in users if u in sb.users)
        depts = [int(d) for d in depts_raw]
        invalid_depts = [d for d in depts if d not in sb.departments]
        for dept_id in depts:
            if dept_id in sb.departments:
                recipients.update(sb.subtree_userids(dept_id))
        if to_all:
            recipients.update(sb.users)
        # §7 quotas: the same content reaches the same user once per day; the send still
        # succeeds and the send result lists the refused recipient under 143106.
        day = int(sb.now() // 86400)
        content = json.dumps(msg, ensure_ascii=False, sort_keys=True)
        seen = {
            (r, n["day"], n["content"])
            for n in sb.notifications
            if n["agent_id"] == agent_id
            for r in n["recipients"]
        }
        duplicates = sorted(r for r in recipients if (r, day, content) in seen)
        recipients.difference_update(duplicates)
        task_id = sb.next_task_id()
        sb.notifications.append(
            {
                "task_id": task_id,
                "agent_id": agent_id,
                "app_key": app.app_key,
                "userid_list": users,
                "dept_id_list": depts,
                "to_all_user": to_all,
                "msg": msg,
                "recipients": sorted(recipients),
                "invalid_user_id_list": invalid_users,
                "invalid_dept_id_list": invalid_depts,
                "forbidden_list": [{"code": "143106", "count": 1, "userid": u} for u in duplicates],
                "day": day,
                "content": content,
                "at": sb.now(),
            }
        )
    return ok(task_id=task_id)


@route("/topapi/message/corpconversation/getsendresult", method="POST")
def getsendresult(app: App) -> Response:
    """§7: per-recipient result of a send (everyone unread in the sandbox)."""
    sb = sandbox()
    data = payload()
    task_id = _int(data.get("task_id"), 400002)
    if _int(data.get("agent_id"), 40056) != app.agent_id:
        raise OapiError(40056)
    record = next((n for n in sb.notifications if n["task_id"] == task_id), None)
    if record is None:
        raise OapiError(400002, "task_id 不存在")
    return ok(
        send_result={
            "invalid_user_id_list": record["invalid_user_id_list"],
            "forbidden_user_id_list": [f["userid"] for f in record["forbidden_list"]],
            "failed_user_id_list": [],
            "read_user_id_list": [],
            "unread_user_id_list": record["recipients"],
            "invalid_dept_id_list": record["invalid_dept_id_list"],
            "forbidden_list": record["forbidden_list"],
        }
    )
