"""Sync work as delivery-engine jobs (`idaas.events.jobs`): queue one for a run, or run it here.

A preview, an apply and a reconciliation are engine jobs (`dingtalk.preview`, `dingtalk.apply`,
`dingtalk.reconcile`) with the run id as their only parameter; a worker runs them with
heartbeats, progress and a checkpoint, and takes a killed one over from its checkpoint.
`run_here` claims one queued job and runs it in this process through the engine's own `run`
(the CLI's documented `--here` choice for a host without a worker, and tests).
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import update

from idaas.dingtalk.sync.models import SyncRun
from idaas.events import jobs as engine
from idaas.events.models import Job
from idaas.extensions import db

JobContext = engine.JobContext
kind = engine.kind


def start(kind_name: str, run: SyncRun, origin: str) -> Job:
    """Queue the job that works on `run`, remember it on the run, and commit."""
    job = engine.enqueue(kind_name, {"run_id": run.id}, origin)
    run.job_id = job.id
    db.session.commit()
    return job


def run_here(job: Job) -> str:
    """Claim the queued `job` and run it in this process; its final status."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    clock = app.extensions["idaas_clock"].now
    lease = engine.lease_seconds()
    now = clock()
    token = f"here:{os.getpid()}/{uuid.uuid4().hex[:8]}"
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == "queued")
        .values(
            status="running",
            claimed_by=token,
            lease_until=now + timedelta(seconds=lease),
            heartbeat_at=now,
            started_at=now,
            attempts=Job.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return "taken"  # a worker claimed it first: it runs there
    db.session.refresh(job)
    return engine.run(app, job, lease, clock)
