"""The only code in idaas that speaks DingTalk HTTP: one client per app, split by API family.

`transport` carries the envelopes, errors, retries, token cache, flow control and log redaction;
`login`, `contacts`, `callbacks`, `stream` and `notifications` are the API families.
`DingTalkClient` is all of them together (what callers use).
"""

from __future__ import annotations

from idaas.dingtalk.client.callbacks import CallbacksApi
from idaas.dingtalk.client.contacts import MAX_PAGE_SIZE, ContactsApi
from idaas.dingtalk.client.login import LoginApi, jsapi_sign_url, jsapi_signature, sns_signature
from idaas.dingtalk.client.notifications import NotificationsApi
from idaas.dingtalk.client.stream import StreamApi
from idaas.dingtalk.client.transport import (
    API_BASE,
    LOGIN_BASE,
    OAPI_BASE,
    SHARED_TICKETS,
    SHARED_TOKENS,
    DingTalkApp,
    DingTalkTransport,
    ExpiringCache,
    flag,
    redact,
    shared_limiter,
)


class DingTalkClient(LoginApi, ContactsApi, CallbacksApi, StreamApi, NotificationsApi):
    """DingTalk open-platform client for one app: every API family over one transport."""


__all__ = [
    "API_BASE",
    "LOGIN_BASE",
    "MAX_PAGE_SIZE",
    "OAPI_BASE",
    "SHARED_TICKETS",
    "SHARED_TOKENS",
    "DingTalkApp",
    "DingTalkClient",
    "DingTalkTransport",
    "ExpiringCache",
    "flag",
    "jsapi_sign_url",
    "jsapi_signature",
    "redact",
    "shared_limiter",
    "sns_signature",
]
