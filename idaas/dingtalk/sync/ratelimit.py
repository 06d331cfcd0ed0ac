"""DingTalk's 20 calls per second per app per API (§8.3), shared by every process and host.

A sliding one-second window kept in Redis (a sorted set, one Lua script per call) when
REDIS_URL is set, else in the database (one short transaction per call, serialised per window
by an advisory lock on PostgreSQL and by SQLite's single writer). A subclass of
`idaas.dingtalk.ratelimit.RateLimiter`, so the client takes either.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import delete, func, insert, select, text, update

from idaas.dingtalk.ratelimit import RateLimiter
from idaas.dingtalk.sync.models import RateCall

# One second plus a margin for network jitter: calls released exactly a second apart can reach
# DingTalk less than a second apart, and its window is sliding too (§8.3). The margin is also
# the limiter's cost (20 calls per 1.05 s is 5% under 20 QPS): the import must stay within 10%
# of the time DingTalk's limit makes necessary.
WINDOW = 1.05

_SCRIPT = """
local key, now, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.6f', now - tonumber(ARGV[4])))
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, ARGV[1], ARGV[3])
  redis.call('EXPIRE', key, 2)
  return '0'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return string.format('%.6f', tonumber(oldest[2]) + tonumber(ARGV[4]) - now)
"""


class SharedRateLimiter(RateLimiter):
    """`acquire(app_key, api)` blocks until a call fits the window shared by all processes."""

    def __init__(
        self,
        app: Flask,
        qps: float | None = 20,
        redis_url: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(qps, clock, sleep)
        self.app = app
        self.redis: Any = None
        #: when the last call of this instance was let through (the window's clock)
        self.granted_at = 0.0
        if redis_url:
            import redis

            self.redis = redis.Redis.from_url(redis_url)
            self._script = self.redis.register_script(_SCRIPT)

    def _try(self, app_key: str, api: str, limit: int) -> float:
        """0 when the call may go now (`granted_at` says when), else how long to wait."""
        bucket = f"{app_key}:{api}"[:255]
        if self.redis is not None:
            now = self.clock()
            key = f"idaas:dingtalk:qps:{bucket}"
            wait = float(
                self._script(keys=[key], args=[f"{now:.6f}", limit, uuid.uuid4().hex, WINDOW])
            )
            if wait <= 0:
                self.granted_at = now
                return 0.0
            return wait + 0.001
        from idaas.extensions import db

        with self.app.app_context(), db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                digest = hashlib.sha256(bucket.encode()).digest()[:8]
                key_id = int.from_bytes(digest, "big", signed=True)
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key_id})
            # Write first: that takes SQLite's write lock, so count-then-decide is serialised;
            # the time is read once the lock is ours, so granted times are in lock order.
            mine = connection.execute(
                insert(RateCall).values(bucket=bucket, at=0.0).returning(RateCall.id)
            ).scalar_one()
            now = self.clock()
            connection.execute(update(RateCall).where(RateCall.id == mine).values(at=now))
            connection.execute(
                delete(RateCall).where(RateCall.bucket == bucket, RateCall.at <= now - WINDOW)
            )
            times = list(
                connection.execute(
                    select(RateCall.at)
                    .where(RateCall.bucket == bucket, RateCall.id != mine)
                    .order_by(RateCall.at)
                ).scalars()
            )
            if len(times) < limit:
                self.granted_at = now
                return 0.0
            connection.execute(delete(RateCall).where(RateCall.id == mine))
            return max(times[0] + WINDOW - now, 0.001) + 0.001


def calls_in_window(app: Flask) -> int:
    """How many calls the database window holds now (for status)."""
    from idaas.extensions import db

    with app.app_context():
        return int(db.session.scalar(select(func.count(RateCall.id))) or 0)
