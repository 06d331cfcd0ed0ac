"""Helpers: run an import end to end, and read the directory as DingTalk should see it."""

from __future__ import annotations

import math
import time
from typing import Any

from sqlalchemy import select

from idaas.dingtalk.sync import jobs, reconcile, runs
from idaas.directory.models import Account, Department, ExternalReference, Membership
from idaas.events.jobs import FINAL
from idaas.events.models import Job
from idaas.extensions import db
from tests.sandbox.fixtures import LiveSandbox


def _ran(run_id: int, job: Any) -> Any:
    """Run the engine job here (or wait for the worker that took it); the run as it ended."""
    if jobs.run_here(job) == "taken":
        deadline = time.monotonic() + 120
        while db.session.get(Job, job.id).status not in FINAL:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"job {job.id} did not end"
            db.session.rollback()
            db.session.expire_all()
            time.sleep(0.05)
    db.session.expire_all()
    return runs.get_run(run_id)


def preview(conn: Any, origin: str = "cli:test") -> Any:
    """A preview job, run to its end; the run."""
    run, job = runs.preview(origin, conn)
    return _ran(run.id, job)


def apply(run: Any, origin: str = "cli:test", *, accept_deletions: bool = False) -> Any:
    """Confirm a run and run its apply job to the end; the run."""
    return _ran(run.id, runs.apply(origin, run, accept_deletions=accept_deletions))


def reconcile_now(conn: Any, origin: str = "cli:test") -> Any:
    """A reconciliation job, run to its end; the run."""
    run, job = reconcile.reconcile(origin, conn)
    return _ran(run.id, job)


def full_import(conn: Any, origin: str = "cli:test") -> Any:
    """Preview, drop invalid rows, confirm and apply; return the run."""
    run = preview(conn, origin)
    assert run.status == "previewed", run.message
    runs.remove_invalid(origin, run)
    return apply(run, origin)


def expected_calls(sandbox: LiveSandbox, root: int = 1) -> dict[str, int]:
    """listsub once per department, user/list pages of 100 per department (§4.1, §4.5)."""
    state = sandbox.state
    depts = state.subtree_ids(root)
    pages = sum(max(1, math.ceil(len(state.members.get(d, [])) / 100)) for d in depts)
    return {"topapi/v2/department/listsub": len(depts), "topapi/v2/user/list": pages}


def directory_view(system: str) -> dict[str, Any]:
    """Departments and people as (DingTalk id -> fields), through the external references."""
    refs = {
        (r.object_type, r.object_id): r.external_id
        for r in db.session.scalars(
            select(ExternalReference).where(ExternalReference.system == system)
        )
    }
    dept_ext = {int(obj): ext for (kind, obj), ext in refs.items() if kind == "department"}
    departments = {}
    for d in db.session.scalars(select(Department)):
        if d.id in dept_ext:
            departments[dept_ext[d.id]] = {
                "name": d.name,
                "parent": dept_ext.get(d.parent_id) if d.parent_id else None,
            }
    people = {}
    members: dict[int, set[str]] = {}
    for account_id, department_id in db.session.execute(
        select(Membership.account_id, Membership.department_id)
    ):
        members.setdefault(account_id, set()).add(dept_ext.get(department_id, "?"))
    for a in db.session.scalars(select(Account)):
        ext = refs.get(("account", str(a.id)))
        if ext is None:
            continue
        people[ext] = {
            "name": a.display_name,
            "email": a.email,
            "mobile": a.mobile,
            "job": a.employee_number,
            "title": a.title,
            "status": a.status,
            "departments": members.get(a.id, set()),
        }
    return {"departments": departments, "people": people}


def sandbox_view(sandbox: LiveSandbox) -> dict[str, Any]:
    """The same view from the sandbox's own state (root department 1 has no idaas department)."""
    state = sandbox.state
    departments = {
        str(d.dept_id): {
            "name": d.name,
            "parent": str(d.parent_id) if d.parent_id not in (None, 1) else None,
        }
        for d in state.departments.values()
        if d.dept_id != 1
    }
    people = {}
    for u in state.users.values():
        people[u.userid] = {
            "name": u.name,
            "email": u.email,
            "mobile": f"+{u.state_code}{u.mobile}" if u.mobile else None,
            "job": u.job_number,
            "title": u.title,
            "status": "active",
            "departments": {str(d) for d in u.dept_id_list if d != 1},
        }
    return {"departments": departments, "people": people}


EVENT_TYPES = {
    "org_dept_create",
    "org_dept_modify",
    "org_dept_remove",
    "user_add_org",
    "user_modify_org",
    "user_leave_org",
    "user_active_org",
    "org_admin_add",
    "org_admin_remove",
    "org_change",
}


def every_change(sandbox: LiveSandbox) -> str:
    """Make a change of every §6.5 type in the sandbox (which fires its events); the leaver."""
    state = sandbox.state
    # Chosen before the new person exists: a random userid could sort before it and shift the pick
    # to someone the import left out.
    leaver = sorted(state.users)[9]
    dept = sandbox.post("/departments", {"name": "新部门", "parent_id": 1})
    sandbox.control.patch(f"/departments/{dept['dept_id']}", json={"name": "新部门二"})
    user = sandbox.post(
        "/users", {"name": "新人", "mobile": "13912345678", "dept_id_list": [dept["dept_id"]]}
    )
    sandbox.control.patch(
        f"/users/{user['userid']}", json={"title": "架构师", "email": "new@example.cn"}
    )
    some = sorted(state.users)[7]
    state.users[some].admin = True
    state.emit("org_admin_add", user_ids=[some])
    state.emit("org_admin_remove", user_ids=[some])
    state.emit("user_active_org", user_ids=[user["userid"]])
    state.emit("org_change")
    sandbox.control.delete(f"/users/{leaver}")
    empty = sandbox.post("/departments", {"name": "临时", "parent_id": 1})
    sandbox.control.delete(f"/departments/{empty['dept_id']}")
    return leaver
