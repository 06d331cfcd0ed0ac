"""The only code in idaas that speaks DingTalk HTTP (dingtalk-api.md §1-§5, §6.6 open and §7).

`DingTalkClient` takes an injected `httpx.Client`, one app's credentials and the three base URLs
(oapi, api, login). It caches the app's token, refreshes it ahead of expiry, drops it and retries
once when DingTalk refuses it, keeps every API under a QPS budget, backs off on throttles without
losing the call, and turns every error into a typed `DingTalkError` with an actionable message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import httpx

from idaas.dingtalk import errors
from idaas.dingtalk.crypto import random_nonce
from idaas.dingtalk.errors import (
    DingTalkError,
    InvalidCredentials,
    IpBanned,
    RateLimited,
    ServerBusy,
    TokenInvalid,
)
from idaas.dingtalk.ratelimit import RateLimiter, backoff_delays

log = logging.getLogger(__name__)

OAPI_BASE = "https://oapi.dingtalk.com"
API_BASE = "https://api.dingtalk.com"
LOGIN_BASE = "https://login.dingtalk.com"
MAX_PAGE_SIZE = 100
NOTIFY_MAX_USERS = 100
NOTIFY_MAX_DEPTS = 20
_SECRET_QUERY = re.compile(
    r"(?i)\b(access_token|appsecret|signature|code|tmp_auth_code)=[^&\s\"']+"
)


def redact(text: str) -> str:
    """Hide token, secret, signature and code values in a URL or log line."""
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)


class _RedactHttpxLogs(logging.Filter):
    """httpx logs every request URL at INFO; the oapi host carries tokens in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(str(arg)) if isinstance(arg, httpx.URL | str) else arg for arg in record.args
            )
        return True


_FILTER_LOCK = threading.Lock()


def _install_log_redaction() -> None:
    with _FILTER_LOCK:
        logger = logging.getLogger("httpx")
        if not any(isinstance(f, _RedactHttpxLogs) for f in logger.filters):
            logger.addFilter(_RedactHttpxLogs())


@dataclass(frozen=True)
class DingTalkApp:
    """One DingTalk internal app: AppKey (Client ID), AppSecret, agent id and its corp id."""

    app_key: str
    app_secret: str = field(repr=False)
    agent_id: int | None = None
    corp_id: str | None = None


class ExpiringCache:
    """Per-app cache of tokens or tickets with their wall-clock expiry (thread-safe)."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, key: str) -> threading.Lock:
        """The fetch lock of one app, so concurrent callers fetch once."""
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: str, now: float) -> str | None:
        """The cached value if it is still fresh at `now`."""
        entry = self._values.get(key)
        if entry and now < entry[1]:
            return entry[0]
        return None

    def put(self, key: str, value: str, refresh_at: float) -> None:
        """Cache `value` until `refresh_at`."""
        self._values[key] = (value, refresh_at)

    def drop(self, key: str, value: str | None = None) -> None:
        """Forget the cached value (only if it is still `value`, when given)."""
        entry = self._values.get(key)
        if entry and (value is None or entry[0] == value):
            del self._values[key]


SHARED_TOKENS = ExpiringCache()
SHARED_TICKETS = ExpiringCache()
_LIMITERS: dict[float | None, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()
_WRITES = ("create", "update", "delete", "asyncsend", "call_back/", "userAccessToken")
BUSY_RETRIES = 3


def shared_limiter(qps: float | None) -> RateLimiter:
    """The process-wide limiter for a QPS budget, so every client of an app shares one window."""
    with _LIMITERS_LOCK:
        if qps not in _LIMITERS:
            _LIMITERS[qps] = RateLimiter(qps)
        return _LIMITERS[qps]


def sns_signature(app_secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(appSecret, timestamp)) for sns/getuserinfo_bycode (§2.1 step 3)."""
    digest = hmac.new(app_secret.encode(), timestamp.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def jsapi_sign_url(url: str) -> str:
    """The page URL as signed: no fragment, query URL-decoded (§3.3, official sample)."""
    parts = urlsplit(url.split("#", 1)[0])
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return f"{base}?{unquote(parts.query)}" if parts.query else base


def jsapi_signature(
    ticket: str, nonce: str, timestamp: str, url: str, algorithm: str = "sha256"
) -> str:
    """hex(SHA-256 or SHA-1) of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…` (§3.3)."""
    plain = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    if algorithm not in {"sha256", "sha1"}:
        raise ValueError("algorithm must be sha256 or sha1")
    return hashlib.new(algorithm, plain.encode("utf-8")).hexdigest()


def flag(value: Any) -> bool:
    """A DingTalk boolean that may arrive as `true` or as the string "true" (§0)."""
    return value is True or str(value).lower() == "true"


def _comma(values: Iterable[Any] | str) -> str:
    if isinstance(values, str):
        return values
    return ",".join(str(v) for v in values)


class DingTalkClient:
    """DingTalk open-platform client for one app (tokens, login, contacts, notifications)."""

    TOKEN_SOURCES = ("oapi", "api", "unified")

    def __init__(
        self,
        http: httpx.Client,
        app: DingTalkApp,
        *,
        oapi_base: str = OAPI_BASE,
        api_base: str = API_BASE,
        login_base: str = LOGIN_BASE,
        qps: float | None = 20,
        rate_limiter: RateLimiter | None = None,
        token_cache: ExpiringCache | None = None,
        refresh_margin: float = 600.0,
        token_source: str = "oapi",
        throttle_backoff: float = 1.0,
        throttle_retries: int = 6,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if token_source not in self.TOKEN_SOURCES:
            raise ValueError(f"token_source must be one of {self.TOKEN_SOURCES}")
        self.http = http
        self.app = app
        self.oapi_base = oapi_base.rstrip("/")
        self.cache_key = f"{app.app_key}@{self.oapi_base}"
        self.api_base = api_base.rstrip("/")
        self.login_base = login_base.rstrip("/")
        if rate_limiter is None:
            shared = sleep is time.sleep
            rate_limiter = shared_limiter(qps) if shared else RateLimiter(qps, sleep=sleep)
        self.limiter = rate_limiter
        self.tokens = token_cache if token_cache is not None else SHARED_TOKENS
        self.tickets = SHARED_TICKETS
        self.refresh_margin = refresh_margin
        self.token_source = token_source
        self.throttle_backoff = throttle_backoff
        self.throttle_retries = throttle_retries
        self.clock = clock
        self.sleep = sleep
        self.throttled = 0
        _install_log_redaction()

    @classmethod
    def from_config(
        cls, http: httpx.Client, app: DingTalkApp, config: Mapping[str, Any], **kwargs: Any
    ) -> DingTalkClient:
        """Build a client with the DINGTALK_*_BASE URLs of an idaas config."""
        return cls(
            http,
            app,
            oapi_base=config.get("DINGTALK_OAPI_BASE", OAPI_BASE),
            api_base=config.get("DINGTALK_API_BASE", API_BASE),
            login_base=config.get("DINGTALK_LOGIN_BASE", LOGIN_BASE),
            **kwargs,
        )

    # ------------------------------------------------------------------ transport

    def _decode(self, response: httpx.Response, api: str) -> Any:
        request_id = response.headers.get("x-acs-request-id")
        try:
            body = response.json()
        except ValueError:
            text = response.text[:200]
            if "<html" in response.text.lower():
                raise IpBanned(
                    "DingTalk banned this server's egress IP for about 5 minutes (more than "
                    "10,000 calls in 20 s); wait, then lower the call rate",
                    status=response.status_code,
                    api=api,
                    wait=300,
                ) from None
            raise DingTalkError(
                f"unexpected non-JSON answer (HTTP {response.status_code}): {text!r}",
                status=response.status_code,
                request_id=request_id,
                api=api,
            ) from None
        if isinstance(body, dict) and body.get("status") == 1111 and "errcode" not in body:
            raise IpBanned(
                f"DingTalk banned this server's egress IP (punish={body.get('punish')}); wait "
                f"{body.get('wait', 5)} minutes, then lower the call rate",
                status=response.status_code,
                api=api,
                wait=float(body.get("wait", 5)) * 60,
            )
        return body

    def _oapi_response(self, response: httpx.Response, api: str) -> dict[str, Any]:
        body = self._decode(response, api)
        if not isinstance(body, dict) or "errcode" not in body:
            if response.status_code >= 500:
                raise ServerBusy(f"DingTalk answered HTTP {response.status_code}", api=api)
            raise DingTalkError(f"unexpected answer without errcode: {body!r:.200}", api=api)
        if str(body["errcode"]) != "0":
            raise errors.from_oapi(body, api, response.status_code)
        return body

    def _api_response(self, response: httpx.Response, api: str) -> dict[str, Any]:
        body = self._decode(response, api)
        if response.status_code >= 400:
            if not isinstance(body, dict):
                body = {}
            raise errors.from_api(
                body, api, response.status_code, response.headers.get("x-acs-request-id")
            )
        if not isinstance(body, dict):
            raise DingTalkError(f"unexpected answer: {body!r:.200}", api=api)
        return body

    def _call(self, api: str, send: Callable[[str | None], dict[str, Any]], auth: bool) -> Any:
        """Rate-limit, authenticate, retry once on a refused token, back off on throttles."""
        delays = backoff_delays(self.throttle_backoff, tries=self.throttle_retries)
        token_retried = False
        busy = 0
        idempotent = not any(word in api for word in _WRITES)
        while True:
            self.limiter.acquire(self.app.app_key, api)
            token = self.access_token() if auth else None
            try:
                return send(token)
            except TokenInvalid:
                if not auth or token_retried:
                    raise
                log.info(
                    "DingTalk refused the cached token of app %s; refreshing", self.app.app_key
                )
                self.tokens.drop(self.cache_key, token)
                token_retried = True
            except ServerBusy:
                busy += 1
                if not idempotent or busy > BUSY_RETRIES:
                    raise
                log.info("DingTalk is busy on %s; retry %d of %d", api, busy, BUSY_RETRIES)
                self.sleep(self.throttle_backoff * busy)
            except RateLimited:
                delay = next(delays, None)
                if delay is None:
                    raise
                self.throttled += 1
                log.info("DingTalk throttled %s; retrying in %.1f s", api, delay)
                self.sleep(delay)

    def oapi(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> dict[str, Any]:
        """Call an oapi endpoint (`?access_token=`, errcode envelope) and return its body (§0)."""
        api = path.lstrip("/")

        def send(token: str | None) -> dict[str, Any]:
            query = dict(params or {})
            if token:
                query["access_token"] = token
            response = self.http.request(method, f"{self.oapi_base}/{api}", params=query, json=json)
            return self._oapi_response(response, api)

        return dict(self._call(api, send, auth))

    def api(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        token: str | None = None,
        auth: bool = True,
    ) -> dict[str, Any]:
        """Call an api-host endpoint (header token, HTTP status errors) and return its body (§0)."""
        api = path.lstrip("/")

        def send(app_token: str | None) -> dict[str, Any]:
            headers = {"Content-Type": "application/json"}
            chosen = token or app_token
            if chosen:
                headers["x-acs-dingtalk-access-token"] = chosen
            response = self.http.request(
                method, f"{self.api_base}/{api}", json=json, headers=headers
            )
            return self._api_response(response, api)

        return dict(self._call(api, send, auth and token is None))

    # ------------------------------------------------------------------ tokens (§1)

    def access_token(self) -> str:
        """The app's access token: cached, refreshed ahead of expiry (§1.4)."""
        key = self.cache_key
        cached = self.tokens.get(key, self.clock())
        if cached:
            return cached
        with self.tokens.lock(key):
            cached = self.tokens.get(key, self.clock())
            if cached:
                return cached
            token, expires_in = self.fetch_token()
            margin = min(self.refresh_margin, expires_in / 2)
            self.tokens.put(key, token, self.clock() + expires_in - margin)
            return token

    def fetch_token(self) -> tuple[str, float]:
        """Fetch a fresh token from the configured endpoint (§1.1, §1.2 or §1.3)."""
        try:
            if self.token_source == "oapi":
                body = self.oapi(
                    "GET",
                    "gettoken",
                    params={"appkey": self.app.app_key, "appsecret": self.app.app_secret},
                    auth=False,
                )
                return str(body["access_token"]), float(body.get("expires_in", 7200))
            if self.token_source == "api":
                body = self.api(
                    "POST",
                    "v1.0/oauth2/accessToken",
                    json={"appKey": self.app.app_key, "appSecret": self.app.app_secret},
                    auth=False,
                )
                return str(body["accessToken"]), float(body.get("expireIn", 7200))
            if not self.app.corp_id:
                raise ValueError("the unified token endpoint needs the app's corp_id")
            body = self.api(
                "POST",
                f"v1.0/oauth2/{self.app.corp_id}/token",
                json={
                    "client_id": self.app.app_key,
                    "client_secret": self.app.app_secret,
                    "grant_type": "client_credentials",
                },
                auth=False,
            )
            return str(body["access_token"]), float(body.get("expires_in", 7200))
        except TokenInvalid as error:
            raise InvalidCredentials(
                f"check the AppKey and AppSecret of this DingTalk app: {error.detail}",
                errcode=error.errcode,
                code=error.code,
                request_id=error.request_id,
                api=error.api,
                detail=error.detail,
            ) from None

    # ------------------------------------------------------------------ web/QR login (§2)

    def sns_login_url(self, redirect_uri: str, state: str, qr: bool = True) -> str:
        """The legacy QR (`connect/qrconnect`) or account (`sns_authorize`) login URL (§2.1)."""
        path = "connect/qrconnect" if qr else "connect/oauth2/sns_authorize"
        query = urlencode(
            {
                "appid": self.app.app_key,
                "response_type": "code",
                "scope": "snsapi_login",
                "state": state,
                "redirect_uri": redirect_uri,
            },
            quote_via=quote,
        )
        return f"{self.oapi_base}/{path}?{query}"

    def oauth2_login_url(
        self,
        redirect_uri: str,
        state: str,
        scope: str = "openid",
        corp_id: str | None = None,
        org_type: str | None = None,
    ) -> str:
        """The new `login.dingtalk.com/oauth2/auth` URL (§2.2)."""
        params = {
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "client_id": self.app.app_key,
            "scope": scope,
            "state": state,
            "prompt": "consent",
        }
        if corp_id:
            params["corpId"] = corp_id
        if org_type:
            params["org_type"] = org_type
        return f"{self.login_base}/oauth2/auth?{urlencode(params, quote_via=quote)}"

    def sns_user_info(self, code: str) -> dict[str, Any]:
        """Exchange a legacy QR code for `user_info` {nick, unionid, openid, …} (§2.1 step 3)."""
        timestamp = str(int(self.clock() * 1000))
        body = self.oapi(
            "POST",
            "sns/getuserinfo_bycode",
            params={
                "accessKey": self.app.app_key,
                "timestamp": timestamp,
                "signature": sns_signature(self.app.app_secret, timestamp),
            },
            json={"tmp_auth_code": code},
            auth=False,
        )
        return dict(body["user_info"])

    def user_access_token(self, code: str) -> dict[str, Any]:
        """Exchange a new-OAuth code: {accessToken, refreshToken, expireIn, corpId} (§2.2)."""
        return self.api(
            "POST",
            "v1.0/oauth2/userAccessToken",
            json={
                "clientId": self.app.app_key,
                "clientSecret": self.app.app_secret,
                "code": code,
                "grantType": "authorization_code",
            },
            auth=False,
        )

    def refresh_user_access_token(self, refresh_token: str) -> dict[str, Any]:
        """Refresh a user token with the 30-day refresh token (§2.2)."""
        return self.api(
            "POST",
            "v1.0/oauth2/userAccessToken",
            json={
                "clientId": self.app.app_key,
                "clientSecret": self.app.app_secret,
                "refreshToken": refresh_token,
                "grantType": "refresh_token",
            },
            auth=False,
        )

    def user_profile(self, user_access_token: str, union_id: str = "me") -> dict[str, Any]:
        """GET contact/users/me with the user's token: {nick, unionId, openId, mobile, …} (§2.2)."""
        return self.api(
            "GET", f"v1.0/contact/users/{quote(union_id, safe='')}", token=user_access_token
        )

    # ------------------------------------------------------------------ free login (§3)

    def micro_app_user_info(self, code: str) -> dict[str, Any]:
        """Resolve a micro-app free-login code: {userid, unionid, name, sys_level, …} (§3.2)."""
        return dict(self.oapi("POST", "topapi/v2/user/getuserinfo", json={"code": code})["result"])

    def legacy_user_info(self, code: str) -> dict[str, Any]:
        """The archived GET user/getuserinfo free-login exchange (flat fields) (§3.2)."""
        body = self.oapi("GET", "user/getuserinfo", params={"code": code})
        return {k: v for k, v in body.items() if k not in {"errcode", "errmsg", "request_id"}}

    def jsapi_ticket(self, new_api: bool = False) -> str:
        """The app's JSAPI ticket, cached for its lifetime (§3.3)."""
        key = self.cache_key
        cached = self.tickets.get(key, self.clock())
        if cached:
            return cached
        if new_api:
            body = self.api("POST", "v1.0/oauth2/jsapiTickets")
            ticket, expires = str(body["jsapiTicket"]), float(body.get("expireIn", 7200))
        else:
            body = self.oapi("GET", "get_jsapi_ticket")
            ticket, expires = str(body["ticket"]), float(body.get("expires_in", 7200))
        self.tickets.put(
            key, ticket, self.clock() + expires - min(self.refresh_margin, expires / 2)
        )
        return ticket

    def jsapi_config(
        self,
        url: str,
        js_api_list: Iterable[str] = ("runtime.info",),
        algorithm: str = "sha256",
        nonce: str | None = None,
        timestamp: str | None = None,
        new_api: bool = False,
    ) -> dict[str, Any]:
        """The `dd.config` argument for a page URL (SHA-256 by default, SHA-1 optional) (§3.3)."""
        ts = timestamp or str(int(self.clock() * 1000))
        nc = nonce or random_nonce(16)
        signature = jsapi_signature(
            self.jsapi_ticket(new_api), nc, ts, jsapi_sign_url(url), algorithm
        )
        return {
            "agentId": self.app.agent_id,
            "corpId": self.app.corp_id,
            "timeStamp": ts,
            "nonceStr": nc,
            "signature": signature,
            "type": 0,
            "jsApiList": list(js_api_list),
        }

    # ------------------------------------------------------------------ contacts read (§4)

    def list_sub_departments(self, dept_id: int = 1, language: str = "zh_CN") -> list[Any]:
        """Direct child departments with details (§4.1)."""
        body = self.oapi(
            "POST", "topapi/v2/department/listsub", json={"dept_id": dept_id, "language": language}
        )
        return list(body.get("result") or [])

    def get_department(self, dept_id: int, language: str = "zh_CN") -> dict[str, Any]:
        """One department's details (§4.2)."""
        body = self.oapi(
            "POST", "topapi/v2/department/get", json={"dept_id": dept_id, "language": language}
        )
        return dict(body["result"])

    def list_sub_department_ids(self, dept_id: int = 1) -> list[int]:
        """Ids of the direct child departments (§4.3)."""
        body = self.oapi("POST", "topapi/v2/department/listsubid", json={"dept_id": dept_id})
        return [int(d) for d in body["result"]["dept_id_list"]]

    def iter_departments(self, root: int = 1) -> Iterator[dict[str, Any]]:
        """Every department below `root`, breadth first, one listsub call per department (§4.1)."""
        queue = [root]
        while queue:
            parent = queue.pop(0)
            for child in self.list_sub_departments(parent):
                yield child
                queue.append(int(child["dept_id"]))

    def list_user_ids(self, dept_id: int) -> list[str]:
        """Userids directly in a department (§4.4)."""
        body = self.oapi("POST", "topapi/user/listid", json={"dept_id": dept_id})
        return list(body["result"]["userid_list"])

    def list_users_page(
        self,
        dept_id: int,
        cursor: int = 0,
        size: int = MAX_PAGE_SIZE,
        order_field: str | None = None,
        contain_access_limit: bool | None = None,
        language: str = "zh_CN",
    ) -> dict[str, Any]:
        """One page of a department's users: {has_more, next_cursor, list} (§4.5)."""
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError("size must be 1..100 (§4.5)")
        payload: dict[str, Any] = {
            "dept_id": dept_id,
            "cursor": cursor,
            "size": size,
            "language": language,
        }
        if order_field:
            payload["order_field"] = order_field
        if contain_access_limit is not None:
            payload["contain_access_limit"] = contain_access_limit
        return dict(self.oapi("POST", "topapi/v2/user/list", json=payload)["result"])

    def iter_users(self, dept_id: int, size: int = MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every user directly in a department, following `next_cursor` (§4.5)."""
        cursor = 0
        while True:
            page = self.list_users_page(dept_id, cursor, size)
            yield from page.get("list") or []
            if not flag(page.get("has_more")):
                return
            cursor = int(page["next_cursor"])

    def iter_all_users(self, root: int = 1, size: int = MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every user in the tree below `root` once (users in several departments appear once)."""
        seen: set[str] = set()
        departments = [root] + [int(d["dept_id"]) for d in self.iter_departments(root)]
        for dept_id in departments:
            for user in self.iter_users(dept_id, size):
                if user["userid"] not in seen:
                    seen.add(user["userid"])
                    yield user

    def get_user(self, userid: str, language: str = "zh_CN") -> dict[str, Any]:
        """One user's details (§4.6)."""
        body = self.oapi(
            "POST", "topapi/v2/user/get", json={"userid": userid, "language": language}
        )
        return dict(body["result"])

    def userid_by_unionid(self, unionid: str) -> dict[str, Any]:
        """{contact_type, userid} for a unionid; NotFound (60121) outside the corp (§4.7)."""
        body = self.oapi("POST", "topapi/user/getbyunionid", json={"unionid": unionid})
        return dict(body["result"])

    def userid_by_mobile(self, mobile: str) -> str:
        """The userid of an active employee with this mobile (§4.8)."""
        body = self.oapi("POST", "topapi/v2/user/getbymobile", json={"mobile": mobile})
        return str(body["result"]["userid"])

    def count_users(self, only_active: bool = False) -> int:
        """The number of employees (§4.9)."""
        body = self.oapi("POST", "topapi/user/count", json={"only_active": only_active})
        return int(body["result"]["count"])

    # ------------------------------------------------------------------ contacts write (§5)

    def create_department(self, name: str, parent_id: int = 1, **fields: Any) -> int:
        """Create a department; return its dept_id (§5.1)."""
        body = self.oapi(
            "POST",
            "topapi/v2/department/create",
            json={"name": name, "parent_id": parent_id, **fields},
        )
        return int(body["result"]["dept_id"])

    def update_department(self, dept_id: int, **fields: Any) -> None:
        """Update the given fields of a department (§5.2)."""
        if isinstance(fields.get("dept_manager_userid_list"), list | tuple):
            fields["dept_manager_userid_list"] = _comma(fields["dept_manager_userid_list"])
        self.oapi("POST", "topapi/v2/department/update", json={"dept_id": dept_id, **fields})

    def delete_department(self, dept_id: int) -> None:
        """Delete an empty, non-root department (§5.3)."""
        self.oapi("POST", "topapi/v2/department/delete", json={"dept_id": dept_id})

    def create_user(
        self, name: str, mobile: str, dept_id_list: Iterable[int] | str, **fields: Any
    ) -> dict[str, Any]:
        """Create a user; return {userid, unionId} (note the camelCase unionId) (§5.4)."""
        payload = {"name": name, "mobile": mobile, "dept_id_list": _comma(dept_id_list), **fields}
        return dict(self.oapi("POST", "topapi/v2/user/create", json=payload)["result"])

    def update_user(self, userid: str, **fields: Any) -> None:
        """Update the given fields of a user (§5.5)."""
        if "dept_id_list" in fields:
            fields["dept_id_list"] = _comma(fields["dept_id_list"])
        self.oapi("POST", "topapi/v2/user/update", json={"userid": userid, **fields})

    def delete_user(self, userid: str) -> None:
        """Delete a user (§5.6)."""
        self.oapi("POST", "topapi/v2/user/delete", json={"userid": userid})

    # ------------------------------------------------------------------ callbacks (§6.1 B)

    def register_callback(self, url: str, token: str, aes_key: str, tags: Iterable[str]) -> None:
        """Register the corp-level callback; DingTalk sends check_url before answering (§6.1 B)."""
        self.oapi(
            "POST",
            "call_back/register_call_back",
            json={"call_back_tag": list(tags), "token": token, "aes_key": aes_key, "url": url},
        )

    def update_callback(self, url: str, token: str, aes_key: str, tags: Iterable[str]) -> None:
        """Replace the corp-level callback registration (§6.1 B)."""
        self.oapi(
            "POST",
            "call_back/update_call_back",
            json={"call_back_tag": list(tags), "token": token, "aes_key": aes_key, "url": url},
        )

    def get_callback(self) -> dict[str, Any]:
        """The corp-level callback registration {call_back_tag, token, aes_key, url} (§6.1 B)."""
        body = self.oapi("GET", "call_back/get_call_back")
        return {k: v for k, v in body.items() if k not in {"errcode", "errmsg", "request_id"}}

    def delete_callback(self) -> None:
        """Remove the corp-level callback registration (§6.1 B)."""
        self.oapi("GET", "call_back/delete_call_back")

    def failed_callbacks(self) -> dict[str, Any]:
        """Events DingTalk failed to push: {has_more, failed_list} (§6.1 B)."""
        body = self.oapi("GET", "call_back/get_call_back_failed_result")
        return {"has_more": flag(body.get("has_more")), "failed_list": body.get("failed_list", [])}

    # ------------------------------------------------------------------ Stream mode (§6.6)

    def open_stream_connection(
        self,
        subscriptions: Iterable[Mapping[str, str]] = ({"type": "EVENT", "topic": "*"},),
        *,
        ua: str = "idaas-stream/0.1",
        local_ip: str = "",
    ) -> dict[str, str]:
        """`connections/open`: a single-use {endpoint, ticket} for one Stream socket (§6.6).

        Needs no access token: the body carries the AppKey/AppSecret. The Stream socket itself is
        `idaas.dingtalk.stream.StreamConsumer`'s job.
        """
        body: dict[str, Any] = {
            "clientId": self.app.app_key,
            "clientSecret": self.app.app_secret,
            "subscriptions": [dict(s) for s in subscriptions],
            "ua": ua,
        }
        if local_ip:
            body["localIp"] = local_ip
        # Bad credentials raise InvalidCredentials (400 invalidClientIdOrSecret, §8.2).
        answer = self.api("POST", "v1.0/gateway/connections/open", json=body, auth=False)
        endpoint, ticket = answer.get("endpoint"), answer.get("ticket")
        if not isinstance(endpoint, str) or not isinstance(ticket, str) or not ticket:
            raise DingTalkError(
                f"connections/open answered without endpoint and ticket: {answer!r:.200}",
                api="v1.0/gateway/connections/open",
            )
        return {"endpoint": endpoint, "ticket": ticket}

    # ------------------------------------------------------------------ work notifications (§7)

    def send_work_notification(
        self,
        msg: Mapping[str, Any],
        userid_list: Iterable[str] = (),
        dept_id_list: Iterable[int] = (),
        to_all_user: bool = False,
        agent_id: int | None = None,
    ) -> list[int]:
        """Send a work notification in batches (<=100 users, 20 depts); return task ids (§7)."""
        agent = agent_id or self.app.agent_id
        if agent is None:
            raise ValueError("a work notification needs the app's agent_id")
        users, depts = list(userid_list), list(dept_id_list)
        if not to_all_user and not users and not depts:
            raise ValueError("give userid_list, dept_id_list or to_all_user (§7)")
        batches: list[dict[str, Any]] = []
        if to_all_user:
            batches.append({"to_all_user": True})
        for i in range(0, len(users), NOTIFY_MAX_USERS):
            batches.append({"userid_list": _comma(users[i : i + NOTIFY_MAX_USERS])})
        for i in range(0, len(depts), NOTIFY_MAX_DEPTS):
            batches.append({"dept_id_list": _comma(depts[i : i + NOTIFY_MAX_DEPTS])})
        task_ids = []
        for batch in batches:
            payload = {"agent_id": agent, "to_all_user": False, "msg": dict(msg), **batch}
            body = self.oapi("POST", "topapi/message/corpconversation/asyncsend_v2", json=payload)
            task_ids.append(int(body["task_id"]))
        return task_ids

    def get_send_result(self, task_id: int, agent_id: int | None = None) -> dict[str, Any]:
        """The per-recipient result of a send (kept 24 h) (§7)."""
        body = self.oapi(
            "POST",
            "topapi/message/corpconversation/getsendresult",
            json={"agent_id": agent_id or self.app.agent_id, "task_id": task_id},
        )
        return dict(body["send_result"])
