"""The DingTalk client sync uses: the shared cross-process rate limiter, and a call counter."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from flask import current_app

from idaas.dingtalk import connections
from idaas.dingtalk.client import DingTalkClient
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.sync.ratelimit import SharedRateLimiter


class CallBudgetExceeded(Exception):
    """A run used up its DingTalk call budget; nothing from it was applied."""


def limiter() -> SharedRateLimiter:
    """This app's shared limiter (20 QPS per app per API unless configured otherwise)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found: SharedRateLimiter | None = app.extensions.get("dingtalk_sync_limiter")
    if found is None:
        qps = float(app.config["DINGTALK_SYNC_QPS"] or 0) or None
        found = app.extensions["dingtalk_sync_limiter"] = SharedRateLimiter(
            app, qps, app.config.get("REDIS_URL")
        )
    return found


def http_client(calls: Counter[str] | None = None, budget: int | None = None) -> httpx.Client:
    """An HTTP client that counts DingTalk calls per API path (and stops at `budget`)."""

    def count(request: httpx.Request) -> None:
        if calls is None:
            return
        path = request.url.path.lstrip("/")
        if path == "gettoken":
            return
        calls[path] += 1
        if budget is not None and sum(calls.values()) > budget:
            raise CallBudgetExceeded(f"call budget of {budget} used up at {path}")

    return httpx.Client(
        timeout=connections.HTTP_TIMEOUT, trust_env=False, event_hooks={"request": [count]}
    )


def for_sync(conn: DingTalkConnection, http: httpx.Client, **kwargs: Any) -> DingTalkClient:
    """A client of the connection's app that shares the rate window with every process."""
    return DingTalkClient.from_config(
        http, connections.app_of(conn), current_app.config, rate_limiter=limiter(), **kwargs
    )
