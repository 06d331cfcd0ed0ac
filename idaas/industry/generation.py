"""A cross-process cache generation: bumped inside every transaction that changes what we cache.

Every directory write appends a change event in its own transaction (`directory.service`), and API
clients, applications and gateway keys are rows of their own; a transaction that flushed any of
them also increments one counter row, as its last statement before COMMIT. Readers get the
counter from the replay store (`industry.nonces`) in the same round trip that consumes the
request's nonce, and drop their per-process caches when it moved, so a change made by any
process or host is seen by every other one as soon as it commits: the counter and the change
become visible together. The row lock orders concurrent bumps (none is lost) and, taken last,
cannot join a lock-order deadlock. With Redis, the Redis counter is incremented after the
COMMIT; should that one step be lost (a crash in between, Redis briefly away), the caches'
maximum age bounds how long a process serves what it had.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idaas.industry.models import CacheGeneration, GatewayKey

T = TypeVar("T")
_FLAG = "industry_generation_pending"
_BUMPED = "industry_generation_bumped"
MAX_AGE_SECONDS = 60
_ENVIRON_KEY = "idaas.industry.generation"
_WATCHED_EVENTS = frozenset({"role", "account"})


def _relevant(session: Session) -> bool:
    from idaas.applications.models import ApiClient, Application
    from idaas.events.models import ChangeEvent

    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ChangeEvent):
            if obj.object_type in _WATCHED_EVENTS:
                return True
        elif isinstance(obj, ApiClient | Application | GatewayKey):
            return True
    return False


def bump(session: Session) -> None:
    """Increment the counter in the session's current transaction (creating the row once)."""
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(CacheGeneration).values(id=1, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[CacheGeneration.id], set_={"value": CacheGeneration.value + 1}
    )
    connection.execute(statement)
    session.info[_BUMPED] = True


def _enabled() -> bool:
    return has_app_context() and bool(current_app.config["INDUSTRY_API_ENABLED"])


def _after_flush(session: Session, _context: Any) -> None:
    """Remember that this transaction wrote something the caches depend on."""
    if not session.info.get(_FLAG) and _enabled() and _relevant(session):
        session.info[_FLAG] = True


def _before_commit(session: Session) -> None:
    """Bump last, just before COMMIT: the counter's row lock is the last lock taken and is
    held only for the commit itself, so it cannot be part of a lock-order deadlock."""
    if not _enabled():
        return
    session.flush()
    if session.info.pop(_FLAG, False):
        bump(session)


def _after_commit(session: Session) -> None:
    """Tell the store (Redis) that the committed counter moved."""
    session.info.pop(_FLAG, None)
    if session.info.pop(_BUMPED, False) and _enabled():
        _state().nonces.publish()


def _reset(session: Session, *_args: Any) -> None:
    session.info.pop(_FLAG, None)
    session.info.pop(_BUMPED, None)


_registered = False


def register() -> None:
    """Install the session listeners (once per process)."""
    global _registered
    if _registered:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _reset)
    _registered = True


def _state() -> Any:
    return current_app.extensions["industry"]


def remember(value: int) -> None:
    """Use `value` (read with the request's nonce) as this request's generation."""
    if has_request_context():
        request.environ[_ENVIRON_KEY] = value


def current() -> int:
    """The committed generation, read at most once per request."""
    holder = request.environ if has_request_context() else {}
    cached = holder.get(_ENVIRON_KEY)
    if cached is None:
        cached = holder[_ENVIRON_KEY] = _state().nonces.generation()
    return int(cached)


class GenerationCache:
    """A bounded per-process cache that empties itself when the generation moves, and at the
    latest `MAX_AGE_SECONDS` after it was last emptied."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._generation = -1
        self._since = 0.0
        self._entries: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> tuple[int, Any] | None:
        """`(generation, value)` if cached, without reading the generation (check it after)."""
        now = _state().clock()
        with self._lock:
            if key in self._entries and now - self._since <= MAX_AGE_SECONDS:
                return self._generation, self._entries[key]
        return None

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The cached value for `key` at the current generation, loading it on a miss."""
        generation = current()
        now = _state().clock()
        with self._lock:
            if generation > self._generation or now - self._since > MAX_AGE_SECONDS:
                self._entries = {}
                self._generation = max(generation, self._generation)
                self._since = now
            if generation == self._generation and key in self._entries:
                return self._entries[key]
        value = load()
        with self._lock:
            if self._generation == generation:
                if len(self._entries) >= self.max_entries:
                    self._entries = {}
                self._entries[key] = value
        return value
