"""The replay store for `X-Ca-Nonce`, which also holds the cache generation: Redis or the database.

A nonce is remembered per AppKey until its request's timestamp leaves the accepted window, so
a replay is refused by every process and host for as long as it could otherwise be accepted.
Both stores consume a nonce with one atomic statement (a Redis script around `SET NX`, SQL
`INSERT ... ON CONFLICT DO UPDATE ... WHERE expired RETURNING`) and read the outcome from its
result. The same round trip returns the cache generation (`industry.generation`), so a warm
permission check costs one request to the store and nothing else.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import redis
from flask import Flask
from sqlalchemy import delete, text

from idaas.extensions import db
from idaas.industry.models import UsedNonce

log = logging.getLogger(__name__)
GENERATION_SQL = "SELECT value FROM industry_generation WHERE id = 1"
# One statement: take the nonce (or an expired row of it) and read the generation as committed.
CONSUME_SQL = text(
    "INSERT INTO industry_nonce (client_id, nonce, expires_at) VALUES (:client, :nonce, :expires)"
    " ON CONFLICT (client_id, nonce) DO UPDATE SET expires_at = excluded.expires_at"
    " WHERE industry_nonce.expires_at <= :now"
    f" RETURNING coalesce(({GENERATION_SQL}), 0)"
)
# KEYS: nonce, generation. ARGV: nonce TTL in ms, a seed for a missing generation.
CONSUME_SCRIPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('SET', KEYS[2], ARGV[2], 'NX')
  return redis.call('GET', KEYS[2])
end
return false
"""
# KEYS: generation. ARGV: the seed. A flushed Redis restarts from the clock, never below.
BUMP_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('INCR', KEYS[1])
"""


class NonceStore(Protocol):
    """Remembers nonces until they expire, and holds the cache generation."""

    def consume_reading_generation(
        self, client_id: str, nonce: str, expires_at_ms: int, now_ms: int
    ) -> int | None:
        """Record the nonce and return the generation; None when it is a live replay."""

    def generation(self) -> int:
        """The current cache generation."""

    def publish(self) -> None:
        """Called after a commit that moved the generation in the database."""


def consume(store: NonceStore, client_id: str, nonce: str, expires_at_ms: int, now_ms: int) -> bool:
    """Record the nonce; False when it is already recorded and not yet expired."""
    return store.consume_reading_generation(client_id, nonce, expires_at_ms, now_ms) is not None


class DatabaseNonces:
    """Nonces in `industry_nonce`, one committed row per nonce (own connection, own commit);
    the generation is the `industry_generation` row, bumped inside the changing transaction."""

    def consume_reading_generation(
        self, client_id: str, nonce: str, expires_at_ms: int, now_ms: int
    ) -> int | None:
        """Insert, or take over an expired row; a live row means a replay (no row returned)."""
        values = {"client": client_id, "nonce": nonce, "expires": expires_at_ms, "now": now_ms}
        with db.engine.begin() as connection:
            row = connection.execute(CONSUME_SQL, values).first()
        return None if row is None else int(row[0])

    def generation(self) -> int:
        """The committed generation (one primary-key read on the session's connection)."""
        value = db.session.connection().exec_driver_sql(GENERATION_SQL).scalar()
        return int(value or 0)

    def publish(self) -> None:
        """Nothing to do: the counter row committed with the change."""


def purge(now_ms: int) -> int:
    """Delete expired nonces (the housekeeping job, `idaas industry purge-nonces`); how many."""
    with db.engine.begin() as connection:
        return int(
            connection.execute(delete(UsedNonce).where(UsedNonce.expires_at <= now_ms)).rowcount
        )


def _seed() -> str:
    """A generation to start from when Redis has none: the clock in ms, so never a step back."""
    return str(int(time.time() * 1000))


class RedisNonces:
    """Nonces as Redis keys that expire with the timestamp window; the generation as a counter
    incremented after each relevant commit (the database counter stays the transactional one)."""

    def __init__(self, client: redis.Redis[bytes], prefix: str = "idaas:industry:") -> None:
        self.client = client
        self.prefix = prefix
        self.generation_key = f"{prefix}generation"
        self._consume: Any = client.register_script(CONSUME_SCRIPT)
        self._bump: Any = client.register_script(BUMP_SCRIPT)

    def consume_reading_generation(
        self, client_id: str, nonce: str, expires_at_ms: int, now_ms: int
    ) -> int | None:
        """`SET nonce NX PX ttl` and, when it was set, the generation: one script, one trip."""
        ttl = max(1, expires_at_ms - now_ms)
        keys = [f"{self.prefix}nonce:{client_id}:{nonce}", self.generation_key]
        value = self._consume(keys=keys, args=[ttl, _seed()])
        return None if value is None else int(value)

    def generation(self) -> int:
        """The current generation (created from the clock when missing)."""
        self.client.set(self.generation_key, _seed(), nx=True)
        return int(self.client.get(self.generation_key) or 0)

    def publish(self) -> None:
        """Increment the generation; a failure is logged and healed by the caches' maximum age."""
        try:
            self._bump(keys=[self.generation_key], args=[_seed()])
        except redis.RedisError:
            log.exception("could not publish the industry cache generation to Redis")


def store_for(app: Flask) -> NonceStore:
    """The store this app uses: Redis when `REDIS_URL` is set, else the database."""
    url = app.config["REDIS_URL"]
    if url:
        return RedisNonces(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))
    return DatabaseNonces()
