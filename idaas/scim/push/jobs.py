"""Full sync as engine jobs: `scim.push.plan` (the dry-run diff) and `scim.push.sync` (its apply).

`scim.push.sync` applies the diff stored by a finished `scim.push.plan` job, so what it does is
exactly what the admin saw; its checkpoint (the next item and the counts so far) lets a
worker that takes over after a crash resume where the dead one stopped.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from idaas.events import jobs
from idaas.extensions import db
from idaas.scim.push import log, settings, sync
from idaas.scim.push.client import Session

PLAN = "scim.push.plan"
SYNC = "scim.push.sync"


class PlanNotReady(ValueError):
    """The sync needs a finished dry run of the same application."""


@jobs.kind(PLAN)
def run_plan(ctx: jobs.JobContext) -> dict[str, Any]:
    """Compute the dry-run diff of one application's target."""
    _, target = settings.get(str(ctx.params["application"]))
    ctx.progress(step="reading the target")
    session = Session(target)
    planned = sync.plan(target, session)
    log.record(session, "target", str(target.id))
    db.session.commit()
    ctx.progress(total=len(planned["items"]), done=len(planned["items"]), step="planned")
    return {"application": ctx.params["application"], **planned}


def planned_by(job_id: int, client_id: str) -> dict[str, Any]:
    """The diff a finished plan job of this application stored; PlanNotReady otherwise."""
    try:
        job = jobs.get(int(job_id))
    except (jobs.JobNotFound, TypeError, ValueError):
        raise PlanNotReady(str(job_id)) from None
    result = job.result or {}
    if job.kind != PLAN or job.status != "succeeded" or result.get("application") != client_id:
        raise PlanNotReady(str(job_id))
    return result


@jobs.kind(SYNC)
def run_sync(ctx: jobs.JobContext) -> dict[str, Any]:
    """Apply the diff of `params.plan_job`, resuming from the checkpoint."""
    client_id = str(ctx.params["application"])
    planned = planned_by(int(ctx.params["plan_job"]), client_id)
    _, target = settings.get(client_id)
    checkpoint = ctx.checkpoint or {}
    start = int(checkpoint.get("index") or 0)
    total = len(planned.get("items") or [])
    ctx.progress(total=total, done=start, step="pushing")
    previous = Counter(checkpoint.get("counts") or {})

    def done(index: int, counts: Counter[str]) -> None:
        so_far = previous + counts
        ctx.checkpoint_save({"index": index, "counts": dict(so_far)})
        ctx.progress(done=index, failed=so_far.get("failed", 0))
        ctx.raise_if_cancelled()

    counts = previous + sync.apply(target, planned, Session(target), start=start, done=done)
    return {
        "application": client_id,
        "plan_job": ctx.params["plan_job"],
        "counts": {op: counts.get(op, 0) for op in sync.OPERATIONS if op != "unchanged"},
    }
