"""One holder per name across processes: a PostgreSQL advisory lock, or a process lock on SQLite.

Used so that only one process applies a connection's events at a time (in order) and only one
host holds a connection's Stream consumer (leader election).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from idaas.extensions import db

_LOCAL: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _local(name: str) -> threading.Lock:
    with _GUARD:
        return _LOCAL.setdefault(name, threading.Lock())


@contextmanager
def hold(name: str, wait: bool = False) -> Iterator[bool]:
    """Try to become the holder of `name`; yields whether we are (released on exit)."""
    lock = _local(name)
    if not lock.acquire(blocking=wait):
        yield False
        return
    try:
        if db.engine.dialect.name != "postgresql":
            yield True
            return
        connection = db.engine.connect()
        try:
            function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            got = connection.execute(text(f"SELECT {function}(:k)"), {"k": _key(name)}).scalar()
            got = True if wait else bool(got)
            connection.commit()
            try:
                yield got
            finally:
                if got:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(name)})
                    connection.commit()
        finally:
            connection.close()
    finally:
        lock.release()
