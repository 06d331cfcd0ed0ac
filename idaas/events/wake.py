"""Waking workers within milliseconds of a commit that queued work.

Writers mark their session (`mark_dirty`); at commit:
- on PostgreSQL, `NOTIFY idaas_engine` runs inside the writer's transaction, so listeners
  (`idaas worker` on any host) hear it exactly when the work becomes visible;
- with `REDIS_URL` set on SQLite, a message is published on `idaas:engine` after the commit;
- in every case, the worker threads of this process are woken directly (embedded mode).
Workers still poll every `EVENTS_POLL_SECONDS` as a safety net for a lost notification.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

CHANNEL = "idaas_engine"
REDIS_CHANNEL = "idaas:engine"
_FLAG = "idaas_engine_dirty"
_local_waiters: set[threading.Event] = set()
_lock = threading.Lock()
log = logging.getLogger("idaas.events")


def mark_dirty(session: Any) -> None:
    """Remember that this transaction queued work, so its commit wakes the workers.

    On PostgreSQL the NOTIFY is sent now, inside the transaction: PostgreSQL delivers it at
    commit (and drops it on rollback), whatever else runs before the commit.
    """
    if session.info.get(_FLAG):
        return
    session.info[_FLAG] = True
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql(f"NOTIFY {CHANNEL}")


def add_local_waiter(waiter: threading.Event) -> None:
    """Register an in-process event that every engine commit sets."""
    with _lock:
        _local_waiters.add(waiter)


def remove_local_waiter(waiter: threading.Event) -> None:
    """Forget an in-process waiter."""
    with _lock:
        _local_waiters.discard(waiter)


def wake_local() -> None:
    """Wake this process's workers now."""
    with _lock:
        waiters = list(_local_waiters)
    for waiter in waiters:
        waiter.set()


def _after_commit(session: Session) -> None:
    if not session.info.pop(_FLAG, False):
        return
    wake_local()
    if has_app_context() and current_app.config.get("REDIS_URL"):
        if session.get_bind().dialect.name != "postgresql":
            try:
                _redis(current_app.config["REDIS_URL"]).publish(REDIS_CHANNEL, b"1")
            except Exception:  # the poll is the safety net; never fail a committed write
                log.warning("could not publish the engine wake-up on Redis", exc_info=True)


def _after_rollback(session: Session) -> None:
    session.info.pop(_FLAG, None)


_clients: dict[str, Any] = {}


def _redis(url: str) -> Any:
    import redis

    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=2)
    return client


def install() -> None:
    """Hook the session events once per process."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


class Listener:
    """A background thread that turns NOTIFY (PostgreSQL) or Redis messages into `wake()`."""

    def __init__(self, database_url: str, redis_url: str | None, wake: Callable[[], None]):
        self.database_url = database_url
        self.redis_url = redis_url
        self.wake = wake
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> Listener:
        """Start listening, if this deployment has a cross-process channel."""
        if self.database_url.startswith("postgresql"):
            target: Callable[[], None] = self._listen_postgres
        elif self.redis_url:
            target = self._listen_redis
        else:
            return self
        self.thread = threading.Thread(target=target, name="idaas-engine-listen", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Ask the thread to stop (it notices within a second)."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=3)

    def _listen_postgres(self) -> None:
        import psycopg

        dsn = self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        while not self.stopping.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.wake()  # anything queued while we were not listening
                    while not self.stopping.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.wake()
            except psycopg.Error:
                log.warning("engine LISTEN connection lost; reconnecting", exc_info=True)
                self.stopping.wait(1.0)

    def _listen_redis(self) -> None:
        import redis

        while not self.stopping.is_set():
            try:
                pubsub = _redis(str(self.redis_url)).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(REDIS_CHANNEL)
                self.wake()
                while not self.stopping.is_set():
                    if pubsub.get_message(timeout=1.0):
                        self.wake()
                pubsub.close()
            except redis.RedisError:
                log.warning("engine Redis subscription lost; reconnecting", exc_info=True)
                self.stopping.wait(1.0)
