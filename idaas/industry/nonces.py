"""The replay store for `X-Ca-Nonce`: Redis when configured, else a database table.

A nonce is remembered per AppKey until its request's timestamp leaves the accepted window, so
a replay is refused by every process and host for as long as it could otherwise be accepted.
Both stores consume a nonce with one atomic statement (Redis `SET NX`, SQL `INSERT ... ON
CONFLICT DO UPDATE ... WHERE expired RETURNING`) and read the outcome from its result.
"""

from __future__ import annotations

import random
from typing import Protocol

import redis
from flask import Flask
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from idaas.extensions import db
from idaas.industry.models import UsedNonce

PURGE_ONE_IN = 256


class NonceStore(Protocol):
    """Remembers nonces until they expire."""

    def consume(self, client_id: str, nonce: str, expires_at_ms: int, now_ms: int) -> bool:
        """Record the nonce; False when it is already recorded and not yet expired."""


class DatabaseNonces:
    """Nonces in `industry_nonce`, one committed row per nonce (own connection, own commit)."""

    def consume(self, client_id: str, nonce: str, expires_at_ms: int, now_ms: int) -> bool:
        """Insert, or take over an expired row; a live row means a replay (no row returned)."""
        with db.engine.begin() as connection:
            insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            values = insert(UsedNonce).values(
                client_id=client_id, nonce=nonce, expires_at=expires_at_ms
            )
            statement = values.on_conflict_do_update(
                index_elements=[UsedNonce.client_id, UsedNonce.nonce],
                set_={"expires_at": expires_at_ms},
                where=UsedNonce.expires_at <= now_ms,
            ).returning(UsedNonce.nonce)
            fresh = connection.execute(statement).first() is not None
            if random.randrange(PURGE_ONE_IN) == 0:  # noqa: S311 - housekeeping, not security
                purge(now_ms, connection)
        return fresh


def purge(now_ms: int, connection: object | None = None) -> int:
    """Delete expired nonces; return how many."""
    statement = delete(UsedNonce).where(UsedNonce.expires_at <= now_ms)
    if connection is not None:
        return int(connection.execute(statement).rowcount)  # type: ignore[attr-defined]
    with db.engine.begin() as own:
        return int(own.execute(statement).rowcount)


class RedisNonces:
    """Nonces as Redis keys that expire at the same instant as the timestamp window."""

    def __init__(self, client: redis.Redis[bytes], prefix: str = "idaas:industry:nonce:") -> None:
        self.client = client
        self.prefix = prefix

    def consume(self, client_id: str, nonce: str, expires_at_ms: int, now_ms: int) -> bool:
        """`SET key 1 NX PX ttl`: only the first request within the window sets it."""
        ttl = max(1, expires_at_ms - now_ms)
        key = f"{self.prefix}{client_id}:{nonce}"
        return bool(self.client.set(key, b"1", nx=True, px=ttl))


def store_for(app: Flask) -> NonceStore:
    """The store this app uses: Redis when `REDIS_URL` is set, else the database."""
    url = app.config["REDIS_URL"]
    if url:
        return RedisNonces(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))
    return DatabaseNonces()
