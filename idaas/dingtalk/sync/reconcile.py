"""Healing drift: pull the pushes DingTalk failed to deliver, and compare everything.

`recover_failed` reads `get_call_back_failed_result` (§6.1 B, 200 per call) into the event
store. `reconcile_job` is a full read within a call budget, applied at once unless delete
protection holds it; its result says what it changed (issue 15 item 4).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from idaas import audit
from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.sync import clients, events, jobs, runs, settings
from idaas.dingtalk.sync.jobs import JobContext, kind
from idaas.dingtalk.sync.models import SyncRun
from idaas.directory import service as directory
from idaas.directory.models import Account
from idaas.events.models import Job
from idaas.extensions import db, utcnow

MAX_PAGES = 100


def recover_failed(conn: DingTalkConnection) -> int:
    """Store every failed push DingTalk still holds for this corp; returns how many were new."""
    stored = 0
    with clients.http_client() as http:
        client = clients.for_sync(conn, http)
        for _ in range(MAX_PAGES):
            answer = client.failed_callbacks()
            for item in answer["failed_list"]:
                tag = str(item.get("call_back_tag") or "")
                data = item.get(tag) or {}
                payload = {
                    "EventType": tag,
                    "TimeStamp": item.get("event_time"),
                    "CorpId": data.get("corpid"),
                    "UserId": data.get("userid"),
                    "DeptId": data.get("deptid"),
                }
                ids = data.get("userid") or data.get("deptid")
                key = f"failed:{tag}:{item.get('event_time')}:{ids}"
                if events.store(conn.name, "recovery", payload, dedupe_key=key[:128]):
                    stored += 1
            if not answer["has_more"]:
                break
    if stored:
        audit.record(
            settings.origin_of(conn),
            "dingtalk.sync.recovered",
            f"dingtalk_connection:{conn.id}",
            details={"events": stored},
        )
        db.session.commit()
    return stored


def estimated_calls(conn: DingTalkConnection) -> int | None:
    """The calls the last full read of this connection made (the plan for the next one)."""
    for run in db.session.scalars(
        select(SyncRun)
        .where(SyncRun.connection == conn.name, SyncRun.kind.in_(("import", "reconcile")))
        .order_by(SyncRun.id.desc())
        .limit(20)
    ):
        if run.calls:
            return int(sum(run.calls.values()))
    return None


@kind("dingtalk.reconcile")
def reconcile_job(ctx: JobContext) -> dict[str, Any]:
    """Recover failed pushes, then compare DingTalk with the directory and repair the drift."""
    run = runs.get_run(int(ctx.params["run_id"]))
    conn = connections.require(run.connection)
    row = settings.get(conn)
    budget = row.reconcile_budget
    if run.status == "previewing":
        if row.transport == "http":
            recover_failed(conn)
            events.apply_pending(conn)
        estimate = estimated_calls(conn)
        if estimate is not None and estimate > budget:
            run.status = "failed"
            run.message = gettext(
                "Reconciliation needs about %(n)d DingTalk calls, more than the budget of "
                "%(budget)d; raise the budget in the sync settings.",
                n=estimate,
                budget=budget,
            )
            db.session.commit()
            return {"failed": run.message}
        result = runs.read_and_plan(ctx, budget)
        if "failed" in result:
            return result
        run = runs.get_run(run.id)
        runs.confirm(run.origin, run)
    outcome = runs.apply_job(ctx)
    run = runs.get_run(run.id)
    return {"status": run.status, **(outcome or {}), "planned": run.counts.get("actions", {})}


def reconcile(origin: str, conn: DingTalkConnection) -> tuple[SyncRun, Job]:
    """A reconciliation run and its engine job (the scheduler starts one daily)."""
    run = runs.start(origin, conn, "reconcile")
    return run, jobs.start("dingtalk.reconcile", run, origin)


def purge_leavers(conn: DingTalkConnection, now: datetime | None = None) -> int:
    """Leaver policy `delete`: delete people this connection disabled more than N days ago."""
    row = settings.get(conn)
    if row.leavers != "delete":
        return 0
    cutoff = (now or utcnow()) - timedelta(days=row.leaver_delete_days)
    origin = settings.origin_of(conn)
    stale = list(
        db.session.scalars(
            select(Account.id).where(
                Account.source == origin,
                Account.status == "disabled",
                Account.updated_at < cutoff,
            )
        )
    )
    for account_id in stale:
        directory.delete_account(origin, account_id)
    return len(stale)


@kind("dingtalk.reconcile_all")
def reconcile_all_job(ctx: JobContext) -> dict[str, Any]:
    """The scheduled job: apply stored events no job was queued for (a process that died
    between storing and queueing), queue a reconciliation of every enabled connection, then
    apply the leaver policy."""
    report: dict[str, Any] = {}
    for row in settings.all_enabled():
        conn = connections.get(row.connection)
        if conn is None:
            continue
        events.apply_pending(conn)
        run, job = reconcile("system", conn)
        report[conn.name] = {"run": run.id, "job": job.id, "deleted": purge_leavers(conn)}
        if ctx.cancelled:
            break
    return report


@kind(events.APPLY_JOB)
def apply_events_job(ctx: JobContext) -> dict[str, Any]:
    """Apply one connection's stored events (`connection` param; queued as they arrive), or
    those of every connection with events waiting (the scheduled sweep for events whose job
    was never queued, and a worker's catch-up after a restart)."""
    only = ctx.params.get("connection")
    names = [only] if only else events.connections_waiting()
    return {
        name: events.apply_pending(conn)
        for name in names
        if (conn := connections.get(str(name))) is not None
    }
