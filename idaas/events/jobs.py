"""Background jobs: long work with progress, a checkpoint, cancel and a result summary.

    @jobs.kind("dingtalk.import")
    def run_import(ctx: jobs.JobContext) -> dict:
        start = (ctx.checkpoint or {}).get("offset", 0)       # resume after a crash
        ctx.progress(total=len(people), done=start, step="people")
        for offset in range(start, len(people), 100):
            if ctx.cancelled:
                return {"stopped_at": offset}
            ...                                                # commit a batch of work
            ctx.checkpoint_save({"offset": offset + 100})      # after the batch committed
            ctx.progress(done=offset + 100)
        return {"imported": len(people)}                        # the result summary

    job = jobs.start("dingtalk.import", {"connection": "main"}, origin="admin:1")

A worker claims a queued job, runs its handler in its own thread and keeps a lease alive with
heartbeats; when a worker dies, its lease runs out and another worker takes the job over and
calls the handler again with the saved checkpoint. Progress and checkpoints are written on
their own short transactions, so they never commit (or roll back) the handler's work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

from flask import Flask, current_app
from sqlalchemy import and_, func, or_, select, update

from idaas import audit
from idaas.events import leases, wake
from idaas.events.models import Job, newest_first
from idaas.extensions import db, utcnow
from idaas.serialise import columns

Handler = Callable[["JobContext"], dict[str, Any] | None]
_KINDS: dict[str, Handler] = {}
log = logging.getLogger("idaas.events")
FINAL = ("succeeded", "failed", "cancelled")


class UnknownJobKind(ValueError):
    """No handler is registered for that job kind."""


class JobNotFound(LookupError):
    """No job with that id."""


class JobCancelled(Exception):
    """Raise from a handler (or let `ctx.raise_if_cancelled()` raise) to stop as cancelled."""


def kind(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for job kind `name` (a decorator)."""

    def decorator(handler: Handler) -> Handler:
        _KINDS[name] = handler
        return handler

    return decorator


def register_kind(name: str, handler: Handler) -> None:
    """Register a handler for job kind `name`."""
    _KINDS[name] = handler


def kinds() -> list[str]:
    """The registered job kinds."""
    return sorted(_KINDS)


def start(kind_name: str, params: dict[str, Any] | None = None, origin: str = "system") -> Job:
    """Queue a job and commit; a worker picks it up within milliseconds."""
    if kind_name not in _KINDS:
        raise UnknownJobKind(kind_name)
    job = enqueue(kind_name, params, origin)
    db.session.commit()
    return job


def enqueue(kind_name: str, params: dict[str, Any] | None, origin: str = "system") -> Job:
    """Queue a job in the current transaction (the caller commits)."""
    job = Job(kind=kind_name, params=params or {}, origin=origin, created_at=utcnow())
    db.session.add(job)
    db.session.flush([job])
    audit.record(origin, "events.job_started", f"job:{job.id}", details={"kind": kind_name})
    wake.mark_dirty(db.session)
    return job


def get(job_id: int) -> Job:
    """One job; JobNotFound otherwise."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise JobNotFound(str(job_id))
    return job


def list_jobs(
    status: str | None = None, kind_name: str | None = None, limit: int = 50
) -> list[Job]:
    """Jobs, newest first."""
    return list(db.session.scalars(newest_first(Job, limit, status=status, kind=kind_name)))


def cancel(job_id: int, actor: str) -> Job:
    """Ask a job to stop: a queued job is cancelled at once, a running one at its next check."""
    job = get(job_id)
    if job.status in FINAL:
        return job
    now = utcnow()
    db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="cancelled", cancel_requested=True, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(cancel_requested=True)
        .execution_options(synchronize_session=False)
    )
    audit.record(actor, "events.job_cancel", f"job:{job_id}", details={"kind": job.kind})
    db.session.commit()
    db.session.refresh(job)
    return job


class Progress(TypedDict, total=False):
    """The progress a handler reports: counts, the current step and a message for people."""

    total: int | None
    done: int | None
    failed: int | None
    step: str | None
    message: str | None


class JobContext:
    """What a handler gets: its params, the saved checkpoint, progress and cancel."""

    def __init__(self, app: Flask, job: Job, token: str) -> None:
        self.app = app
        self.job_id = job.id
        self.kind = job.kind
        self.params: dict[str, Any] = dict(job.params or {})
        self.checkpoint: dict[str, Any] | None = job.checkpoint
        self.token = token
        self._cancelled = bool(job.cancel_requested)
        self._checked = 0.0
        self.lost = False

    def _write(self, **values: Any) -> None:
        with db.engine.begin() as connection:
            result = connection.execute(
                update(Job)
                .where(Job.id == self.job_id, Job.claimed_by == self.token)
                .values(**values)
            )
            if not result.rowcount:
                self.lost = True

    def progress(self, **changes: Unpack[Progress]) -> None:
        """Report progress (only the fields given change)."""
        values = {key: value for key, value in changes.items() if value is not None}
        if values:
            self._write(**values)

    def checkpoint_save(self, state: dict[str, Any]) -> None:
        """Save where to resume from; call it after the work it describes has committed."""
        self.checkpoint = state
        self._write(checkpoint=state)

    @property
    def cancelled(self) -> bool:
        """Whether someone asked this job to stop (read from the database twice a second)."""
        if not self._cancelled and time.monotonic() - self._checked > 0.5:
            self._checked = time.monotonic()
            with db.engine.connect() as connection:
                flag = connection.execute(
                    select(Job.cancel_requested).where(Job.id == self.job_id)
                ).scalar()
            self._cancelled = bool(flag)
        return self._cancelled

    def raise_if_cancelled(self) -> None:
        """Stop the handler (as cancelled) when a cancel was asked for."""
        if self.cancelled:
            raise JobCancelled()


def claim(now: datetime, lease_seconds: float, worker: str) -> Job | None:
    """Claim the oldest queued job, or a running one whose worker's lease ran out; commit."""
    claimable = or_(Job.status == "queued", and_(Job.status == "running", Job.lease_until < now))
    ids = leases.claim_ids(
        Job,
        claimable,
        1,
        token=leases.lease_token(worker),
        now=now,
        lease_seconds=lease_seconds,
        heartbeat_at=now,
        started_at=func.coalesce(Job.started_at, now),
    )
    if not ids:
        db.session.commit()
        return None
    job = db.session.get(Job, ids[0])
    db.session.refresh(job)
    db.session.expunge(job)
    db.session.commit()
    return job


def run(app: Flask, job: Job, lease_seconds: float, clock: Callable[[], datetime]) -> str:
    """Run a claimed job's handler with heartbeats; record its end; return the final status."""
    token = str(job.claimed_by)
    ctx = JobContext(app, job, token)
    stop_beating = threading.Event()

    def heartbeat() -> None:
        while not stop_beating.wait(max(0.2, lease_seconds / 3)):
            try:
                with app.app_context():
                    now = clock()
                    ctx._write(heartbeat_at=now, lease_until=now + timedelta(seconds=lease_seconds))
            except Exception:  # a busy database: the next beat comes within a third of the lease
                log.warning("job %s: heartbeat failed", job.id, exc_info=True)

    beater = threading.Thread(target=heartbeat, name=f"idaas-job-{job.id}-heartbeat", daemon=True)
    beater.start()
    status, result, error = "succeeded", None, None
    try:
        handler = _KINDS.get(job.kind)
        if handler is None:
            raise UnknownJobKind(f"no handler for job kind {job.kind!r}")
        if ctx.cancelled:
            raise JobCancelled()
        result = handler(ctx)
        if ctx.cancelled:
            status = "cancelled"
    except JobCancelled:
        db.session.rollback()
        status = "cancelled"
    except Exception as exc:  # a failed job is recorded with its error, the worker carries on
        db.session.rollback()
        current_app.logger.exception("job %s (%s) failed", job.id, job.kind)
        status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
    finally:
        stop_beating.set()
        beater.join(timeout=5)
    ctx._write(
        status=status,
        result=result,
        error=error,
        finished_at=clock(),
        lease_until=None,
    )
    return status


def job_to_dict(job: Job) -> dict[str, Any]:
    """The JSON form of a job (API, CLI)."""
    return {
        **columns(job, "id kind params origin status"),
        "progress": columns(job, "total done failed step message"),
        **columns(
            job,
            "checkpoint result error cancel_requested attempts",
            times="created_at started_at finished_at heartbeat_at",
        ),
    }


def lease_seconds() -> float:
    """How long a job's claim lasts without a heartbeat."""
    return float(current_app.config["EVENTS_JOB_LEASE_SECONDS"])
