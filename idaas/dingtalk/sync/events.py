"""DingTalk events: stored first (before the answer or the ack), then applied in order.

Application coalesces whatever is pending for a connection: one `department/get` per changed
department, one `user/get` per changed person (§4.2, §4.6), none for a person who left. A batch
that would disable more people than delete protection allows is held for an administrator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from idaas import audit
from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.crypto import normalise_event
from idaas.dingtalk.errors import DingTalkError, NotFound
from idaas.dingtalk.sync import apply as writer
from idaas.dingtalk.sync import clients, leader, runs, settings
from idaas.dingtalk.sync.advice import action_for
from idaas.dingtalk.sync.mapping import map_user
from idaas.dingtalk.sync.models import SyncEvent, SyncRun, SyncSettings
from idaas.directory.errors import DirectoryError
from idaas.directory.models import ExternalReference, Membership
from idaas.directory.service import find_reference
from idaas.events import jobs as engine
from idaas.events.models import Job
from idaas.extensions import db, utcnow

log = logging.getLogger(__name__)

USER_EVENTS = {
    "user_add_org",
    "user_modify_org",
    "user_leave_org",
    "user_active_org",
    "org_admin_add",
    "org_admin_remove",
}
DEPT_EVENTS = {"org_dept_create", "org_dept_modify", "org_dept_remove"}
ORG_EVENTS = {"org_change", "org_remove"}
CHECK_EVENTS = {"check_url", "check_create_suite_url", "check_update_suite_url"}
BATCH = 2000
#: Leavers applied within this time count towards the delete-protection limit of a batch.
PROTECTION_WINDOW = timedelta(minutes=10)
APPLY_JOB = "dingtalk.events"
#: From this many changed people in one batch, reading whole departments may be cheaper.
BULK_MIN = 40


def record_refused_push(name: str, connection_id: Any, reason: str) -> None:
    """Audit a refused DingTalk push in a transaction of its own; nothing of it is stored."""
    db.session.rollback()
    audit.record(
        f"dingtalk:{name}",
        "dingtalk.callback_refused",
        f"dingtalk_connection:{connection_id}",
        outcome="failure",
        details={"reason": reason},
    )
    db.session.commit()


def store(
    connection: str,
    transport: str,
    payload: Mapping[str, Any],
    *,
    dedupe_key: str | None = None,
    replay_key: str | None = None,
) -> bool:
    """Store one event (commits; with the job that will apply it, see `notify`); False when
    the same event or request was stored before.

    Raises `Replayed` when `replay_key` (an HTTP push's timestamp and nonce) was seen already.
    """
    event = normalise_event(payload)
    event_type = str(event["event_type"] or "unknown")
    key = (
        dedupe_key
        or str(payload.get("eventId") or "")
        or (
            f"{event_type}:{event['timestamp']}:{','.join(event['user_ids'])}:"
            f"{','.join(str(d) for d in event['dept_ids'])}"
        )[:128]
    )
    if replay_key is not None:
        seen = db.session.scalar(
            select(SyncEvent.id).where(
                SyncEvent.connection == connection, SyncEvent.replay_key == replay_key
            )
        )
        if seen is not None:
            raise Replayed()
    status = "ignored" if event_type in CHECK_EVENTS else "pending"
    if event_type not in USER_EVENTS | DEPT_EVENTS | ORG_EVENTS | CHECK_EVENTS:
        status = "ignored"
    row = SyncEvent(
        connection=connection,
        transport=transport,
        dedupe_key=key if status == "pending" else f"{key}:{replay_key or time.time_ns()}"[:128],
        replay_key=replay_key,
        event_type=event_type[:64],
        user_ids=event["user_ids"],
        dept_ids=event["dept_ids"],
        payload=dict(payload),
        event_ms=event["timestamp"],
        status=status,
    )
    db.session.add(row)
    if status == "pending" and not _inline():
        _queue_apply(connection)  # in the same commit as the event
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if replay_key is not None and db.session.scalar(
            select(SyncEvent.id).where(
                SyncEvent.connection == connection, SyncEvent.replay_key == replay_key
            )
        ):
            raise Replayed() from None
        return False
    return status == "pending"


class Replayed(Exception):
    """The same signed request (timestamp and nonce) arrived before."""


def _plan(events: list[SyncEvent]) -> tuple[dict[int, str], dict[str, str]]:
    """The last event type per department and per person, in first-seen order."""
    depts: dict[int, str] = {}
    users: dict[str, str] = {}
    for event in events:
        for dept_id in event.dept_ids or []:
            depts.pop(int(dept_id), None)
            depts[int(dept_id)] = event.event_type
        for userid in event.user_ids or []:
            users.pop(str(userid), None)
            users[str(userid)] = event.event_type
    return depts, users


def _recent_leavers(connection: str) -> int:
    """Leave events applied without a confirmation in the last PROTECTION_WINDOW."""
    since = utcnow() - PROTECTION_WINDOW
    return int(
        db.session.scalar(
            select(func.count(SyncEvent.id)).where(
                SyncEvent.connection == connection,
                SyncEvent.event_type == "user_leave_org",
                SyncEvent.status == "applied",
                SyncEvent.run_id.is_(None),
                SyncEvent.applied_at >= since,
            )
        )
        or 0
    )


def _open_hold(connection: str) -> SyncRun | None:
    """The delete-protection hold of events still waiting for an administrator."""
    return db.session.scalar(
        select(SyncRun).where(
            SyncRun.connection == connection, SyncRun.kind == "events", SyncRun.status == "held"
        )
    )


def _hold(
    conn: DingTalkConnection,
    events: list[SyncEvent],
    leavers: int,
    limit: int,
    run: SyncRun | None = None,
) -> None:
    if run is not None:  # more leavers for a hold that is already waiting
        run.counts = {
            **(run.counts or {}),
            "leavers": int((run.counts or {}).get("leavers", 0)) + leavers,
            "events": int((run.counts or {}).get("events", 0)) + len(events),
        }
        db.session.execute(
            update(SyncEvent)
            .where(SyncEvent.id.in_([e.id for e in events]))
            .values(status="held", run_id=run.id)
        )
        db.session.commit()
        return
    run = SyncRun(
        connection=conn.name,
        kind="events",
        status="held",
        origin=settings.origin_of(conn),
        step="delete_protection",
        counts={"leavers": leavers, "events": len(events), "deletion_limit": limit},
        message=gettext(
            "Delete protection: %(n)d people left in DingTalk (limit %(limit)d). Confirm or "
            "discard the held events.",
            n=leavers,
            limit=limit,
        ),
    )
    db.session.add(run)
    db.session.flush()
    ids = [e.id for e in events]
    db.session.execute(
        update(SyncEvent).where(SyncEvent.id.in_(ids)).values(status="held", run_id=run.id)
    )
    audit.record(
        settings.origin_of(conn),
        "dingtalk.sync.delete_protection",
        f"dingtalk_sync_run:{run.id}",
        outcome="failure",
        details={"connection": conn.name, "leavers": leavers, "limit": limit, "kind": "events"},
    )
    db.session.commit()


def release(origin: str, run: SyncRun, approve: bool) -> int:
    """Confirm (apply) or discard the events a delete-protection hold kept back; commits."""
    result = db.session.execute(
        update(SyncEvent)
        .where(SyncEvent.run_id == run.id, SyncEvent.status == "held")
        .values(status="approved" if approve else "discarded")
    )
    run.status = "confirmed" if approve else "discarded"
    run.finished_at = utcnow()
    audit.record(
        origin,
        "dingtalk.sync.confirmed" if approve else "dingtalk.sync.discarded",
        f"dingtalk_sync_run:{run.id}",
        details={"events": result.rowcount},  # type: ignore[attr-defined]
    )
    db.session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def _in_scope(target: writer.Target, dept_id: int) -> bool:
    return str(dept_id) == target.root_external_id or (
        find_reference(target.system, "department", str(dept_id)) is not None
    )


def _apply_department(client: Any, target: writer.Target, dept_id: int, kind: str) -> str:
    if kind == "org_dept_remove":
        return writer.remove_department(target, str(dept_id))
    try:
        dept = client.get_department(dept_id)
    except NotFound:
        return writer.remove_department(target, str(dept_id))
    parent = int(dept.get("parent_id") or 0)
    if str(parent) != target.root_external_id and not _in_scope(target, parent):
        return "outside_scope"
    data = {
        "name": str(dept.get("name") or "")[:128],
        "parent_external_id": None if str(parent) == target.root_external_id else str(parent),
    }
    return writer.upsert_department(target, str(dept_id), data)[1]


def _listed(client: Any, target: writer.Target, userids: list[str]) -> dict[str, dict[str, Any]]:
    """Coalesce a big burst: read whole departments by user/list pages (100 people a call)
    when that costs fewer calls than one user/get per person (§4.5, §4.6)."""
    if len(userids) < BULK_MIN:
        return {}
    wanted = set(userids)
    refs = {
        int(r.object_id): r.external_id
        for r in db.session.scalars(
            select(ExternalReference).where(
                ExternalReference.system == target.system,
                ExternalReference.object_type == "department",
            )
        )
    }
    accounts = {
        int(r.object_id)
        for r in db.session.scalars(
            select(ExternalReference).where(
                ExternalReference.system == target.system,
                ExternalReference.object_type == "account",
                ExternalReference.external_id.in_(userids),
            )
        )
    }
    sizes: Counter[str] = Counter()
    for account_id, department_id in db.session.execute(
        select(Membership.account_id, Membership.department_id)
    ):
        ext = refs.get(department_id, target.root_external_id)
        sizes[ext] += 1
        if account_id in accounts:
            sizes[f"want:{ext}"] += 1
    departments = [k.removeprefix("want:") for k in sizes if k.startswith("want:")]
    pages = sum(sizes[d] // 100 + 1 for d in departments)
    if not departments or pages * 2 > len(userids):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for dept in departments:
        for user in client.iter_users(int(dept)):
            if str(user["userid"]) in wanted:
                found.setdefault(str(user["userid"]), user)
    return found


def _apply_user(
    client: Any,
    target: writer.Target,
    row: Any,
    userid: str,
    kind: str,
    known: dict[str, dict[str, Any]] | None = None,
) -> tuple[str, str | None]:
    if kind == "user_leave_org":
        return writer.leave_account(target, userid), None
    try:
        user = (known or {}).get(userid) or client.get_user(userid)
    except NotFound:
        return writer.leave_account(target, userid), None
    mapped = map_user(user, row.email_field, row.mapping or [])
    departments = [str(d) for d in mapped.dept_ids if _in_scope(target, d)]
    if not departments and find_reference(target.system, "account", userid) is None:
        return "outside_scope", None
    bad = {e["field"] for e in mapped.errors}
    fields = {k: v for k, v in mapped.fields.items() if k not in bad}
    data = {"fields": fields, "attributes": mapped.attributes, "departments": departments}
    problems = "; ".join(e["message"] for e in mapped.errors if e["kind"] != "no_mobile") or None
    return writer.upsert_account(target, userid, data)[1], problems


def apply_pending(conn: DingTalkConnection) -> dict[str, int]:
    """Apply this connection's stored events in order (one process at a time); counts by outcome."""
    outcomes: dict[str, int] = {}
    with leader.hold(f"dingtalk-events:{conn.name}", wait=True):
        while True:
            events = list(
                db.session.scalars(
                    select(SyncEvent)
                    .where(
                        SyncEvent.connection == conn.name,
                        SyncEvent.status.in_(("pending", "approved")),
                    )
                    .order_by(SyncEvent.id)
                    .limit(BATCH)
                )
            )
            if not events:
                return outcomes
            _apply_batch(conn, events, outcomes)


def _apply_batch(
    conn: DingTalkConnection, events: list[SyncEvent], outcomes: dict[str, int]
) -> None:
    row = settings.get(conn)
    target = runs.target_of(conn, row)
    fresh = [e for e in events if e.status == "pending"]
    depts, users = _plan(fresh)
    leavers = [u for u, k in users.items() if k == "user_leave_org"]
    leaving = [u for u in leavers if find_reference(target.system, "account", u) is not None]
    # A mass deletion arrives as a stream of small batches: count the leavers applied in the
    # last PROTECTION_WINDOW too, and keep adding to a hold that is still open.
    recent = _recent_leavers(conn.name)
    limit = runs.deletion_limit(row, runs.active_imported(conn) + recent)
    open_hold = _open_hold(conn.name)
    if (
        (leaving and open_hold is not None)
        or len(leaving) + recent > limit
        or any(e.event_type == "org_remove" for e in fresh)
    ):
        held = [e for e in fresh if e.event_type in ("user_leave_org", "org_remove")]
        _hold(conn, held, len(leaving), limit, open_hold)
        events = [e for e in events if e not in held]
        depts, users = _plan(events)
    else:
        depts, users = _plan(events)
    ids = [e.id for e in events]
    errors: dict[str, str] = {}
    calls: Counter[str] = Counter()
    done_at: dict[str, datetime] = {}
    try:
        with clients.http_client(calls) as http:
            client = clients.for_sync(conn, http)
            for dept_id, kind in depts.items():
                try:
                    outcome = _apply_department(client, target, dept_id, kind)
                except DirectoryError as exc:
                    db.session.rollback()
                    outcome, errors[f"dept:{dept_id}"] = "failed", exc.message
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                done_at[f"dept:{dept_id}"] = utcnow()
            known = _listed(client, target, [u for u, k in users.items() if k != "user_leave_org"])
            for userid, kind in users.items():
                try:
                    outcome, problem = _apply_user(client, target, row, userid, kind, known)
                    if problem:
                        errors[f"user:{userid}"] = problem
                except DirectoryError as exc:
                    db.session.rollback()
                    outcome, errors[f"user:{userid}"] = "failed", exc.message
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                done_at[f"user:{userid}"] = utcnow()
    except DingTalkError as error:
        db.session.rollback()
        message = action_for(error)
        db.session.execute(
            update(SyncEvent).where(SyncEvent.id.in_(ids)).values(error=message[:1024])
        )
        db.session.commit()
        log.warning("DingTalk events of %s not applied: %s", conn.name, message)
        raise
    now = utcnow()
    _count_calls(conn.name, calls)
    problem = "; ".join(errors.values())[:1024] or None
    for event in events:
        # An event is applied when the last object it names is: that is when the directory
        # shows its change (events naming nothing count from the end of the batch).
        keys = [f"dept:{d}" for d in event.dept_ids or []] + [
            f"user:{u}" for u in event.user_ids or []
        ]
        stamps = [done_at[k] for k in keys if k in done_at]
        event.status, event.error = "applied", problem
        event.applied_at = max(stamps) if stamps else now
    db.session.commit()


def _count_calls(connection: str, calls: Counter[str]) -> None:
    """Add a batch's DingTalk calls to today's per-API count of the connection."""
    if not calls:
        return
    row = db.session.get(SyncSettings, connection, with_for_update=True)
    if row is None:
        return
    today = utcnow().date().isoformat()
    counts = dict(row.event_calls or {}) if row.calls_day == today else {}
    for api, n in calls.items():
        counts[api] = counts.get(api, 0) + n
    row.event_calls, row.calls_day = counts, today


class Applier:
    """A per-process background thread that applies stored events soon after they arrive."""

    def __init__(self, app: Flask, settle: float = 0.02) -> None:
        self.app = app
        self.settle = settle
        self.dirty: set[str] = set()
        self.wake = threading.Condition()
        self.thread: threading.Thread | None = None

    def notify(self, connection: str) -> None:
        """Ask for `connection`'s events to be applied (starts the thread on first use)."""
        with self.wake:
            self.dirty.add(connection)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.run, daemon=True, name="dingtalk-apply")
                self.thread.start()
            self.wake.notify()

    def run(self) -> None:
        """Wait for work; coalesce a burst for `settle` seconds; apply."""
        while True:
            with self.wake:
                while not self.dirty:
                    if not self.wake.wait(timeout=30):
                        self.thread = None
                        return
            time.sleep(self.settle)
            with self.wake:
                names, self.dirty = set(self.dirty), set()
            for name in names:
                with self.app.app_context():
                    try:
                        conn = connections.get(name)
                        if conn is not None:
                            apply_pending(conn)
                    except Exception:  # keep the thread alive; the events stay pending
                        log.exception("applying DingTalk events of %s failed", name)
                    finally:
                        db.session.remove()


def _queue_apply(connection: str) -> None:
    """Queue (in the caller's transaction) the engine job that applies `connection`'s stored
    events, unless one is already waiting: that one will see them too."""
    queued = db.session.scalars(
        select(Job.params).where(Job.kind == APPLY_JOB, Job.status == "queued")
    )
    if not any((params or {}).get("connection") == connection for params in queued):
        engine.enqueue(APPLY_JOB, {"connection": connection}, f"dingtalk:{connection}")


def _inline() -> bool:
    return bool(current_app.config["DINGTALK_SYNC_APPLY_INLINE"])


def notify(connection: str) -> None:
    """After storing: wake this process's applier thread when DINGTALK_SYNC_APPLY_INLINE is on
    (a single process with no worker); otherwise `store` has queued the engine job already."""
    if not _inline():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    applier = app.extensions.get("dingtalk_applier")
    if applier is None:
        applier = app.extensions["dingtalk_applier"] = Applier(app)
    applier.notify(connection)
