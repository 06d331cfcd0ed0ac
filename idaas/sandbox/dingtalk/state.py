"""The sandbox's in-memory DingTalk: one corp, its apps, contacts, tokens, codes and faults.

Everything here is plain Python guarded by one re-entrant lock; the Flask views in `oapi.py`,
`api.py`, `login.py` and `control.py` are thin wrappers that cite `dingtalk-api.md`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from idaas.sandbox.dingtalk import seed as seeding
from idaas.sandbox.dingtalk.events import diff_info

TOKEN_LIFETIME = 7200
CODE_LIFETIME = 300
TICKET_MAX_AGE = 24 * 3600
REFRESH_LIFETIME = 30 * 86400
_ALNUM = string.ascii_letters + string.digits
_MOBILE = re.compile(r"^(\+\d{1,4}-)?\d{5,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

ERRMSG: dict[int, str] = {
    -1: "系统繁忙",
    88: "鉴权异常",
    33012: "无效的USERID",
    40001: "获取access_token时Secret错误，或者access_token无效",
    40014: "不合法的access_token",
    42001: "access_token超时",
    40035: "不合法的参数",
    400002: "无效的参数",
    40031: "不合法的员工列表",
    40056: "不合法的agentid",
    40066: "不合法的部门列表",
    40078: "不存在的临时授权码",
    40089: "不合法的corpId或corpSecret",
    40100: "分机号已经存在",
    41026: "缺少参数 tmp_auth_code",
    60001: "不合法的部门名称",
    60003: "部门不存在",
    60004: "父部门不存在",
    60005: "不允许删除有成员的部门",
    60006: "不允许删除有子部门的部门",
    60007: "不允许删除根部门",
    60009: "部门名称含有非法字符",
    60010: "部门存在循环关系",
    60011: "没有调用该接口的权限",
    60018: "不允许更新根部门",
    60020: "访问ip不在白名单之中",
    60021: "该部门下已存在相同名称的部门",
    60102: "UserID在公司中已存在",
    60103: "手机号码不合法",
    60104: "手机号码在公司中已存在",
    60105: "邮箱不合法",
    60106: "邮箱已存在",
    60111: "UserID不存在",
    60112: "用户姓名非法",
    60121: "找不到该用户",
    71006: "回调地址已经存在",
    71007: "回调地址不存在",
    71012: "url地址访问异常",
    90002: "您的服务器调用钉钉开放平台当前接口的所有请求都被暂时禁用了",
    90018: "当前接口调用触发限流，请稍后重试",
    853001: "timestamp参数不是毫秒时间戳",
    853002: "timestamp与服务器时间相差超过1分钟",
    853003: "accessKey不是有效的appId",
    853004: "签名不匹配",
}

# Errcodes an injected api-host fault maps to (HTTP status, code), dingtalk-api.md §8.2.
API_EQUIVALENT: dict[int, tuple[int, str]] = {
    40014: (400, "InvalidAuthentication"),
    42001: (400, "InvalidAuthentication"),
    40001: (400, "InvalidAuthentication"),
    60011: (403, "Forbidden.AccessDenied.AccessTokenPermissionDenied"),
    60020: (403, "Forbidden.AccessDenied.IpNotInWhiteList"),
    90018: (403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"),
    90002: (403, "Forbidden.AccessDenied.QpsLimitForApi"),
    40078: (400, "invalidCode"),
    -1: (500, "ServiceUnavailable"),
}

DEFAULT_VARIANTS: dict[str, Any] = {
    # §1.1 UNVERIFIED: the errcode gettoken returns for a bad key or secret.
    "gettoken_bad_secret": 40089,
    # §2.2 UNVERIFIED: the HTTP status of invalidCode from userAccessToken (400 or 409).
    "invalid_code_status": 400,
    # §2.2 UNVERIFIED: lifetime of new-OAuth codes, seconds.
    "oauth2_code_lifetime": CODE_LIFETIME,
    # §4.1 UNVERIFIED: listsub without dept_id: "root" or "error" (400002).
    "listsub_default": "root",
    # §6.2 UNVERIFIED: which signature parameter(s) a push carries: both, signature, msg_signature.
    "push_signature_param": "both",
    # §6.2: push timestamp unit, "ms" (official samples) or "s" (doc example).
    "push_timestamp_unit": "ms",
    # §6.5 UNVERIFIED: payload casing, "legacy" (UserId/TimeStamp) or "current" (userId/timeStamp).
    "event_casing": "legacy",
    # §6.6/§6.5: Stream `data` casing, "current" (userId/deptId/timeStamp string, the Stream
    # examples), "legacy" (UserId/DeptId/TimeStamp number) or "bare" (ids only: the time is in
    # the eventBornTime header). Clients must accept each.
    "stream_casing": "current",
    # §3.3 UNVERIFIED: dd.config signature hashes accepted: "both", "sha256", "sha1".
    "jsapi_signature": "both",
    # §8.1 UNVERIFIED: throttle envelope, "flat" (errcode 90018) or "wrapped" (errcode 88).
    "throttle_style": "flat",
    # §7 CONFLICT: userids per asyncsend_v2 call, 100 (param table) or 5000 (limits section).
    "notify_max_userids": 100,
    # §0 UNVERIFIED: doc samples render numbers and booleans as strings ("0", "true").
    "scalars": "typed",
    # §6.5: whether a pushed user_modify_org carries `diffInfo` (prev/curr of what changed).
    "modify_diff_info": False,
}


class OapiError(Exception):
    """An oapi failure: HTTP 200 with `{errcode, errmsg}` (dingtalk-api.md §0, §8.1)."""

    def __init__(self, errcode: int, errmsg: str | None = None, **extra: Any) -> None:
        self.errcode = errcode
        self.errmsg = errmsg or ERRMSG.get(errcode, "error")
        self.extra = extra
        super().__init__(f"{errcode} {self.errmsg}")


class ApiError(Exception):
    """An api-host failure: HTTP status with `{code, message, requestid}` (§0, §8.2)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{status} {code} {message}")


def now_ms(clock: float) -> int:
    """Epoch milliseconds of a clock reading."""
    return int(clock * 1000)


def random_string(length: int, alphabet: str = _ALNUM) -> str:
    """A random string from `alphabet` (secrets-grade)."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class App:
    """An internal app of the corp: AppKey/AppSecret, agent id, optional micro-app home page."""

    app_key: str
    app_secret: str
    agent_id: int
    name: str = "idaas"
    homepage: str | None = None

    def public(self) -> dict[str, Any]:
        """The app as `/_sandbox/state` shows it."""
        return asdict(self)


@dataclass
class Department:
    """A department (dingtalk-api.md §4.2 fields that the sandbox keeps)."""

    dept_id: int
    name: str
    parent_id: int | None
    order: int = 0
    source_identifier: str | None = None
    create_dept_group: bool = False
    auto_add_user: bool = False
    hide_dept: bool = False
    outer_dept: bool = False
    code: str | None = None
    brief: str | None = None
    dept_manager_userid_list: list[str] = field(default_factory=list)


USER_FIELDS = (
    "name",
    "mobile",
    "state_code",
    "email",
    "org_email",
    "job_number",
    "title",
    "work_place",
    "remark",
    "telephone",
    "hired_date",
    "hide_mobile",
    "manager_userid",
    "senior_mode",
    "extension",
    "login_email",
    "avatar",
    "org_email_type",
)


@dataclass
class User:
    """A member of the corp (dingtalk-api.md §4.5/§4.6 fields that the sandbox keeps)."""

    userid: str
    unionid: str
    name: str
    mobile: str | None = None
    state_code: str = "86"
    email: str | None = None
    org_email: str | None = None
    org_email_type: str | None = None
    job_number: str | None = None
    title: str | None = None
    work_place: str | None = None
    remark: str | None = None
    telephone: str | None = None
    hired_date: int | None = None
    hide_mobile: bool = False
    manager_userid: str | None = None
    senior_mode: bool = False
    extension: str | None = None
    login_email: str | None = None
    avatar: str | None = None
    dept_id_list: list[int] = field(default_factory=list)
    dept_orders: dict[int, int] = field(default_factory=dict)
    leader_in: set[int] = field(default_factory=set)
    active: bool = True
    admin: bool = False
    boss: bool = False
    sys_level: int = 0
    created_ms: int = 0
    modified_ms: int = 0


@dataclass
class Token:
    """An access token: an app's (interchangeable across hosts, §0) or a user's (§2.2)."""

    value: str
    app_key: str
    expires_at: float
    kind: str = "app"
    unionid: str | None = None
    revoked: bool = False


@dataclass
class Code:
    """A single-use login or free-login code (§2, §3): kind sns, oauth2 or micro."""

    value: str
    kind: str
    app_key: str | None
    userid: str
    expires_at: float
    used: bool = False


@dataclass
class Ticket:
    """A JSAPI ticket: renewed on refetch, at most 24 h old (§3.3)."""

    value: str
    created_at: float
    expires_at: float


@dataclass
class LoginSession:
    """A pending QR login page: the parameters to redirect with once someone confirms (§2)."""

    ticket: str
    flow: str
    app_key: str
    redirect_uri: str
    state: str | None
    scope: str
    expires_at: float
    #: Opened by `DTFrameLogin` (§2.2 embedded QR): the phone confirms, the frame learns by polling.
    embed: bool = False
    #: What the embedded frame hands its parent once the phone confirmed (or denied).
    result: dict[str, Any] | None = None


@dataclass
class Subscription:
    """An HTTP push subscription: console (owner key AppKey) or register_call_back (corpId)."""

    id: str
    mode: str
    url: str
    token: str
    aes_key: str
    owner_key: str
    tags: list[str] | None
    app_key: str | None = None

    def public(self) -> dict[str, Any]:
        """The subscription as the control API shows it."""
        return asdict(self)


def default_faults() -> dict[str, Any]:
    """No faults: every call succeeds as documented."""
    return {
        "errors": [],
        "throttle": None,
        "ip_whitelist": None,
        "latency": None,
        "ip_ban": None,
        "token_lifetime": TOKEN_LIFETIME,
    }


class Sandbox:
    """The whole emulated DingTalk, in memory."""

    def __init__(
        self,
        corp_id: str | None = None,
        app_key: str | None = None,
        app_secret: str | None = None,
        agent_id: int | None = None,
        base_url: str | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.offset = 0.0
        self.base_url = base_url
        self.corp_id = corp_id or "ding" + random_string(16, string.ascii_lowercase + string.digits)
        self.apps: dict[str, App] = {}
        self.add_app(app_key, app_secret, agent_id)
        self.departments: dict[int, Department] = {}
        self.children: dict[int, list[int]] = {}
        self.members: dict[int, list[str]] = {}
        self.users: dict[str, User] = {}
        self.by_unionid: dict[str, str] = {}
        self.by_mobile: dict[str, str] = {}
        self.by_email: dict[str, str] = {}
        self.tokens: dict[str, Token] = {}
        self.app_tokens: dict[str, str] = {}
        self.codes: dict[str, Code] = {}
        self.tickets: dict[str, Ticket] = {}
        self.logins: dict[str, LoginSession] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.legacy_subscription: str | None = None
        self.failed_events: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        self.call_errors: dict[str, Counter[str]] = {}
        self.faults = default_faults()
        self.variants = dict(DEFAULT_VARIANTS)
        self.current_user: str | None = None
        self.throttle_windows: dict[tuple[str, str], list[float]] = {}
        self._next_task = 256271667526
        self._rng = secrets.SystemRandom()
        self.reset_contacts()
        from idaas.sandbox.dingtalk.events import Dispatcher, StreamHub

        self.dispatcher = Dispatcher(self)
        self.stream = StreamHub(self)

    # ------------------------------------------------------------------ clock and apps

    def now(self) -> float:
        """The sandbox clock: wall time plus any `/_sandbox/clock` advance."""
        return time.time() + self.offset

    def add_app(
        self,
        app_key: str | None = None,
        app_secret: str | None = None,
        agent_id: int | None = None,
        name: str = "idaas",
        homepage: str | None = None,
    ) -> App:
        """Register an internal app (random credentials when omitted)."""
        app = App(
            app_key=app_key or "ding" + random_string(16, string.ascii_lowercase + string.digits),
            app_secret=app_secret or random_string(64, _ALNUM + "-_"),
            agent_id=agent_id or secrets.randbelow(9 * 10**9) + 10**9,
            name=name,
            homepage=homepage,
        )
        with self.lock:
            self.apps[app.app_key] = app
        return app

    @property
    def default_app(self) -> App:
        """The first app, used when a request does not say which."""
        return next(iter(self.apps.values()))

    def close(self) -> None:
        """Stop the callback dispatcher (closing its HTTP client) and the Stream hub's sockets."""
        self.dispatcher.close()
        self.stream.close()

    # ------------------------------------------------------------------ contacts store

    def reset_contacts(self) -> None:
        """An empty corp with only the root department 1 (§0: root is 1)."""
        with self.lock:
            self.departments = {1: Department(dept_id=1, name="沙箱科技有限公司", parent_id=None)}
            self.children = {1: []}
            self.members = {1: []}
            self.users = {}
            self.by_unionid = {}
            self.by_mobile = {}
            self.by_email = {}
            self.current_user = None

    def seed(
        self,
        departments: int = 20,
        users: int = 100,
        seed: int | str = 0,
        corp_id: str | None = None,
        corp_name: str | None = None,
    ) -> dict[str, Any]:
        """Replace the contacts with a generated organisation; no events are fired."""
        data = seeding.generate(departments, users, seed)
        with self.lock:
            if corp_id:
                self.corp_id = corp_id
            self.reset_contacts()
            if corp_name:
                self.departments[1].name = corp_name
            stamp = now_ms(self.now())
            for d in data.departments:
                dept = Department(d["dept_id"], d["name"], d["parent_id"], d["order"])
                self.departments[dept.dept_id] = dept
                self.children[dept.dept_id] = []
                self.members[dept.dept_id] = []
                self.children[d["parent_id"]].append(dept.dept_id)
            for u in data.users:
                depts = u.pop("dept_id_list")
                user = User(**u, created_ms=stamp, modified_ms=stamp)
                self._index_user(user)
                self._set_user_depts(user, depts)
            for dept_id, userids in self.members.items():
                if userids and dept_id != 1:
                    self.users[userids[0]].leader_in.add(dept_id)
                    self.departments[dept_id].dept_manager_userid_list = [userids[0]]
            if self.users and self.current_user is None:
                self.current_user = next(iter(self.users))
        return self.counts()

    def counts(self) -> dict[str, int]:
        """Department count (root excluded) and user count."""
        return {"departments": len(self.departments) - 1, "users": len(self.users)}

    def _index_user(self, user: User) -> None:
        self.users[user.userid] = user
        self.by_unionid[user.unionid] = user.userid
        if user.mobile:
            self.by_mobile[user.mobile] = user.userid
        if user.email:
            self.by_email[user.email.lower()] = user.userid

    def _set_user_depts(self, user: User, depts: list[int]) -> None:
        for old in user.dept_id_list:
            if old not in depts:
                self.members[old].remove(user.userid)
                user.leader_in.discard(old)
        for dept_id in depts:
            if dept_id not in user.dept_id_list:
                self.members[dept_id].append(user.userid)
                user.dept_orders.setdefault(dept_id, len(self.members[dept_id]))
        user.dept_id_list = list(depts)

    def new_dept_id(self) -> int:
        """A fresh, unused department id (DingTalk ids are large integers)."""
        while True:
            candidate = self._rng.randrange(100_000_000, 999_999_999)
            if candidate not in self.departments:
                return candidate

    def new_unionid(self) -> str:
        """A fresh unionid, shaped like DingTalk's."""
        return random_string(24) + "iEiE"

    def openid(self, app_key: str, userid: str) -> str:
        """The per-app openid of a user (stable)."""
        digest = hashlib.sha256(f"{app_key}:{userid}".encode()).hexdigest()
        return digest[:22] + "iEiE"

    # ------------------------------------------------------------------ serialisation (§4)

    def dept_json(self, dept: Department, detail: bool = False) -> dict[str, Any]:
        """A department as listsub (§4.1) or department/get (§4.2) returns it."""
        data: dict[str, Any] = {
            "dept_id": dept.dept_id,
            "name": dept.name,
            "parent_id": dept.parent_id if dept.parent_id is not None else 0,
            "create_dept_group": dept.create_dept_group,
            "auto_add_user": dept.auto_add_user,
        }
        if dept.dept_id == 1:
            data.pop("parent_id")
        if detail:
            direct = len(self.members.get(dept.dept_id, []))
            data.update(
                {
                    "order": dept.order,
                    "source_identifier": dept.source_identifier,
                    "hide_dept": dept.hide_dept,
                    "outer_dept": dept.outer_dept,
                    "dept_manager_userid_list": list(dept.dept_manager_userid_list),
                    "group_contain_sub_dept": False,
                    "member_count": len(self.subtree_userids(dept.dept_id)),
                    "owning_member_count": direct,
                }
            )
            if dept.code:
                data["code"] = dept.code
        return data

    def subtree_ids(self, dept_id: int) -> list[int]:
        """A department and all its descendants."""
        out, queue = [], [dept_id]
        while queue:
            current = queue.pop()
            out.append(current)
            queue.extend(self.children.get(current, []))
        return out

    def subtree_userids(self, dept_id: int) -> set[str]:
        """Userids in a department or any of its descendants."""
        found: set[str] = set()
        for d in self.subtree_ids(dept_id):
            found.update(self.members.get(d, []))
        return found

    def user_json(self, user: User, detail: bool = False) -> dict[str, Any]:
        """A user as user/list (§4.5) or user/get (§4.6) returns it."""
        data: dict[str, Any] = {
            "userid": user.userid,
            "unionid": user.unionid,
            "name": user.name,
            "state_code": user.state_code,
            "mobile": user.mobile,
            "hide_mobile": user.hide_mobile,
            "telephone": user.telephone or "",
            "job_number": user.job_number or "",
            "title": user.title or "",
            "email": user.email or "",
            "org_email": user.org_email or "",
            "work_place": user.work_place or "",
            "remark": user.remark or "",
            "dept_id_list": list(user.dept_id_list),
            "extension": user.extension or "",
            "hired_date": user.hired_date,
            "active": user.active,
            "admin": user.admin,
            "boss": user.boss,
            "exclusive_account": False,
        }
        if user.avatar:
            data["avatar"] = user.avatar
        if user.hired_date is None:
            data.pop("hired_date")
        if detail:
            data.update(
                {
                    "manager_userid": user.manager_userid or "",
                    "real_authed": True,
                    "senior": user.senior_mode,
                    "dept_order_list": [
                        {"dept_id": d, "order": user.dept_orders.get(d, 0)}
                        for d in user.dept_id_list
                    ],
                    "leader_in_dept": [
                        {"dept_id": d, "leader": d in user.leader_in} for d in user.dept_id_list
                    ],
                    "role_list": [{"id": 1, "name": "主管理员", "group_name": "默认"}]
                    if user.sys_level == 1
                    else [],
                    "union_emp_ext": {},
                }
            )
        else:
            data["dept_order"] = (
                user.dept_orders.get(user.dept_id_list[0], 0) if user.dept_id_list else 0
            )
            data["leader"] = bool(user.leader_in)
        return data

    # ------------------------------------------------------------------ tokens (§1)

    def issue_app_token(self, app: App) -> Token:
        """Same token while valid, renewed to a full lifetime; a new one after expiry (§1.4)."""
        with self.lock:
            now = self.now()
            lifetime = float(self.faults.get("token_lifetime") or TOKEN_LIFETIME)
            current = self.tokens.get(self.app_tokens.get(app.app_key, ""))
            if current and not current.revoked and now < current.expires_at:
                current.expires_at = now + lifetime
                return current
            token = Token(random_string(32, string.hexdigits.lower()), app.app_key, now + lifetime)
            self.tokens[token.value] = token
            self.app_tokens[app.app_key] = token.value
            return token

    def token_lifetime_left(self, token: Token) -> int:
        """Whole seconds before a token expires."""
        return max(0, int(round(token.expires_at - self.now())))

    def check_token(self, value: str | None, kind: str = "app") -> Token:
        """The token, or OapiError 40014 (unknown/revoked) / 42001 (expired) (§8.1)."""
        with self.lock:
            token = self.tokens.get(value or "")
            if token is None or token.revoked or token.kind != kind:
                raise OapiError(40014)
            if self.now() >= token.expires_at:
                raise OapiError(42001)
            return token

    def expire_tokens(self, mode: str = "invalidate") -> int:
        """Knob (§9.3): `invalidate` -> unknown tokens (40014), `expire` -> timed out (42001)."""
        with self.lock:
            count = 0
            for token in self.tokens.values():
                if token.kind != "app":
                    continue
                count += 1
                if mode == "expire":
                    token.expires_at = self.now() - 1
                else:
                    token.revoked = True
            return count

    def issue_user_token(self, app_key: str, unionid: str) -> tuple[Token, str]:
        """A user access token and a 30-day refresh token (§2.2)."""
        with self.lock:
            now = self.now()
            token = Token(random_string(32), app_key, now + TOKEN_LIFETIME, "user", unionid)
            refresh = Token(random_string(32), app_key, now + REFRESH_LIFETIME, "refresh", unionid)
            self.tokens[token.value] = token
            self.tokens[refresh.value] = refresh
            return token, refresh.value

    # ------------------------------------------------------------------ codes (§2, §3)

    def issue_code(self, kind: str, app_key: str | None, userid: str) -> Code:
        """A single-use code for `userid`, valid 5 minutes (§3.1; §2.2 lifetime is a variant)."""
        with self.lock:
            if userid not in self.users:
                raise OapiError(60121)
            lifetime = float(CODE_LIFETIME)
            if kind == "oauth2":
                lifetime = float(self.variants["oauth2_code_lifetime"])
            code = Code(
                random_string(32, string.hexdigits.lower()),
                kind,
                app_key,
                userid,
                self.now() + lifetime,
            )
            self.codes[code.value] = code
            return code

    def redeem_code(self, value: str, kind: str, app_key: str | None) -> Code | None:
        """Consume a code; None when unknown, expired, used, of another kind or app (40078)."""
        with self.lock:
            code = self.codes.get(value or "")
            if code is None or code.used or code.kind != kind or self.now() >= code.expires_at:
                return None
            if code.app_key and app_key and code.app_key != app_key:
                return None
            code.used = True
            return code

    # ------------------------------------------------------------------ JSAPI tickets (§3.3)

    def issue_ticket(self, app_key: str) -> Ticket:
        """Same ticket renewed for 2 h while valid, but never older than 24 h (§3.3)."""
        with self.lock:
            now = self.now()
            ticket = self.tickets.get(app_key)
            if ticket and now < ticket.expires_at and now < ticket.created_at + TICKET_MAX_AGE:
                ticket.expires_at = min(now + TOKEN_LIFETIME, ticket.created_at + TICKET_MAX_AGE)
                return ticket
            ticket = Ticket(random_string(64), now, now + TOKEN_LIFETIME)
            self.tickets[app_key] = ticket
            return ticket

    # ------------------------------------------------------------------ departments (§5.1-5.3)

    def _check_dept_name(self, name: Any) -> str:
        if not isinstance(name, str) or not 1 <= len(name) <= 64:
            raise OapiError(60001)
        if any(c in name for c in "-，,"):
            raise OapiError(60009)
        return name

    def create_department(self, fields: dict[str, Any], origin: str = "api") -> Department:
        """Create a department (§5.1): name rules, parent exists, unique name under the parent."""
        with self.lock:
            name = self._check_dept_name(fields.get("name"))
            parent_id = _int(fields.get("parent_id"), 40035)
            if parent_id not in self.departments:
                raise OapiError(60004)
            if any(self.departments[c].name == name for c in self.children[parent_id]):
                raise OapiError(60021)
            dept = Department(
                dept_id=_int(fields["dept_id"], 40035)
                if fields.get("dept_id")
                else self.new_dept_id(),
                name=name,
                parent_id=parent_id,
                order=_int(fields.get("order", 0), 40011),
                source_identifier=fields.get("source_identifier"),
                create_dept_group=_bool(fields.get("create_dept_group")),
                hide_dept=_bool(fields.get("hide_dept")),
                outer_dept=_bool(fields.get("outer_dept")),
                brief=fields.get("brief"),
            )
            if dept.dept_id in self.departments:
                raise OapiError(40035, "部门id已存在")
            self.departments[dept.dept_id] = dept
            self.children[dept.dept_id] = []
            self.members[dept.dept_id] = []
            self.children[parent_id].append(dept.dept_id)
            self.emit("org_dept_create", dept_ids=[dept.dept_id])
            return dept

    def update_department(self, fields: dict[str, Any]) -> Department:
        """Update a department (§5.2): not root, parent exists, no cycle, managers are members."""
        with self.lock:
            dept_id = _int(fields.get("dept_id"), 40009)
            if dept_id == 1:
                raise OapiError(60018)
            dept = self.departments.get(dept_id)
            if dept is None:
                raise OapiError(60003)
            name = dept.name
            if fields.get("name") is not None:
                name = self._check_dept_name(fields["name"])
            parent_id = dept.parent_id or 1
            if fields.get("parent_id") is not None:
                parent_id = _int(fields["parent_id"], 60004)
                if parent_id not in self.departments:
                    raise OapiError(60004)
                if parent_id in self.subtree_ids(dept_id):
                    raise OapiError(60010)
            siblings = self.children[parent_id]
            if any(self.departments[c].name == name and c != dept_id for c in siblings):
                raise OapiError(60021)
            managers = fields.get("dept_manager_userid_list")
            if managers is not None:
                ids = [m for m in str(managers).split(",") if m]
                if any(m not in self.members[dept_id] for m in ids):
                    raise OapiError(40031)
                dept.dept_manager_userid_list = ids
            if parent_id != dept.parent_id:
                assert dept.parent_id is not None
                self.children[dept.parent_id].remove(dept_id)
                self.children[parent_id].append(dept_id)
                dept.parent_id = parent_id
            dept.name = name
            if fields.get("order") is not None:
                dept.order = _int(fields["order"], 40011)
            for key in ("source_identifier", "code", "brief"):
                if fields.get(key) is not None:
                    setattr(dept, key, str(fields[key]))
            for key in ("create_dept_group", "auto_add_user", "hide_dept", "outer_dept"):
                if fields.get(key) is not None:
                    setattr(dept, key, _bool(fields[key]))
            self.emit("org_dept_modify", dept_ids=[dept_id])
            return dept

    def delete_department(self, dept_id_value: Any) -> None:
        """Delete a department (§5.3): not the root, no sub-departments, no members."""
        with self.lock:
            dept_id = _int(dept_id_value, 400002)
            if dept_id == 1:
                raise OapiError(60007)
            dept = self.departments.get(dept_id)
            if dept is None:
                raise OapiError(60003)
            if self.children[dept_id]:
                raise OapiError(60006)
            if self.members[dept_id]:
                raise OapiError(60005)
            assert dept.parent_id is not None
            self.children[dept.parent_id].remove(dept_id)
            del self.departments[dept_id], self.children[dept_id], self.members[dept_id]
            self.emit("org_dept_remove", dept_ids=[dept_id])

    # ------------------------------------------------------------------ users (§5.4-5.6)

    def _parse_dept_list(self, value: Any, limit: int) -> list[int]:
        if not isinstance(value, str):
            raise OapiError(40035, "dept_id_list 必须是逗号分隔的字符串")
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts or len(parts) > limit or not all(p.isdigit() for p in parts):
            raise OapiError(40066)
        ids = list(dict.fromkeys(int(p) for p in parts))
        if any(d not in self.departments for d in ids):
            raise OapiError(60003)
        return ids

    def _apply_user_fields(self, user: User, fields: dict[str, Any], creating: bool) -> None:
        if "name" in fields or creating:
            name = fields.get("name")
            if not isinstance(name, str) or not 1 <= len(name.strip()) <= 80:
                raise OapiError(60112)
            user.name = name.strip()
        if fields.get("mobile") is not None:
            mobile = str(fields["mobile"])
            if not _MOBILE.match(mobile):
                raise OapiError(60103)
            owner = self.by_mobile.get(mobile)
            if owner and owner != user.userid:
                raise OapiError(60104)
            if user.mobile and self.by_mobile.get(user.mobile) == user.userid:
                del self.by_mobile[user.mobile]
            user.mobile = mobile
            self.by_mobile[mobile] = user.userid
        if fields.get("email") is not None:
            email = str(fields["email"])
            if email:
                if len(email) > 50 or not _EMAIL.match(email):
                    raise OapiError(60105)
                owner = self.by_email.get(email.lower())
                if owner and owner != user.userid:
                    raise OapiError(60106)
            if user.email and self.by_email.get(user.email.lower()) == user.userid:
                del self.by_email[user.email.lower()]
            user.email = email or None
            if email:
                self.by_email[email.lower()] = user.userid
        limits = {
            "title": 200,
            "org_email": 100,
            "job_number": 50,
            "telephone": 50,
            "work_place": 100,
            "remark": 2000,
            "extension": 2000,
        }
        for key in (
            "title",
            "org_email",
            "org_email_type",
            "job_number",
            "telephone",
            "work_place",
            "remark",
            "manager_userid",
            "login_email",
            "extension",
        ):
            if fields.get(key) is not None:
                value = fields[key]
                if key == "extension" and not isinstance(value, str):
                    import json

                    value = json.dumps(value, ensure_ascii=False)
                value = str(value)
                if len(value) > limits.get(key, 200):
                    raise OapiError(40035, f"{key} 超过长度限制")
                if (
                    key == "telephone"
                    and value
                    and any(
                        u.telephone == value and u.userid != user.userid
                        for u in self.users.values()
                    )
                ):
                    raise OapiError(40100)
                setattr(user, key, value)
        if fields.get("hired_date") is not None:
            user.hired_date = _int(fields["hired_date"], 40035)
        for key in ("hide_mobile", "senior_mode"):
            if fields.get(key) is not None:
                setattr(user, key, _bool(fields[key]))

    def create_user(self, fields: dict[str, Any]) -> User:
        """Create a user (§5.4): name, mobile and a comma-string dept_id_list are required."""
        with self.lock:
            if not fields.get("mobile"):
                raise OapiError(40035, "缺少参数 mobile")
            if "dept_id_list" not in fields:
                raise OapiError(40035, "缺少参数 dept_id_list")
            depts = self._parse_dept_list(fields["dept_id_list"], 100)
            userid = fields.get("userid")
            if userid is not None:
                userid = str(userid)
                if not 1 <= len(userid) <= 64:
                    raise OapiError(40035, "userid 长度非法")
                if userid in self.users:
                    raise OapiError(60102)
            else:
                userid = "0" + str(self._rng.randrange(10**15, 10**16))
            stamp = now_ms(self.now())
            user = User(
                userid=userid,
                unionid=self.new_unionid(),
                name="",
                created_ms=stamp,
                modified_ms=stamp,
            )
            self._apply_user_fields(user, fields, creating=True)
            self._index_user(user)
            self._set_user_depts(user, depts)
            self.emit("user_add_org", user_ids=[userid])
            return user

    def update_user(self, fields: dict[str, Any]) -> User:
        """Update a user (§5.5): omitted fields unchanged; dept_id_list up to 300 ids."""
        with self.lock:
            userid = str(fields.get("userid") or "")
            if not userid:
                raise OapiError(40035, "缺少参数 userid")
            user = self.users.get(userid)
            if user is None:
                raise OapiError(60111)
            depts = None
            if fields.get("dept_id_list") is not None:
                depts = self._parse_dept_list(fields["dept_id_list"], 300)
            before = replace(user, dept_id_list=list(user.dept_id_list))
            self._apply_user_fields(user, fields, creating=False)
            if depts is not None:
                self._set_user_depts(user, depts)
            user.modified_ms = now_ms(self.now())
            extra = (
                {"diffInfo": diff_info(before, user)} if self.variants["modify_diff_info"] else {}
            )
            self.emit("user_modify_org", user_ids=[userid], extra=extra)
            return user

    def delete_user(self, userid: Any) -> None:
        """Delete a user (§5.6); 33012 when unknown."""
        with self.lock:
            user = self.users.get(str(userid or ""))
            if user is None:
                raise OapiError(33012)
            self._set_user_depts(user, [])
            del self.users[user.userid]
            self.by_unionid.pop(user.unionid, None)
            if user.mobile:
                self.by_mobile.pop(user.mobile, None)
            if user.email:
                self.by_email.pop(user.email.lower(), None)
            for dept in self.departments.values():
                if user.userid in dept.dept_manager_userid_list:
                    dept.dept_manager_userid_list.remove(user.userid)
            if self.current_user == user.userid:
                self.current_user = None
            self.emit("user_leave_org", user_ids=[user.userid])

    # ------------------------------------------------------------------ events (§6)

    def emit(
        self,
        event_type: str,
        user_ids: list[str] | None = None,
        dept_ids: list[int] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Queue an event (with `extra` payload keys on HTTP pushes) for every subscription whose
        tags include it (§6.5), and for every app's Stream subscribers (§6.6)."""
        for sub in list(self.subscriptions.values()):
            if sub.tags is None or event_type in sub.tags:
                payload = self.event_payload(sub, event_type, user_ids, dept_ids)
                self.dispatcher.enqueue(sub, {**payload, **(extra or {})})
        for app_key in list(self.apps):
            self.stream.publish(app_key, event_type, user_ids, dept_ids)

    def event_payload(
        self,
        sub: Subscription,
        event_type: str,
        user_ids: list[str] | None,
        dept_ids: list[int] | None,
    ) -> dict[str, Any]:
        """The decrypted event JSON in the casing chosen by the `event_casing` variant (§6.5)."""
        stamp = now_ms(self.now())
        if self.variants["event_casing"] == "current":
            payload: dict[str, Any] = {
                "EventType": event_type,
                "EventTime": stamp,
                "CorpId": self.corp_id,
                "BizId": str(stamp),
                "eventId": uuid.uuid4().hex,
                "timeStamp": str(stamp),
            }
            if user_ids is not None:
                payload["userId"] = list(user_ids)
            if dept_ids is not None:
                payload["deptId"] = list(dept_ids)
        else:
            payload = {"EventType": event_type, "TimeStamp": stamp, "CorpId": self.corp_id}
            if user_ids is not None:
                payload["UserId"] = list(user_ids)
            if dept_ids is not None:
                payload["DeptId"] = list(dept_ids)
        return payload

    # ------------------------------------------------------------------ call log and faults

    def record_call(self, endpoint: str, outcome: str) -> None:
        """Count a call per endpoint, and its error code when it failed."""
        with self.lock:
            self.calls[endpoint] += 1
            if outcome != "ok":
                self.call_errors.setdefault(endpoint, Counter())[outcome] += 1

    def throttled(self, key: str, endpoint: str) -> bool:
        """Whether a call exceeds the injected QPS per (app, endpoint); rejections not counted."""
        throttle = self.faults.get("throttle")
        if not throttle:
            return False
        endpoints = throttle.get("endpoints")
        if endpoints and endpoint not in endpoints:
            return False
        qps = int(throttle.get("qps") or 0)
        with self.lock:
            now = time.monotonic()
            window = [t for t in self.throttle_windows.get((key, endpoint), []) if now - t < 1.0]
            if len(window) >= qps:
                self.throttle_windows[(key, endpoint)] = window
                return True
            window.append(now)
            self.throttle_windows[(key, endpoint)] = window
            return False

    def injected_error(self, endpoint: str) -> dict[str, Any] | None:
        """The next injected error rule for an endpoint, consuming one of its `times`."""
        with self.lock:
            for rule in self.faults["errors"]:
                if rule.get("endpoint") not in (endpoint, "*"):
                    continue
                if rule.get("skip", 0) > 0:
                    rule["skip"] -= 1
                    continue
                times = rule.get("times")
                if times is not None:
                    if times <= 0:
                        continue
                    rule["times"] = times - 1
                return dict(rule)
            return None

    def next_task_id(self) -> int:
        """A fresh work-notification task id."""
        with self.lock:
            self._next_task += 1
            return self._next_task

    def state(self) -> dict[str, Any]:
        """What `GET /_sandbox/state` returns."""
        with self.lock:
            return {
                "corp_id": self.corp_id,
                "corp_name": self.departments[1].name,
                "apps": [app.public() for app in self.apps.values()],
                "callbacks": [s.public() for s in self.subscriptions.values()],
                "stream": self.stream.summary(),
                "departments": len(self.departments) - 1,
                "users": len(self.users),
                "current_user": self.current_user,
                "current_user_name": self.users[self.current_user].name
                if self.current_user in self.users
                else None,
                "variants": dict(self.variants),
                "faults": self.faults,
                "base_url": self.base_url,
            }


def _int(value: Any, errcode: int) -> int:
    if isinstance(value, bool):
        raise OapiError(errcode)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OapiError(errcode) from None


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in {"true", "1", "yes"}
    return bool(value)
