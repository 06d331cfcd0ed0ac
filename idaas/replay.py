"""Shared replay stores: a value used once is refused again, in every process and on every host.

Used for the DingTalk callback (timestamp, nonce) pairs (dingtalk-api.md §6.3) and OIDC nonces
(OIDC Core §15.5.2). With `REDIS_URL` set the store is Redis (`SET key NX PX ttl`, one atomic
command); otherwise it is the `replay_entry` table (`INSERT ... ON CONFLICT DO NOTHING` and a
row count, plus a conditional UPDATE to reuse an expired row). Expired rows are pruned by the
`housekeeping.prune` job.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from idaas.events.models import ReplayEntry
from idaas.extensions import db, utcnow

PREFIX = "idaas:replay:"


class ReplayStore(Protocol):
    """Remembers values for a while."""

    def first_use(self, namespace: str, value: str, ttl: float) -> bool:
        """Record `value`; True the first time within `ttl` seconds, False for a replay."""

    def seen(self, namespace: str, value: str) -> bool:
        """Whether `value` was recorded and has not expired."""


def _key(namespace: str, value: str) -> str:
    return hashlib.sha256(f"{namespace}\x00{value}".encode("utf-8", "surrogatepass")).hexdigest()


class RedisReplayStore:
    """Replay store on Redis: one `SET NX PX` per check."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2)

    def first_use(self, namespace: str, value: str, ttl: float) -> bool:
        """Atomically record `value` unless it is there."""
        key = PREFIX + _key(namespace, value)
        return bool(self.client.set(key, b"1", nx=True, px=max(1, int(ttl * 1000))))

    def seen(self, namespace: str, value: str) -> bool:
        """Whether `value` is recorded."""
        return bool(self.client.exists(PREFIX + _key(namespace, value)))


def _insert(dialect: str, values: dict[str, Any]) -> Any:
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        builder(ReplayEntry)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(ReplayEntry.key)
    )


def record(connection: Connection, namespace: str, value: str, ttl: float, now: datetime) -> bool:
    """Record `value` on `connection` (in its transaction); True if it was new or expired."""
    key = _key(namespace, value)
    expires = now + timedelta(seconds=ttl)
    inserted = connection.execute(
        _insert(
            connection.dialect.name,
            {"key": key, "namespace": namespace[:32], "expires_at": expires},
        )
    )
    if inserted.first() is not None:  # RETURNING: rowcount is not reliable on every driver
        return True
    reused = connection.execute(
        update(ReplayEntry)
        .where(ReplayEntry.key == key, ReplayEntry.expires_at <= now)
        .values(expires_at=expires)
    )
    return bool(reused.rowcount)


class DatabaseReplayStore:
    """Replay store on the `replay_entry` table; each check commits on its own connection."""

    def first_use(self, namespace: str, value: str, ttl: float) -> bool:
        """Record `value` unless a live row has it (committed before returning)."""
        with db.engine.begin() as connection:
            return record(connection, namespace, value, ttl, utcnow())

    def seen(self, namespace: str, value: str) -> bool:
        """Whether a live row has `value`."""
        found = db.session.scalar(
            select(ReplayEntry.key).where(
                ReplayEntry.key == _key(namespace, value), ReplayEntry.expires_at > utcnow()
            )
        )
        return found is not None


def store() -> ReplayStore:
    """The current app's replay store: Redis when REDIS_URL is set, else the database."""
    url = current_app.config.get("REDIS_URL")
    cached = current_app.extensions.get("idaas_replay_store")
    if cached is None:
        cached = RedisReplayStore(str(url)) if url else DatabaseReplayStore()
        current_app.extensions["idaas_replay_store"] = cached
    return cached


class CallbackReplayCache:
    """`CallbackVerifier`'s replay cache on the shared store, per DingTalk connection."""

    def __init__(self, ttl: float, scope: str = "default") -> None:
        self.ttl = ttl
        self.namespace = f"dt-callback:{scope}"[:32]
        self.store = store()

    def check_and_add(self, timestamp: str, nonce: str, now: float) -> bool:
        """Remember the pair; False when any process already accepted it within the TTL."""
        return self.store.first_use(self.namespace, f"{timestamp}\x00{nonce}", self.ttl)


# -- OIDC nonces ---------------------------------------------------------------------------

NONCE_NAMESPACE = "oidc-nonce"


def nonce_seen(client_id: str, nonce: str) -> bool:
    """Whether `client_id` already used `nonce` in an authorization code (any process)."""
    return store().seen(NONCE_NAMESPACE, f"{client_id}\x00{nonce}")


def _record_nonce(mapper: Any, connection: Connection, target: Any) -> None:
    """A code was saved with a nonce: remember the nonce in the same transaction (or Redis)."""
    if not target.nonce:
        return
    ttl = float(current_app.config["OIDC_NONCE_TTL_SECONDS"])
    value = f"{target.client_id}\x00{target.nonce}"
    shared = store()
    if isinstance(shared, DatabaseReplayStore):
        record(connection, NONCE_NAMESPACE, value, ttl, utcnow())
    else:
        shared.first_use(NONCE_NAMESPACE, value, ttl)


def init_app() -> None:
    """Record OIDC nonces as authorization codes are saved."""
    from idaas.oidc.models import AuthorizationCode

    if not event.contains(AuthorizationCode, "after_insert", _record_nonce):
        event.listen(AuthorizationCode, "after_insert", _record_nonce)
