"""Typed DingTalk errors, each with an actionable message.

Every error carries the legacy `errcode` (oapi) or the new-API `code` (api host), the HTTP status,
the DingTalk request id and the API path, so an administrator can quote them to DingTalk support.

DingTalk docs (under https://open.dingtalk.com/document/development/):
  server-api-error-codes-1, how-to-process-api-throttling-on-the-dingtalk-server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

TOKEN_ERRCODES = {40001, 40014, 42001, 33001}
TOKEN_CODES = {"InvalidAuthentication"}
THROTTLE_ERRCODES = {90001, 90002, 90005, 90006, 90018}
THROTTLE_CODES = {
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
    "Forbidden.AccessDenied.QpsLimitForApi",
    "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi",
}
_IP_RE = re.compile(r"request ip=\s*([0-9A-Fa-f.:]+)")


@dataclass(eq=False, repr=False)
class DingTalkError(Exception):
    """A DingTalk call failed; `str(error)` is an actionable one-line message."""

    hint = "see https://open.dingtalk.com/document/development/server-api-error-codes-1"

    message: str
    errcode: int | None = field(default=None, kw_only=True)
    code: str | None = field(default=None, kw_only=True)
    status: int | None = field(default=None, kw_only=True)
    request_id: str | None = field(default=None, kw_only=True)
    api: str | None = field(default=None, kw_only=True)
    detail: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        super().__init__(self._render())

    def _render(self) -> str:
        ident = []
        if self.errcode is not None:
            ident.append(f"errcode {self.errcode}")
        if self.code:
            ident.append(f"code {self.code}")
        if self.api:
            ident.append(f"api {self.api}")
        if self.request_id:
            ident.append(f"request id {self.request_id}")
        suffix = f" ({', '.join(ident)})" if ident else ""
        return f"DingTalk: {self.message}{suffix}"


class TokenInvalid(DingTalkError):
    """The access token was refused (40001/40014/42001/33001, InvalidAuthentication)."""


class InvalidCredentials(DingTalkError):
    """The AppKey/AppSecret pair was refused (40089, 40001 on gettoken, invalidClientIdOrSecret)."""


class InvalidCode(DingTalkError):
    """A login code is unknown, expired (5 min) or already used (40078, invalidCode)."""


class NotFound(DingTalkError):
    """The user or department does not exist (60121, 60111, 33012, 60003, user.notFound)."""


class PermissionDenied(DingTalkError):
    """The app lacks a permission point or the object is outside its scope (60011, 50002, 50004)."""


class InvalidParameter(DingTalkError):
    """DingTalk rejected a parameter (40035, 400002, 40066, 60103, ...)."""


class Conflict(DingTalkError):
    """The object already exists (60102, 60104, 60106, 60021, 71006, ...)."""


class RateLimited(DingTalkError):
    """A QPS/flow-control throttle: 90018, 90002, 88-wrapped throttles, QpsLimit*."""


class QuotaExceeded(DingTalkError):
    """The monthly call quota is used up (90020, ApiCountLimitForOrg); waiting will not help."""


@dataclass(eq=False, repr=False, kw_only=True)
class IpNotWhitelisted(DingTalkError):
    """60020 / IpNotInWhiteList: this server's egress IP is not on the app's whitelist."""

    request_ip: str | None = None


@dataclass(eq=False, repr=False, kw_only=True)
class IpBanned(DingTalkError):
    """The egress IP is banned for 5 minutes (HTML page or `{status:1111}`)."""

    wait: float | None = None


class ServerBusy(DingTalkError):
    """DingTalk answered -1 (系统繁忙) or a 5xx; retry later."""


class CallbackRegistrationFailed(DingTalkError):
    """register_call_back failed: the URL did not answer check_url with an encrypted `success`."""


_ERRCODE_CLASSES: dict[int, type[DingTalkError]] = {
    -1: ServerBusy,
    40089: InvalidCredentials,
    40078: InvalidCode,
    41026: InvalidCode,
    60121: NotFound,
    60111: NotFound,
    33012: NotFound,
    60003: NotFound,
    60011: PermissionDenied,
    50002: PermissionDenied,
    50004: PermissionDenied,
    43007: PermissionDenied,
    40035: InvalidParameter,
    400002: InvalidParameter,
    40066: InvalidParameter,
    60103: InvalidParameter,
    60105: InvalidParameter,
    60112: InvalidParameter,
    60001: InvalidParameter,
    60009: InvalidParameter,
    60004: InvalidParameter,
    60007: InvalidParameter,
    60018: InvalidParameter,
    60005: InvalidParameter,
    60006: InvalidParameter,
    60010: InvalidParameter,
    40056: InvalidParameter,
    40008: InvalidParameter,
    60102: Conflict,
    60104: Conflict,
    60106: Conflict,
    60107: Conflict,
    60021: Conflict,
    40100: Conflict,
    40101: Conflict,
    71006: Conflict,
    71012: CallbackRegistrationFailed,
    90020: QuotaExceeded,
}

_CODE_CLASSES: dict[str, type[DingTalkError]] = {
    "invalidClientIdOrSecret": InvalidCredentials,
    "invalid.client": InvalidCredentials,
    "unauthorized.client": PermissionDenied,
    "invalidCode": InvalidCode,
    "invalidParameter.user.notFound": NotFound,
    "Forbidden.AccessDenied.AccessTokenPermissionDenied": PermissionDenied,
    "Forbidden.AccessDenied.ApiCountLimitForOrg": QuotaExceeded,
}

_ADVICE: dict[type[DingTalkError], str] = {
    TokenInvalid: "the access token was refused; it will be fetched again",
    InvalidCredentials: "check the AppKey and AppSecret of this DingTalk app in the connection",
    InvalidCode: "the login code is unknown, expired (5 minutes) or already used; sign in again",
    NotFound: "the user or department does not exist in this DingTalk organisation",
    PermissionDenied: (
        "grant the app the missing permission (开发管理 → 权限管理) or widen its contacts scope"
    ),
    InvalidParameter: "DingTalk rejected a parameter",
    Conflict: "the object already exists in DingTalk",
    RateLimited: "DingTalk throttled the call; it is retried with back-off",
    QuotaExceeded: "the monthly API quota of this organisation is used up; upgrade or wait",
    ServerBusy: "DingTalk is busy; retry later",
    CallbackRegistrationFailed: (
        "the callback URL did not answer check_url with an encrypted success within 1.5 s; "
        "check that it is reachable from DingTalk and uses the same token and aes_key"
    ),
}


def request_ip_of(text: str) -> str | None:
    """The `request ip=…` quoted in a 60020 message, if any."""
    match = _IP_RE.search(text or "")
    return match.group(1) if match else None


def ip_whitelist_error(text: str, **kwargs: Any) -> IpNotWhitelisted:
    """The 60020 error with the request IP named and the fix spelt out."""
    ip = request_ip_of(text)
    where = f"request IP {ip}" if ip else "this server's egress IP"
    message = (
        f"DingTalk refused the call from {where}: add {ip or 'the egress IP'} to the app's "
        "server egress IP whitelist (开发管理 → 服务器出口IP) and retry"
    )
    kwargs.setdefault("detail", text)
    return IpNotWhitelisted(message, request_ip=ip, **kwargs)


def from_oapi(body: dict[str, Any], api: str, status: int | None = None) -> DingTalkError:
    """Map a legacy `{errcode, errmsg, sub_code?}` envelope to its typed error."""
    errcode = int(body.get("errcode", -1))
    errmsg = str(body.get("errmsg") or "")
    request_id = body.get("request_id") or body.get("requestId")
    effective = errcode
    if errcode == 88 and str(body.get("sub_code") or "").lstrip("-").isdigit():
        effective = int(body["sub_code"])
        errmsg = str(body.get("sub_msg") or errmsg)
    common: dict[str, Any] = {
        "errcode": errcode,
        "code": str(body["sub_code"]) if body.get("sub_code") is not None else None,
        "status": status,
        "request_id": request_id,
        "api": api,
        "detail": errmsg,
    }
    if effective == 60020:
        return ip_whitelist_error(errmsg, **common)
    if effective in THROTTLE_ERRCODES:
        return RateLimited(f"{_ADVICE[RateLimited]}: {errmsg}", **common)
    if effective in TOKEN_ERRCODES:
        return TokenInvalid(f"{_ADVICE[TokenInvalid]}: {errmsg}", **common)
    cls = _ERRCODE_CLASSES.get(effective, DingTalkError)
    advice = _ADVICE.get(cls, "unexpected DingTalk error")
    return cls(f"{advice}: {errmsg or 'no message'}", **common)


def from_api(body: dict[str, Any], api: str, status: int, request_id: str | None) -> DingTalkError:
    """Map a new-API `{code, message, requestid}` error with its HTTP status."""
    code = str(body.get("code") or "")
    message = str(body.get("message") or "")
    common: dict[str, Any] = {
        "code": code or None,
        "status": status,
        "request_id": body.get("requestid") or request_id,
        "api": api,
        "detail": message,
    }
    if code == "Forbidden.AccessDenied.IpNotInWhiteList":
        return ip_whitelist_error(message, **common)
    if code in THROTTLE_CODES:
        return RateLimited(f"{_ADVICE[RateLimited]}: {message}", **common)
    if code in TOKEN_CODES:
        return TokenInvalid(f"{_ADVICE[TokenInvalid]}: {message}", **common)
    cls = _CODE_CLASSES.get(code)
    if cls is None:
        cls = ServerBusy if status >= 500 else DingTalkError
    advice = _ADVICE.get(cls, "unexpected DingTalk error")
    return cls(f"{advice}: {message or 'no message'}", **common)
