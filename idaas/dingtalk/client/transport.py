"""The DingTalk transport: HTTP envelopes, typed errors, retry, token cache, flow control.

`DingTalkTransport` takes an injected `httpx.Client`, one app's credentials and the three base
URLs (oapi, api, login). It caches the app's token, refreshes it ahead of expiry, drops it and
retries once when DingTalk refuses it, keeps every API under a QPS budget, backs off on throttles
without losing the call, and turns every error into a typed `DingTalkError`. Secrets never reach
the logs (`redact`). The API families (`login`, `contacts`, ...) build on it.

DingTalk docs (under https://open.dingtalk.com/document/development/):
  obtain-orgapp-token, obtain-the-access-token-of-an-internal-app, server-api-error-codes-1,
  how-to-process-api-throttling-on-the-dingtalk-server.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from idaas.dingtalk import errors
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


def flag(value: Any) -> bool:
    """A DingTalk boolean that may arrive as `true` or as the string "true"."""
    return value is True or str(value).lower() == "true"


def _comma(values: Iterable[Any] | str) -> str:
    if isinstance(values, str):
        return values
    return ",".join(str(v) for v in values)


class DingTalkTransport:
    """One app's authenticated, throttled, retrying access to DingTalk's two API hosts."""

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
    ) -> Self:
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
        """Call an oapi endpoint (`?access_token=`, errcode envelope) and return its body."""
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
        """Call an api-host endpoint (header token, HTTP status errors) and return its body."""
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

    # ------------------------------------------------------------------ tokens

    def access_token(self) -> str:
        """The app's access token: cached, refreshed ahead of expiry."""
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
        """Fetch a fresh token from the configured endpoint."""
        app = self.app
        try:
            if self.token_source == "oapi":
                params = {"appkey": app.app_key, "appsecret": app.app_secret}
                body = self.oapi("GET", "gettoken", params=params, auth=False)
                token_field, lifetime_field = "access_token", "expires_in"
            elif self.token_source == "api":
                credentials = {"appKey": app.app_key, "appSecret": app.app_secret}
                body = self.api("POST", "v1.0/oauth2/accessToken", json=credentials, auth=False)
                token_field, lifetime_field = "accessToken", "expireIn"
            else:
                if not app.corp_id:
                    raise ValueError("the unified token endpoint needs the app's corp_id")
                grant = {
                    "client_id": app.app_key,
                    "client_secret": app.app_secret,
                    "grant_type": "client_credentials",
                }
                body = self.api("POST", f"v1.0/oauth2/{app.corp_id}/token", json=grant, auth=False)
                token_field, lifetime_field = "access_token", "expires_in"
            return str(body[token_field]), float(body.get(lifetime_field, 7200))
        except TokenInvalid as error:
            raise InvalidCredentials(
                f"check the AppKey and AppSecret of this DingTalk app: {error.detail}",
                errcode=error.errcode,
                code=error.code,
                request_id=error.request_id,
                api=error.api,
                detail=error.detail,
            ) from None
