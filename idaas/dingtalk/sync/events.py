"""DingTalk events: stored first (before the answer or the ack), then applied in order.

Application coalesces whatever is pending for a connection: one `department/get` per changed
department, one `user/get` per changed person (§4.2, §4.6), none for a person who left. A batch
that would disable more people than delete protection allows is held for an administrator.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
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
from idaas.directory.models import Membership
from idaas.directory.service import find_reference
from idaas.directory.service.unit import atomic, savepoint
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
    queue: bool = True,
) -> bool:
    """Store one event (commits; with the job that will apply it unless `queue` is off, see
    `notify` and `apply_soon`); False when the same event or request was stored before.

    Raises `Replayed` when `replay_key` (an HTTP push's timestamp and nonce) was seen already:
    the unique (connection, replay_key) refuses the insert, so a new push costs one INSERT.
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
    try:
        db.session.add(row)
        if status == "pending" and queue and not _inline():
            _queue_apply(connection)  # in the same commit as the event
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


def _apply_department(target: writer.Target, dept_id: int, dept: dict[str, Any] | None) -> str:
    """Write one department as DingTalk returned it (None: removed or no longer there)."""
    if dept is None:
        return writer.remove_department(target, str(dept_id))
    parent = int(dept.get("parent_id") or 0)
    if str(parent) != target.root_external_id and not _in_scope(target, parent):
        return "outside_scope"
    data = {
        "name": str(dept.get("name") or "")[:128],
        "parent_external_id": None if str(parent) == target.root_external_id else str(parent),
    }
    return writer.upsert_department(target, str(dept_id), data)[1]


def _fetch_departments(client: Any, depts: dict[int, str]) -> dict[int, dict[str, Any] | None]:
    """One `department/get` per changed department (None when it was removed)."""
    found: dict[int, dict[str, Any] | None] = {}
    for dept_id, kind in depts.items():
        if kind == "org_dept_remove":
            found[dept_id] = None
            continue
        try:
            found[dept_id] = client.get_department(dept_id)
        except NotFound:
            found[dept_id] = None
    return found


def _chunks(items: list[Any], size: int = 500) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _listing_plan(target: writer.Target, userids: list[str]) -> dict[str, set[str]]:
    """Departments worth reading whole (§4.5: 100 people a page): those where the pages cost
    fewer calls than one `user/get` per changed person in them; dept external id -> userids."""
    accounts = {
        ours: userid for userid, ours in writer.references(target, "account", userids).items()
    }
    home: dict[int, int] = {}  # account -> its primary department, where it is looked for
    wanted: dict[int, set[str]] = {}
    for chunk in _chunks(list(accounts)):
        for account_id, department_id in db.session.execute(
            select(Membership.account_id, Membership.department_id)
            .where(Membership.account_id.in_(chunk))
            .order_by(Membership.is_primary.desc())
        ):
            if account_id not in home:
                home[account_id] = department_id
                wanted.setdefault(department_id, set()).add(accounts[account_id])
    crowded = [d for d, people in wanted.items() if len(people) > 1]
    sizes: dict[int, int] = {}
    for chunk in _chunks(crowded):
        sizes |= dict(
            db.session.execute(
                select(Membership.department_id, func.count())
                .where(Membership.department_id.in_(chunk))
                .group_by(Membership.department_id)
            )
            .tuples()
            .all()
        )
    external = {ours: ext for ext, ours in writer.references(target, "department", None).items()}
    if target.target_department_id is not None:
        external.setdefault(target.target_department_id, target.root_external_id)
    return {
        external[d]: wanted[d]
        for d in crowded
        if d in external and sizes.get(d, 0) // 100 + 1 < len(wanted[d])
    }


def _fetch_users(
    client: Any, target: writer.Target, userids: list[str]
) -> dict[str, dict[str, Any] | None]:
    """The changed people as DingTalk has them now (None: no longer there): whole departments
    by `user/list` pages where that costs fewer calls, one `user/get` for everyone else."""
    found: dict[str, dict[str, Any] | None] = {}
    for dept, people in _listing_plan(target, userids).items():
        for user in client.iter_users(int(dept)):
            if str(user["userid"]) in people:
                found.setdefault(str(user["userid"]), user)
    for userid in userids:
        if userid in found:
            continue
        try:
            found[userid] = client.get_user(userid)
        except NotFound:
            found[userid] = None
    return found


#: A DingTalk user field -> the account field `map_user` puts it in.
MAPPED_AS = {
    "name": "display_name",
    "job_number": "employee_number",
    "title": "title",
    "email": "email",
    "org_email": "email",
}
#: diffInfo keys (§6.5) that need no fetch: they map straight onto an account field.
DIFF_FIELDS = {"name": "name", "jobNumber": "job_number", "title": "title"}
#: diffInfo keys the account does not use (without attribute rules, which may read any field).
DIFF_UNUSED = {"workPlace", "hiredDate", "managerUserid", "telephone", "remark", "avatar"}


def _diff_of(event: SyncEvent, userid: str) -> dict[str, Any] | None:
    """The `curr` of a user_modify_org's diffInfo about `userid` alone, else None."""
    payload = event.payload or {}
    diff = payload.get("diffInfo", payload.get("DiffInfo"))
    if isinstance(diff, str):
        try:
            diff = json.loads(diff)
        except ValueError:
            return None
    if (
        event.event_type != "user_modify_org"
        or list(event.user_ids or []) != [userid]
        or not isinstance(diff, dict)
        or str(diff.get("userid") or userid) != userid
        or not isinstance(diff.get("curr"), dict)
    ):
        return None
    return dict(diff["curr"])


def _patches(
    events: list[SyncEvent], users: dict[str, str], row: SyncSettings, target: writer.Target
) -> dict[str, dict[str, Any]]:
    """Account fields per changed person that the events' diffInfo carries in full, so no
    fetch is needed: every event about them in the batch is a user_modify_org whose diffInfo
    names only fields that map straight onto the account (or that it does not use), and the
    account is imported and active."""
    if row.mapping:
        return {}
    email_key = "orgEmail" if row.email_field == "org_email" else "email"
    other_email = "email" if email_key == "orgEmail" else "orgEmail"
    direct = {**DIFF_FIELDS, email_key: row.email_field}
    merged: dict[str, dict[str, Any]] = {}
    refused: set[str] = set()
    for event in events:
        for userid in map(str, event.user_ids or []):
            if userid in refused or users.get(userid) != "user_modify_org":
                continue
            curr = _diff_of(event, userid)
            if curr is None or set(curr) - set(direct) - DIFF_UNUSED - {other_email}:
                refused.add(userid)
                merged.pop(userid, None)
                continue
            merged.setdefault(userid, {}).update(
                {direct[k]: v for k, v in curr.items() if k in direct}
            )
    active = writer.active_accounts(target, list(merged))
    patches: dict[str, dict[str, Any]] = {}
    for userid, curr in merged.items():
        if userid not in active:
            continue
        mapped = map_user({"userid": userid, **curr}, row.email_field, [])
        wanted = {MAPPED_AS[k] for k in curr}
        bad = {e["field"] for e in mapped.errors}
        patches[userid] = {k: v for k, v in mapped.fields.items() if k in wanted - bad}
    return patches


def _apply_user(
    target: writer.Target, row: Any, userid: str, user: dict[str, Any] | None
) -> tuple[str, str | None]:
    """Write one person as DingTalk returned them (None: left or no longer there)."""
    if user is None:
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


WAITING = ("pending", "approved")


def connections_waiting() -> list[str]:
    """Names of the connections with stored events not applied yet."""
    waiting = select(SyncEvent.connection).where(SyncEvent.status.in_(WAITING)).distinct()
    return list(db.session.scalars(waiting))


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
                        SyncEvent.status.in_(WAITING),
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
    """Read what the batch changed from DingTalk (no transaction open meanwhile), then write
    it all, and mark the events applied, in one transaction: each object in a savepoint, so
    one refused object fails alone."""
    row = settings.get(conn)
    target = runs.target_of(conn, row)
    fresh = [e for e in events if e.status == "pending"]
    depts, users = _plan(fresh)
    leavers = [u for u, k in users.items() if k == "user_leave_org"]
    leaving = [u for u in leavers if find_reference(target.system, "account", u) is not None]
    removing = any(e.event_type == "org_remove" for e in fresh)
    if leaving or removing:  # only leavers can be held: a batch without any skips the counts
        # A mass deletion arrives as a stream of small batches: count the leavers applied in
        # the last PROTECTION_WINDOW too, and keep adding to a hold that is still open.
        recent = _recent_leavers(conn.name)
        limit = runs.deletion_limit(row, runs.active_imported(conn) + recent)
        open_hold = _open_hold(conn.name)
        if (open_hold is not None) or len(leaving) + recent > limit or removing:
            held = [e for e in fresh if e.event_type in ("user_leave_org", "org_remove")]
            _hold(conn, held, len(leaving), limit, open_hold)
            events = [e for e in events if e not in held]
    depts, users = _plan(events)
    ids = [e.id for e in events]
    patches = _patches(events, users, row, target)
    errors: dict[str, str] = {}
    calls: Counter[str] = Counter()
    db.session.commit()  # no snapshot or lock held while DingTalk answers
    try:
        with clients.http_client(calls) as http:
            client = clients.for_sync(conn, http)
            dept_data = _fetch_departments(client, depts)
            fetch = [u for u, k in users.items() if k != "user_leave_org" and u not in patches]
            user_data = _fetch_users(client, target, fetch)
    except DingTalkError as error:
        db.session.rollback()
        message = action_for(error)
        for chunk in _chunks(ids):
            db.session.execute(
                update(SyncEvent).where(SyncEvent.id.in_(chunk)).values(error=message[:1024])
            )
        db.session.commit()
        log.warning("DingTalk events of %s not applied: %s", conn.name, message)
        raise

    def attempt(key: str, write: Any) -> None:
        try:
            with savepoint():
                outcome, problem = write()
        except DirectoryError as exc:
            outcome, problem = "failed", exc.message
        if problem:
            errors[key] = problem
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    with atomic():
        for dept_id in depts:
            attempt(
                f"dept:{dept_id}",
                lambda d=dept_id: (_apply_department(target, d, dept_data[d]), None),
            )
        for userid, kind in users.items():
            if kind == "user_leave_org":
                attempt(f"user:{userid}", lambda u=userid: (writer.leave_account(target, u), None))
            elif userid in patches:
                attempt(
                    f"user:{userid}",
                    lambda u=userid: (writer.patch_account(target, u, patches[u]), None),
                )
            else:
                attempt(
                    f"user:{userid}",
                    lambda u=userid: _apply_user(target, row, u, user_data[u]),
                )
        _count_calls(conn.name, calls)
        problem = "; ".join(errors.values())[:1024] or None
        now = utcnow()
        for chunk in _chunks(ids):
            db.session.execute(
                update(SyncEvent)
                .where(SyncEvent.id.in_(chunk))
                .values(status="applied", error=problem, applied_at=now)
                .execution_options(synchronize_session=False)
            )


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


def apply_soon(app: Flask, connection: str) -> None:
    """After an answer is sent: queue the job that applies `connection`'s stored events (or
    wake the in-process applier). Should this process die first, the next event's job or the
    scheduled `dingtalk.events` sweep (every 5 minutes by default) applies what is stored."""
    with app.app_context():
        try:
            if _inline():
                notify(connection)
                return
            _queue_apply(connection)
            db.session.commit()
        except Exception:  # the event is stored; the answer is sent: nothing to undo
            log.exception("queueing the DingTalk events of %s failed", connection)
        finally:
            db.session.remove()


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
