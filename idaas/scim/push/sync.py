"""Full sync of one target: a dry-run diff of the target against the directory, then its apply.

`plan` reads every resource the target holds (paged lists) and compares it with what the
directory says it should hold: each object is `created`, `updated`, `deactivated`, `deleted`
(deprovisioning by choice), `unchanged` or `failed` (the mapping refused it, with the
reason). `apply` pushes exactly the planned objects, in plan order, through the same code
as the real-time deliveries, and counts what it did; both run as engine jobs with progress.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select

from idaas.directory.models import Account, Department, Group, GroupMember, Membership
from idaas.extensions import db
from idaas.scim.push import log, push, resources, scope
from idaas.scim.push.client import Session
from idaas.scim.push.models import ProvisionedObject, ProvisioningTarget

OPERATIONS = ("created", "updated", "deactivated", "deleted", "unchanged", "failed")
Progress = Callable[[int, int], None]


def _values(items: Any) -> list[str]:
    return sorted(str(i.get("value") or "").lower() for i in items or [] if isinstance(i, dict))


def same(desired: dict[str, Any], remote: dict[str, Any]) -> bool:
    """Whether the target's resource already says what we would send (our attributes only)."""
    for key, value in desired.items():
        if key in ("schemas", "members"):
            continue
        theirs = remote.get(key)
        if key in ("emails", "phoneNumbers"):
            if _values(value) != _values(theirs):
                return False
        elif isinstance(value, dict):
            theirs = theirs if isinstance(theirs, dict) else {}
            if any(theirs.get(k) != v for k, v in value.items()):
                return False
        elif theirs != value and not (value in (None, "") and theirs in (None, "")):
            return False
    return True


def _accounts() -> Iterator[Account]:
    after = 0
    while True:
        batch = list(
            db.session.scalars(
                select(Account).where(Account.id > after).order_by(Account.id).limit(500)
            )
        )
        if not batch:
            return
        yield from batch
        after = batch[-1].id


def _remembered(target: ProvisioningTarget, object_type: str) -> dict[str, ProvisionedObject]:
    rows = db.session.scalars(
        select(ProvisionedObject).where(
            ProvisionedObject.target_id == target.id, ProvisionedObject.object_type == object_type
        )
    )
    return {row.object_id: row for row in rows}


class _Index:
    """A target's resources by id, externalId and name (lower-case)."""

    def __init__(self, rows: list[dict[str, Any]], name_attr: str) -> None:
        self.by_id = {str(r.get("id")): r for r in rows}
        self.by_external = {str(r["externalId"]): r for r in rows if r.get("externalId")}
        self.by_name = {str(r.get(name_attr) or "").lower(): r for r in rows}

    def find(
        self, row: ProvisionedObject | None, external_id: str, name: str
    ) -> dict[str, Any] | None:
        return (
            (self.by_id.get(row.remote_id) if row else None)
            or self.by_external.get(external_id)
            or self.by_name.get(name.lower())
        )


def _item(
    object_type: str, object_id: object, name: str, operation: str, **more: Any
) -> dict[str, Any]:
    return {"type": object_type, "id": str(object_id), "name": name, "op": operation, **more}


def _plan_accounts(
    target: ProvisioningTarget, users: _Index, items: list[dict[str, Any]]
) -> dict[int, str]:
    """Plan the accounts; return account id -> externalId of those the target will hold."""
    remembered = _remembered(target, "account")
    holding: dict[int, str] = {}
    for account in _accounts():
        row = remembered.pop(str(account.id), None)
        if not scope.account_in_scope(target, account):
            if row is not None and (target.deprovision == "delete" or _active(users, row)):
                operation = "deleted" if target.deprovision == "delete" else "deactivated"
                items.append(_item("account", account.id, account.username, operation))
            continue
        try:
            body = resources.user_body(target, account)
        except resources.MappingRefused as refused:
            items.append(
                _item("account", account.id, account.username, "failed", error=str(refused))
            )
            continue
        holding[account.id] = account.uuid
        remote = users.find(row, account.uuid, str(body.get("userName") or ""))
        operation = (
            "created" if remote is None else ("unchanged" if same(body, remote) else "updated")
        )
        items.append(_item("account", account.id, str(body.get("userName")), operation))
    for object_id, row in remembered.items():  # deleted from the directory since
        if target.deprovision == "delete" or _active(users, row):
            operation = "deleted" if target.deprovision == "delete" else "deactivated"
            items.append(_item("account", object_id, row.name, operation))
    return holding


def _active(users: _Index, row: ProvisionedObject) -> bool:
    remote = users.by_id.get(row.remote_id)
    return remote is not None and remote.get("active", True) is not False


def _plan_groups(
    target: ProvisioningTarget,
    kind: str,
    objects: list[tuple[int, str, list[int]]],
    remote: _Index,
    external_of_remote_user: dict[str, str],
    holding: dict[int, str],
    items: list[dict[str, Any]],
) -> None:
    remembered = _remembered(target, kind)
    for object_id, name, member_ids in objects:
        row = remembered.pop(str(object_id), None)
        external_id = resources.group_external_id(kind, object_id)
        found = remote.find(row, external_id, name)
        if found is None:
            items.append(_item(kind, object_id, name, "created"))
            continue
        wanted = sorted(holding[m] for m in member_ids if m in holding)
        theirs = sorted(
            external_of_remote_user.get(str(m.get("value")), "?")
            for m in found.get("members") or []
        )
        unchanged = found.get("displayName") == name and (
            kind == "department" and target.departments == "custom" or wanted == theirs
        )
        items.append(_item(kind, object_id, name, "unchanged" if unchanged else "updated"))
    for gone_id, row in remembered.items():
        if remote.by_id.get(row.remote_id) is not None:
            items.append(_item(kind, gone_id, row.name, "deleted"))


def _member_lists(rows: Any) -> dict[int, list[int]]:
    """Account ids per group or department, from a select of (its id, account id)."""
    members: dict[int, list[int]] = {}
    for owner_id, account_id in db.session.execute(rows):
        members.setdefault(owner_id, []).append(account_id)
    return members


def _group_objects(target: ProvisioningTarget) -> list[tuple[int, str, list[int]]]:
    members = _member_lists(select(GroupMember.group_id, GroupMember.account_id))
    return [
        (g.id, g.name, members.get(g.id, []))
        for g in db.session.scalars(select(Group).order_by(Group.id))
        if scope.group_in_scope(target, g)
    ]


def _department_objects() -> list[tuple[int, str, list[int]]]:
    members = _member_lists(select(Membership.department_id, Membership.account_id))
    return [
        (d.id, d.name, members.get(d.id, []))
        for d in db.session.scalars(select(Department).order_by(Department.depth, Department.id))
    ]


def plan(target: ProvisioningTarget, session: Session) -> dict[str, Any]:
    """The dry-run diff: what a full sync would do to the target, object by object."""
    items: list[dict[str, Any]] = []
    user_rows = push.list_all(session, push.USERS) if target.users else []
    users = _Index(user_rows, "userName")
    external_of_remote_user = {str(r.get("id")): str(r.get("externalId") or "") for r in user_rows}
    holding = _plan_accounts(target, users, items) if target.users else {}
    if target.groups or target.departments == "groups":
        groups = _Index(push.list_all(session, push.GROUPS), "displayName")
        if target.groups:
            _plan_groups(
                target,
                "group",
                _group_objects(target),
                groups,
                external_of_remote_user,
                holding,
                items,
            )
        if target.departments == "groups":
            _plan_groups(
                target,
                "department",
                _department_objects(),
                groups,
                external_of_remote_user,
                holding,
                items,
            )
    if target.departments == "custom":
        departments = _Index(push.list_all(session, push.DEPARTMENTS), "displayName")
        _plan_groups(target, "department", _department_objects(), departments, {}, holding, items)
    counts = Counter(item["op"] for item in items)
    return {
        "counts": {op: counts.get(op, 0) for op in OPERATIONS},
        "items": [item for item in items if item["op"] != "unchanged"],
    }


def apply(
    target: ProvisioningTarget,
    planned: dict[str, Any],
    session: Session,
    *,
    start: int = 0,
    done: Callable[[int, Counter[str]], None] | None = None,
) -> Counter[str]:
    """Push exactly the planned objects (from item `start`); count the operations done.

    Each object commits on its own; `done(next_index, counts)` is called after each commit
    (the job saves its checkpoint there). A push that fails counts as `failed`.
    """
    counts: Counter[str] = Counter()
    items = planned.get("items") or []
    for index in range(start, len(items)):
        item = items[index]
        if item["op"] == "failed":
            counts["failed"] += 1
        else:
            try:
                operation = push.push(session, target, item["type"], item["id"])
                counts["updated" if operation == "reconciled" else operation] += 1
                log.record(session, item["type"], item["id"])
                db.session.commit()
            except Exception:
                db.session.rollback()
                counts["failed"] += 1
                log.record(session, item["type"], item["id"])
                db.session.commit()
        if done is not None:
            done(index + 1, counts)
    return counts
