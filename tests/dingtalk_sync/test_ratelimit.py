"""Two workers (separate limiter instances sharing only Redis or the database) stay within QPS."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from idaas.dingtalk import connections
from idaas.dingtalk.client import DingTalkClient
from idaas.dingtalk.sync.ratelimit import SharedRateLimiter

QPS = 8
CALLS = 16


@pytest.mark.parametrize("store", ["database", "redis"])
def test_two_workers_never_exceed_the_apps_qps_together(
    sandbox: Any, conn: Any, sync_app: Any, store: str, request: Any
) -> None:
    redis_url = request.getfixturevalue("redis_url") if store == "redis" else None
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    sandbox.post("/faults", {"throttle": {"qps": QPS}})
    sandbox.control.delete("/calls")
    app = connections.app_of(conn)
    errors: list[BaseException] = []

    stamps: list[float] = []

    class Recording(SharedRateLimiter):
        def acquire(self, app_key: str, api: str) -> float:
            waited = super().acquire(app_key, api)
            if api == "topapi/v2/department/listsub":
                stamps.append(self.granted_at)
            return waited

    def worker() -> None:
        limiter = Recording(sync_app, QPS, redis_url)
        try:
            with httpx.Client(timeout=10, trust_env=False) as http:
                client = DingTalkClient(
                    http,
                    app,
                    oapi_base=sandbox.url,
                    api_base=sandbox.url,
                    rate_limiter=limiter,
                )
                for _ in range(CALLS):
                    client.list_sub_departments(1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - started
    assert not errors, errors
    log = sandbox.get("/calls")
    refused = log["errors"].get("topapi/v2/department/listsub", {}).get("90018", 0)
    assert log["counts"]["topapi/v2/department/listsub"] == 2 * CALLS + refused
    # The limiter's window is exact on our side (asserted below); DingTalk counts arrivals,
    # and on a loaded machine a request can sit in a socket longer than the 0.05 s margin.
    assert refused <= 2
    assert elapsed >= (2 * CALLS / QPS) - 1.0
    stamps.sort()
    # Every QPS+1 consecutive calls span more than a second.
    assert all(b - a > 1.0 for a, b in zip(stamps, stamps[QPS:], strict=False))
