"""DingTalk import from the console: preview and apply run as engine jobs the page follows."""

from __future__ import annotations

from sqlalchemy import select

from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.sync import runs
from idaas.dingtalk.sync.models import SyncRun
from idaas.events import jobs
from idaas.events.models import Job
from idaas.extensions import db

PREVIEW = "dingtalk.preview"
APPLY = "dingtalk.apply"
#: How many recent sync jobs are searched for a run's job (a run has at most a handful).
RECENT = 200


def start_preview(origin: str, conn: DingTalkConnection) -> tuple[SyncRun, Job]:
    """A new import run and the queued engine job that reads DingTalk and plans its rows."""
    run = runs.start(origin, conn)
    return run, jobs.start(PREVIEW, {"run_id": run.id}, origin)


def confirm_and_apply(
    origin: str, run: SyncRun, *, accept_deletions: bool = False
) -> tuple[SyncRun, Job]:
    """Confirm a previewed (or held) run once, then queue the engine job that applies it."""
    run = runs.confirm(origin, run, accept_deletions=accept_deletions)
    return run, jobs.start(APPLY, {"run_id": run.id}, origin)


def job_of(run_id: int) -> Job | None:
    """The newest engine job (preview or apply) working on sync run `run_id`."""
    recent = db.session.scalars(
        select(Job).where(Job.kind.in_((PREVIEW, APPLY))).order_by(Job.id.desc()).limit(RECENT)
    )
    return next((j for j in recent if (j.params or {}).get("run_id") == run_id), None)
