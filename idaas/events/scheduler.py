"""Periodic jobs with exactly one leader at a time.

Schedules are configuration (`EVENTS_SCHEDULES`: job kind -> interval in seconds, 0 turns one
off). Whichever worker holds the leadership starts each job kind when it is due; the next
due time is kept in `schedule_state`, so restarts and leader changes neither skip nor repeat
a run. Leadership is a session-level PostgreSQL advisory lock (it dies with the connection of a
dead worker); on SQLite, a lease row renewed on every tick.
"""

from __future__ import annotations

import logging
import uuid
import zlib
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from idaas.events import jobs
from idaas.events.models import EngineLease, Job, ScheduleState
from idaas.extensions import db

LOCK_KEY = zlib.crc32(b"idaas.scheduler")
LEASE_NAME = "scheduler"
log = logging.getLogger("idaas.events")


class Leadership:
    """Who runs the scheduler: a PostgreSQL advisory lock, or a lease row on SQLite."""

    def __init__(self, database_url: str, holder: str, lease_seconds: float = 30.0) -> None:
        self.database_url = database_url
        self.holder = holder[:64]
        self.lease_seconds = lease_seconds
        self._connection: Any = None

    def acquire(self, now: datetime) -> bool:
        """Whether this worker leads now (taking the lead when it is free)."""
        if self.database_url.startswith("postgresql"):
            return self._advisory()
        return self._lease(now)

    def _advisory(self) -> bool:
        import psycopg

        try:
            if self._connection is None or self._connection.closed:
                dsn = self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
                self._connection = psycopg.connect(dsn, autocommit=True)
                self._held = False
            if self._held:
                self._connection.execute("SELECT 1")
                return True
            row = self._connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)
            ).fetchone()
            self._held = bool(row and row[0])
            return self._held
        except psycopg.Error:
            self.release()
            return False

    def _lease(self, now: datetime) -> bool:
        until = now + timedelta(seconds=self.lease_seconds)
        renewed = db.session.execute(
            update(EngineLease)
            .where(EngineLease.name == LEASE_NAME)
            .where((EngineLease.holder == self.holder) | (EngineLease.until < now))
            .values(holder=self.holder, until=until)
            .execution_options(synchronize_session=False)
        )
        if renewed.rowcount:  # type: ignore[attr-defined]
            db.session.commit()
            return True
        try:
            db.session.execute(
                insert(EngineLease).values(name=LEASE_NAME, holder=self.holder, until=until)
            )
            db.session.commit()
            return True
        except IntegrityError:
            db.session.rollback()
            return False

    def release(self) -> None:
        """Give the lead up (closing the connection releases the advisory lock)."""
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # closing a broken connection
                pass
            self._connection = None
        self._held = False


def schedules() -> dict[str, float]:
    """The configured schedules: job kind -> interval in seconds (only the enabled ones)."""
    configured = current_app.config["EVENTS_SCHEDULES"]
    return {name: float(seconds) for name, seconds in configured.items() if float(seconds) > 0}


def tick(now: datetime) -> list[Job]:
    """Start every scheduled job kind that is due (the leader calls this); commit."""
    started: list[Job] = []
    for name, interval in schedules().items():
        if name not in jobs.kinds():
            continue
        state = db.session.get(ScheduleState, name)
        if state is None:
            # First sight: the first run is one interval away (a fresh install needs no rotation).
            db.session.add(ScheduleState(name=name, next_run_at=now + timedelta(seconds=interval)))
            continue
        if state.next_run_at > now:
            continue
        live = db.session.scalar(
            select(Job.id).where(Job.kind == name, Job.status.in_(("queued", "running")))
        )
        state.last_run_at = now
        state.next_run_at = now + timedelta(seconds=interval)
        if live is not None:
            continue  # the previous run is still going: skip this one
        job = jobs.enqueue(name, {"scheduled": True}, "system")
        state.last_job_id = job.id
        started.append(job)
        log.info("scheduler started job %s (%s)", job.id, name)
    db.session.commit()
    return started


def holder_name() -> str:
    """A unique name for this worker's claim on leadership."""
    import os
    import socket

    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
