"""Compare a DingTalk snapshot with the directory: the rows a preview shows (issue 15 item 2).

Rows come out in apply order: departments parents first, then people, then disables.
Nothing here writes to the directory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from idaas.dingtalk.sync.mapping import MappedUser, map_user
from idaas.dingtalk.sync.models import SyncSettings
from idaas.dingtalk.sync.snapshot import Snapshot
from idaas.directory.models import Account, Department, ExternalReference, Membership
from idaas.directory.normalise import email_key
from idaas.extensions import db

ACCOUNT_FIELDS = ("display_name", "email", "mobile", "employee_number", "title")
UNIQUE_FIELDS = {
    "email": "email_taken",
    "mobile": "mobile_taken",
    "employee_number": "employee_number_taken",
}


@dataclass
class PlannedRow:
    """One change the import would make."""

    object_type: str
    external_id: str
    action: str
    object_id: int | None
    name: str | None
    data: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


def references(system: str, object_type: str) -> dict[str, int]:
    """external id -> our object id, for every reference of `system` (one query)."""
    rows = db.session.execute(
        select(ExternalReference.external_id, ExternalReference.object_id).where(
            ExternalReference.system == system, ExternalReference.object_type == object_type
        )
    )
    return {ext: int(obj) for ext, obj in rows}


def department_rows(
    snap: Snapshot, settings: SyncSettings, dept_refs: dict[str, int]
) -> list[PlannedRow]:
    """Creates, updates and moves of departments, parents before children."""
    rows: list[PlannedRow] = []
    ids = list(dept_refs.values())
    existing = (
        {d.id: d for d in db.session.scalars(select(Department).where(Department.id.in_(ids)))}
        if ids
        else {}
    )
    for dept_id in snap.order:
        d = snap.departments[dept_id]
        parent_ext = d["parent_id"]
        data = {
            "name": d["name"][:128],
            "parent_external_id": None if parent_ext == snap.root else str(parent_ext),
        }
        errors = []
        if dept_id in snap.refused:
            errors.append(
                {"kind": "outside_scope", "field": "dept_id", "message": snap.refused[dept_id]}
            )
        ours = dept_refs.get(str(dept_id))
        current = existing.get(ours) if ours is not None else None
        if current is None:
            rows.append(
                PlannedRow(
                    "department", str(dept_id), "create", None, data["name"], data, [], errors
                )
            )
            continue
        want_parent = (
            settings.target_department_id
            if data["parent_external_id"] is None
            else dept_refs.get(data["parent_external_id"], -1)
        )
        changes = [k for k in ("name",) if getattr(current, k) != data[k]]
        moved = current.parent_id != want_parent
        if moved:
            rows.append(
                PlannedRow(
                    "department",
                    str(dept_id),
                    "move",
                    current.id,
                    data["name"],
                    data,
                    [*changes, "parent_id"],
                    errors,
                )
            )
        elif changes or errors:
            rows.append(
                PlannedRow(
                    "department",
                    str(dept_id),
                    "update",
                    current.id,
                    data["name"],
                    data,
                    changes,
                    errors,
                )
            )
    return rows


def _account_index() -> dict[str, dict[Any, int]]:
    """Who uses each email key, mobile and employee number now (one query)."""
    index: dict[str, dict[Any, int]] = {"email": {}, "mobile": {}, "employee_number": {}}
    for account_id, ekey, mobile, number in db.session.execute(
        select(Account.id, Account.email_key, Account.mobile, Account.employee_number)
    ):
        if ekey:
            index["email"][ekey] = account_id
        if mobile:
            index["mobile"][mobile] = account_id
        if number:
            index["employee_number"][number] = account_id
    return index


def _key(name: str, value: Any) -> Any:
    return email_key(value) if name == "email" else value


def account_rows(
    snap: Snapshot,
    settings: SyncSettings,
    account_refs: dict[str, int],
    dept_refs: dict[str, int],
    active_total: int,
) -> list[PlannedRow]:
    """Creates, updates, moves and disables of people, with each invalid row's reasons."""
    rows: list[PlannedRow] = []
    index = _account_index()
    ids = list(account_refs.values())
    accounts: dict[int, Account] = {}
    memberships: dict[int, set[int]] = {}
    for chunk in range(0, len(ids), 5000):
        part = ids[chunk : chunk + 5000]
        for a in db.session.execute(
            select(Account).where(Account.id.in_(part)).execution_options(populate_existing=True)
        ).scalars():
            accounts[a.id] = a
        for account_id, department_id in db.session.execute(
            select(Membership.account_id, Membership.department_id).where(
                Membership.account_id.in_(part)
            )
        ):
            memberships.setdefault(account_id, set()).add(department_id)
    claimed: dict[str, dict[Any, str]] = {name: {} for name in UNIQUE_FIELDS}
    for userid, user in snap.users.items():
        mapped: MappedUser = map_user(user, settings.email_field, settings.mapping or [])
        ours = account_refs.get(userid)
        dept_ext = [str(d) for d in mapped.dept_ids if snap.in_scope(d)]
        if not dept_ext:
            mapped.error(
                "outside_scope",
                "dept_id_list",
                gettext("None of this person's departments is inside the imported scope."),
            )
        for name, kind in UNIQUE_FIELDS.items():
            value = _key(name, mapped.fields.get(name))
            if not value:
                continue
            owner = index[name].get(value)
            first = claimed[name].setdefault(value, userid)
            if (owner is not None and owner != ours) or first != userid:
                mapped.error(
                    kind,
                    name,
                    gettext(
                        "%(value)s is already used by another account.",
                        value=mapped.fields.get(name),
                    ),
                )
        data = {
            "fields": mapped.fields,
            "attributes": mapped.attributes,
            "departments": dept_ext,
            "unionid": mapped.unionid,
        }
        display = mapped.fields.get("display_name")
        if ours is None or ours not in accounts:
            rows.append(
                PlannedRow("account", userid, "create", None, display, data, [], mapped.errors)
            )
            continue
        account = accounts[ours]
        changes = [
            k
            for k in ACCOUNT_FIELDS
            if k in mapped.fields and getattr(account, k) != mapped.fields[k]
        ]
        if mapped.attributes and any(
            account.attributes.get(k) != v for k, v in mapped.attributes.items()
        ):
            changes.append("attributes")
        if account.status != "active":
            changes.append("status")
        want = {dept_refs.get(d, -1) for d in dept_ext if d != str(snap.root)}
        if str(snap.root) in dept_ext and settings.target_department_id is not None:
            want.add(settings.target_department_id)
        moved = want != memberships.get(account.id, set())
        if changes:
            rows.append(
                PlannedRow(
                    "account",
                    userid,
                    "update",
                    account.id,
                    name,
                    data,
                    [*changes, *(["memberships"] if moved else [])],
                    mapped.errors,
                )
            )
        elif moved:
            rows.append(
                PlannedRow(
                    "account",
                    userid,
                    "move",
                    account.id,
                    name,
                    data,
                    ["memberships"],
                    mapped.errors,
                )
            )
    for userid, ours in account_refs.items():
        if userid in snap.users:
            continue
        leaver = accounts.get(ours)
        if leaver is None or leaver.status != "active":
            continue
        if snap.refused and memberships.get(ours, set()) & {
            dept_refs.get(str(d), -1) for d in snap.refused
        }:
            continue  # listed nowhere because DingTalk refused their department: keep
        rows.append(
            PlannedRow("account", userid, "disable", ours, leaver.display_name, {}, ["status"])
        )
    return rows


def counts(rows: list[PlannedRow] | list[Any]) -> dict[str, Any]:
    """Per object type and action, plus invalid rows by kind."""
    by_action = Counter(f"{r.object_type}.{r.action}" for r in rows)
    kinds = Counter(e["kind"] for r in rows for e in r.errors)
    return {
        "actions": dict(by_action),
        "invalid": sum(1 for r in rows if r.errors),
        "invalid_by_kind": dict(kinds),
    }
