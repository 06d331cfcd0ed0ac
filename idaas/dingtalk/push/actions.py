"""DingTalk's answers to a push, turned into what happens next and what the admin should do.

- transient (throttled, busy, banned, network): retried (`RetryLater` / `TemporaryFailure`);
- the whole connection is blocked (60020 IP whitelist, a missing permission, credentials): retried
  with back-off, the message says what to fix; after the fix the queue drains by itself;
- this object is refused (40066, 60104/60107/60121 mobile taken, bad name or email): dead letter
  at once (`PermanentFailure`) with the reason, kept on the object's push link too.
"""

from __future__ import annotations

import httpx
from flask_babel import gettext

from idaas.dingtalk.errors import (
    DingTalkError,
    InvalidCredentials,
    IpBanned,
    IpNotWhitelisted,
    PermissionDenied,
    RateLimited,
    ServerBusy,
    TokenInvalid,
)
from idaas.dingtalk.sync.advice import action_for
from idaas.events.targets import DeliveryFailed, PermanentFailure, RetryLater, TemporaryFailure

MOBILE_TAKEN = {60104, 60107, 60121}
PARENT_MISSING = {60003, 60004}
OBJECT_ERRORS = {40066, 60001, 60009, 60021, 60103, 60105, 60106, 60112, 40100, 40101, 40035}


def errcode_of(error: DingTalkError) -> int | None:
    """The effective legacy errcode (the `sub_code` of an 88 wrapper)."""
    if error.errcode == 88 and error.code and error.code.lstrip("-").isdigit():
        return int(error.code)
    return error.errcode


def message_for(error: DingTalkError) -> str:
    """One sentence: what went wrong and what to do about it, then DingTalk's own words."""
    code = errcode_of(error)
    detail = error.detail or error.message
    if code in MOBILE_TAKEN:
        action = gettext(
            "This mobile number is already used by someone else in the DingTalk organisation: "
            "correct the number here, or remove the other person in DingTalk."
        )
    elif code == 40066:
        action = gettext(
            "DingTalk refused the department list (invalid or more than it accepts): check "
            "the person's departments."
        )
    elif code in PARENT_MISSING:
        action = gettext(
            "The department is missing in DingTalk: its parent is created first, then it is "
            "retried."
        )
    elif isinstance(error, IpNotWhitelisted):
        return error.message
    elif isinstance(error, PermissionDenied | InvalidCredentials | TokenInvalid):
        return action_for(error)
    else:
        return str(error)
    return f"{action} ({gettext('DingTalk said')}: {detail}; errcode {code})"


def failure_for(error: Exception) -> DeliveryFailed:
    """The delivery failure a DingTalk error or network error becomes."""
    if isinstance(error, httpx.HTTPError):
        return TemporaryFailure(gettext("Could not reach DingTalk: %(e)s", e=type(error).__name__))
    if not isinstance(error, DingTalkError):
        return TemporaryFailure(str(error))
    message = message_for(error)
    status = error.errcode
    if isinstance(error, IpBanned):
        return RetryLater(error.wait or 300, message, status=status)
    if isinstance(error, RateLimited):
        return RetryLater(2, message, status=status)
    if isinstance(error, ServerBusy):
        return TemporaryFailure(message, status=status)
    if errcode_of(error) in MOBILE_TAKEN | OBJECT_ERRORS:
        return PermanentFailure(message, status=status)
    return TemporaryFailure(message, status=status)
