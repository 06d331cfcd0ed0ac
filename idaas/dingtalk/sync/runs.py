"""Full import: preview (temporary rows, nothing changes), remove invalid rows, confirm, apply.

Apply is a job: departments first (parents first), then people, then disables; each row is
marked applied after its directory write commits and the checkpoint follows, so a run killed at
any point resumes where it stopped and ends identical to an uninterrupted one (issue 15 item 2).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, insert, select, update

from idaas import audit
from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.errors import DingTalkError
from idaas.dingtalk.sync import apply as writer
from idaas.dingtalk.sync import clients, jobs, plan, settings, snapshot
from idaas.dingtalk.sync.advice import action_for
from idaas.dingtalk.sync.jobs import JobContext, kind
from idaas.dingtalk.sync.models import SyncRow, SyncRun, SyncSettings
from idaas.directory.errors import DirectoryError
from idaas.directory.models import Account
from idaas.directory.service.unit import atomic
from idaas.events.models import Job
from idaas.extensions import db, utcnow

BATCH = 500


class RunError(ValueError):
    """The run cannot do that in its current state; the message says why."""


def get_run(run_id: int, connection: str | None = None) -> SyncRun:
    """A run (of `connection`, when given), or RunError."""
    run = db.session.get(SyncRun, run_id)
    if run is None or (connection is not None and run.connection != connection):
        raise RunError(gettext("Sync run %(id)s does not exist.", id=run_id))
    return run


def target_of(conn: DingTalkConnection, row: SyncSettings) -> writer.Target:
    """Where this connection's objects go, and as whom."""
    return writer.Target(
        origin=settings.origin_of(conn),
        system=settings.system_of(conn),
        root_external_id=str(row.root_dept_id),
        target_department_id=row.target_department_id,
        initial_password=settings.initial_password(row),
        leavers=row.leavers,
    )


def active_imported(conn: DingTalkConnection) -> int:
    """Active accounts this connection brought in (the base of delete protection)."""
    return int(
        db.session.scalar(
            select(func.count(Account.id)).where(
                Account.source == settings.origin_of(conn), Account.status == "active"
            )
        )
        or 0
    )


def deletion_limit(row: SyncSettings, base: int) -> int:
    """How many disables a run may make unasked: percent of `base` or the minimum, the larger."""
    return max(row.delete_minimum, math.ceil(base * row.delete_percent / 100))


def start(origin: str, conn: DingTalkConnection, kind_name: str = "import") -> SyncRun:
    """A new run in state `previewing`; commits."""
    run = SyncRun(connection=conn.name, kind=kind_name, status="previewing", origin=origin)
    db.session.add(run)
    audit.record(origin, f"dingtalk.sync.{kind_name}_started", f"dingtalk_connection:{conn.id}")
    db.session.commit()
    return run


@kind("dingtalk.preview")
def preview_job(ctx: JobContext) -> dict[str, Any]:
    """Read DingTalk, compare with the directory and store the planned rows (no directory write)."""
    return read_and_plan(ctx, None)


def read_and_plan(ctx: JobContext, budget: int | None) -> dict[str, Any]:
    """The preview of a run: fails (changing nothing) on a DingTalk error or a spent budget."""
    run = get_run(int(ctx.params["run_id"]))
    conn = connections.require(run.connection)
    row = settings.get(conn)
    ctx.progress(step="departments", done=0)
    calls: Counter[str] = Counter()
    try:
        with clients.http_client(calls, budget) as http:
            client = clients.for_sync(conn, http)
            # A full read re-checks the credentials: a changed AppSecret must not ride on a
            # token cached from the old one.
            client.tokens.drop(client.cache_key)
            snap = snapshot.read(
                client,
                row.root_dept_id,
                lambda step, done: ctx.progress(step=step, done=done) if done % 50 == 0 else None,
            )
    except (DingTalkError, clients.CallBudgetExceeded) as error:
        message = (
            action_for(error)
            if isinstance(error, DingTalkError)
            else gettext(
                "Stopped: the DingTalk call budget (%(budget)d) is used up; raise it in the "
                "sync settings. Nothing was changed.",
                budget=budget or 0,
            )
        )
        run = get_run(run.id)
        run.status, run.message, run.finished_at = "failed", message[:1024], utcnow()
        run.calls = dict(calls)
        audit.record(
            run.origin,
            "dingtalk.sync.preview_failed",
            f"dingtalk_connection:{conn.id}",
            outcome="failure",
            details={"message": message[:300]},
        )
        db.session.commit()
        return {"failed": message}
    system = settings.system_of(conn)
    dept_refs = plan.references(system, "department")
    account_refs = plan.references(system, "account")
    base = active_imported(conn)
    rows = plan.department_rows(snap, row, dept_refs) + plan.account_rows(
        snap, row, account_refs, dept_refs, base
    )
    db.session.execute(
        insert(SyncRow),
        [
            {
                "run_id": run.id,
                "seq": seq,
                "object_type": r.object_type,
                "external_id": r.external_id,
                "action": r.action,
                "object_id": r.object_id,
                "name": r.name,
                "data": r.data,
                "changes": r.changes,
                "errors": r.errors,
                "removed": False,
                "applied": False,
            }
            for seq, r in enumerate(rows)
        ],
    ) if rows else None
    run = get_run(run.id)
    run.counts = {
        **plan.counts(rows),
        "dingtalk": {"departments": len(snap.departments), "people": len(snap.users)},
        "refused_departments": {str(k): v for k, v in snap.refused.items()},
        "deletion_limit": deletion_limit(row, base),
    }
    run.total, run.status, run.step = len(rows), "previewed", "previewed"
    run.calls = dict(calls)
    db.session.commit()
    return run.counts


def preview(origin: str, conn: DingTalkConnection) -> tuple[SyncRun, Job]:
    """A new run and the engine job that previews it (a worker runs `preview_job`)."""
    run = start(origin, conn)
    return run, jobs.start("dingtalk.preview", run, origin)


def apply(origin: str, run: SyncRun, *, accept_deletions: bool = False) -> Job:
    """Confirm a previewed (or held) run and queue the engine job that applies it."""
    run = confirm(origin, run, accept_deletions=accept_deletions)
    return jobs.start("dingtalk.apply", run, origin)


def rows_of(
    run: SyncRun, *, invalid: bool | None = None, limit: int = 100, after: int = -1
) -> list[SyncRow]:
    """A page of a run's rows by seq (only invalid or only valid ones when asked)."""
    query = select(SyncRow).where(SyncRow.run_id == run.id, SyncRow.seq > after)
    rows = list(db.session.scalars(query.order_by(SyncRow.seq)))
    if invalid is not None:
        rows = [r for r in rows if bool(r.errors) == invalid]
    return rows[:limit]


def _editable(run: SyncRun) -> None:
    if run.status not in ("previewed", "held"):
        raise RunError(
            gettext("This run is %(status)s: only a previewed run can change.", status=run.status)
        )


def remove_invalid(origin: str, run: SyncRun) -> int:
    """Drop every row with a validation error from the run, in one action; commits."""
    _editable(run)
    rows = [r for r in rows_of(run, invalid=True, limit=10**9) if not r.removed]
    for r in rows:
        r.removed = True
    audit.record(
        origin,
        "dingtalk.sync.rows_removed",
        f"dingtalk_sync_run:{run.id}",
        details={"count": len(rows)},
    )
    db.session.commit()
    return len(rows)


def remove_rows(origin: str, run: SyncRun, seqs: list[int]) -> int:
    """Drop chosen rows from the run; commits."""
    _editable(run)
    result = db.session.execute(
        update(SyncRow)
        .where(SyncRow.run_id == run.id, SyncRow.seq.in_(seqs), SyncRow.removed.is_(False))
        .values(removed=True)
    )
    audit.record(
        origin,
        "dingtalk.sync.rows_removed",
        f"dingtalk_sync_run:{run.id}",
        details={"count": result.rowcount},  # type: ignore[attr-defined]
    )
    db.session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def confirm(origin: str, run: SyncRun, *, accept_deletions: bool = False) -> SyncRun:
    """Approve a previewed (or held) run for apply; a conditional UPDATE so it happens once."""
    allowed = ("previewed", "held") if accept_deletions else ("previewed",)
    values: dict[str, Any] = {"status": "confirmed"}
    if accept_deletions:
        values["counts"] = {**(run.counts or {}), "deletions_confirmed": True}
    result = db.session.execute(
        update(SyncRun).where(SyncRun.id == run.id, SyncRun.status.in_(allowed)).values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise RunError(
            gettext("This run cannot be confirmed now (it is %(status)s).", status=run.status)
        )
    audit.record(
        origin,
        "dingtalk.sync.confirmed",
        f"dingtalk_sync_run:{run.id}",
        details={"accept_deletions": accept_deletions},
    )
    db.session.commit()
    db.session.refresh(run)
    return run


def discard(origin: str, run: SyncRun) -> SyncRun:
    """Throw a previewed or held run away; nothing of it is applied; commits."""
    result = db.session.execute(
        update(SyncRun)
        .where(SyncRun.id == run.id, SyncRun.status.in_(("previewed", "held", "confirmed")))
        .values(status="discarded", finished_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise RunError(
            gettext("This run cannot be discarded (it is %(status)s).", status=run.status)
        )
    audit.record(origin, "dingtalk.sync.discarded", f"dingtalk_sync_run:{run.id}")
    db.session.commit()
    db.session.refresh(run)
    return run


def _hold(run: SyncRun, conn: DingTalkConnection, disables: int, limit: int) -> dict[str, Any]:
    run.status, run.step = "held", "delete_protection"
    run.message = gettext(
        "Delete protection: this run would disable %(n)d accounts (limit %(limit)d). "
        "Confirm the deletions or discard the run.",
        n=disables,
        limit=limit,
    )
    audit.record(
        run.origin,
        "dingtalk.sync.delete_protection",
        f"dingtalk_sync_run:{run.id}",
        outcome="failure",
        details={"connection": conn.name, "disables": disables, "limit": limit, "kind": run.kind},
    )
    db.session.commit()
    return {"held": disables, "limit": limit}


def _apply_row(target: writer.Target, r: Any) -> str:
    if r.object_type == "department":
        if r.action == "delete":
            return writer.remove_department(target, r.external_id)
        return writer.upsert_department(target, r.external_id, r.data)[1]
    if r.action == "disable":
        return writer.leave_account(target, r.external_id)
    return writer.upsert_account(target, r.external_id, r.data)[1]


def _apply_together(target: writer.Target, batch: list[Any]) -> Counter[str]:
    """A batch in the caller's transaction: new objects in bulk, the other rows one by one."""
    done: set[tuple[str, str]] = set()
    for object_type, create in (
        ("department", writer.create_departments_bulk),
        ("account", writer.create_accounts_bulk),
    ):
        items = [
            (r.external_id, r.data)
            for r in batch
            if r.object_type == object_type and r.action == "create"
        ]
        done |= {(object_type, ext) for ext in create(target, items)}
    outcomes: Counter[str] = Counter({"created": len(done)} if done else {})
    for r in batch:
        if (r.object_type, r.external_id) not in done or r.action != "create":
            outcomes[_apply_row(target, r)] += 1
    db.session.execute(
        update(SyncRow).where(SyncRow.id.in_([r.id for r in batch])).values(applied=True)
    )
    return outcomes


def _apply_each(target: writer.Target, batch: list[Any]) -> tuple[Counter[str], int]:
    """A batch row by row, each in its own transaction, so each failure keeps its reason."""
    outcomes: Counter[str] = Counter()
    failed = 0
    for r in batch:
        try:
            outcome = _apply_row(target, r)
        except DirectoryError as exc:
            db.session.rollback()
            failed += 1
            outcome = "failed"
            error = {
                "kind": "apply_failed",
                "field": ",".join(exc.fields) or "row",
                "message": exc.message,
            }
            db.session.execute(update(SyncRow).where(SyncRow.id == r.id).values(errors=[error]))
        outcomes[outcome] += 1
        db.session.execute(update(SyncRow).where(SyncRow.id == r.id).values(applied=True))
        db.session.commit()
    return outcomes, failed


@kind("dingtalk.apply")
def apply_job(ctx: JobContext) -> dict[str, Any]:
    """Apply a confirmed run's rows in order, from the checkpoint; stop at delete protection.

    Each batch is one transaction (bulk creates, then the other rows, then the rows marked
    applied); a batch with an invalid row is redone row by row so each failure keeps its reason.
    """
    run = get_run(int(ctx.params["run_id"]))
    conn = connections.require(run.connection)
    row = settings.get(conn)
    if run.status not in ("confirmed", "applying"):
        raise RunError(
            gettext("Confirm the run before applying it (it is %(status)s).", status=run.status)
        )
    live = select(SyncRow).where(SyncRow.run_id == run.id, SyncRow.removed.is_(False))
    if run.status == "confirmed" and not (run.counts or {}).get("deletions_confirmed"):
        disables = len(list(db.session.scalars(live.where(SyncRow.action == "disable"))))
        limit = deletion_limit(row, active_imported(conn))
        if disables > limit:
            return _hold(run, conn, disables, limit)
    run.status, run.step = "applying", "applying"
    db.session.commit()
    target = target_of(conn, row)
    start_seq = int((ctx.checkpoint or {}).get("seq", -1))
    total = db.session.scalar(select(func.count()).select_from(live.subquery())) or 0
    done = (
        db.session.scalar(
            select(func.count()).select_from(live.where(SyncRow.applied.is_(True)).subquery())
        )
        or 0
    )
    failed = run.failed
    results: Counter[str] = Counter((run.result or {}).get("outcomes", {}))
    ctx.progress(total=int(total), done=int(done), step="applying")
    columns = (
        SyncRow.id,
        SyncRow.seq,
        SyncRow.object_type,
        SyncRow.action,
        SyncRow.external_id,
        SyncRow.data,
    )
    pending = (
        select(*columns)
        .where(SyncRow.run_id == run.id, SyncRow.removed.is_(False), SyncRow.applied.is_(False))
        .order_by(SyncRow.seq)
    )
    size = int(current_app.config["DINGTALK_SYNC_BATCH"])
    while True:
        if ctx.cancelled:
            return {"cancelled_at": start_seq}
        # Plain rows: commits expire ORM objects, and reloading them one by one is slow.
        batch = list(db.session.execute(pending.where(SyncRow.seq > start_seq).limit(size)))
        if not batch:
            break
        if any(r.object_type == "department" for r in batch):
            # Departments first, on their own: people's memberships need their ids.
            batch = [r for r in batch if r.object_type == "department"]
        try:
            with atomic():
                outcomes = _apply_together(target, batch)
        except DirectoryError:
            db.session.rollback()
            outcomes, errors = _apply_each(target, batch)
            failed += errors
        results.update(outcomes)
        done += len(batch)
        start_seq = batch[-1].seq
        ctx.checkpoint_save({"seq": start_seq})
        ctx.progress(done=int(done), failed=failed, step="applying")
    run = get_run(run.id)
    run.status, run.step, run.finished_at, run.failed = "applied", "applied", utcnow(), failed
    run.result = {"outcomes": dict(results)}
    audit.record(
        run.origin,
        "dingtalk.sync.applied",
        f"dingtalk_sync_run:{run.id}",
        details={"outcomes": dict(results), "connection": conn.name},
    )
    db.session.commit()
    return run.result
