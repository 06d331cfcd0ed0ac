"""Write DingTalk's departments and people into the directory, idempotently, via its service.

Every function can be repeated after a crash: objects are found by their external reference
(`dingtalk:<corpId>`, as `auth/binding.py` reads it) before anything is created, and a department
created just before a crash (without its reference yet) is recognised by name and source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from idaas.directory import service as directory
from idaas.directory.errors import DirectoryError, ValidationFailed
from idaas.directory.models import Account, Department, ExternalReference
from idaas.directory.service import bulk
from idaas.extensions import db


@dataclass
class Target:
    """Where and as whom a connection writes."""

    origin: str
    system: str
    root_external_id: str
    target_department_id: int | None
    initial_password: str | None = None
    leavers: str = "disable"


def _reference(target: Target, object_type: str, external_id: str) -> int | None:
    ref = directory.find_reference(target.system, object_type, external_id)
    return int(ref.object_id) if ref is not None else None


def department_id_of(target: Target, external_id: str | None) -> int | None:
    """Our department for a DingTalk dept_id (the start department -> the target department)."""
    if external_id is None or external_id == target.root_external_id:
        return target.target_department_id
    return _reference(target, "department", external_id)


def _orphan(target: Target, name: str, parent_id: int | None) -> int | None:
    """A department we created under `parent_id` whose reference a crash left unwritten."""
    parent = (
        Department.parent_id.is_(None) if parent_id is None else Department.parent_id == parent_id
    )
    candidate = db.session.scalar(
        select(Department.id).where(
            parent, Department.name == name, Department.source == target.origin
        )
    )
    if candidate is None or directory.reference_of(target.system, "department", candidate):
        return None
    return int(candidate)


def upsert_department(target: Target, external_id: str, data: dict[str, Any]) -> tuple[int, str]:
    """Create, rename or move one department; returns (our id, what happened)."""
    parent_ext = data.get("parent_external_id")
    parent_id = department_id_of(target, parent_ext)
    if parent_ext is not None and parent_id is None:
        raise ValidationFailed({"parent_id": f"parent department {parent_ext} is not imported"})
    ours = _reference(target, "department", external_id)
    if ours is None:
        ours = _orphan(target, data["name"], parent_id)
        if ours is None:
            created = directory.create_department(
                target.origin,
                name=data["name"],
                parent_id=parent_id,
                source=target.origin,
            )
            ours = created.id
        directory.set_reference(target.origin, target.system, "department", ours, external_id)
        return ours, "created"
    current = directory.get_department(ours)
    what = "unchanged"
    if current.parent_id != parent_id:
        directory.move_department(target.origin, ours, parent_id)
        what = "moved"
    # listsub (§4.1) carries no `order`, so the sort order stays idaas's own.
    fields = {"name": data["name"]} if current.name != data["name"] else {}
    if fields:
        directory.update_department(target.origin, ours, **fields)
        what = "updated" if what == "unchanged" else what
    return ours, what


def remove_department(target: Target, external_id: str) -> str:
    """A department deleted in DingTalk: delete ours when it is empty, else keep it (reported)."""
    ours = _reference(target, "department", external_id)
    if ours is None:
        return "unchanged"
    try:
        directory.delete_department(target.origin, ours)
    except DirectoryError:
        return "kept"
    return "deleted"


def _memberships(target: Target, departments: list[str]) -> list[dict[str, Any]]:
    specs: list[dict[str, Any]] = []
    for ext in departments:
        ours = department_id_of(target, ext)
        if ours is not None and all(s["department_id"] != ours for s in specs):
            specs.append({"department_id": ours, "is_primary": not specs})
    return specs


def upsert_account(target: Target, userid: str, data: dict[str, Any]) -> tuple[int, str]:
    """Create or update one person (fields, memberships, attributes, re-enable)."""
    fields = {k: v for k, v in data["fields"].items() if k != "username"}
    memberships = _memberships(target, data.get("departments") or [])
    attributes = data.get("attributes") or {}
    ours = _reference(target, "account", userid)
    if ours is None:
        username = data["fields"]["username"]
        taken = directory.find_by_identifier(username)
        if taken is not None and taken.username == username:
            username = f"dt-{username}"[:64]
        password = target.initial_password
        account = directory.create_account(
            target.origin,
            username=username,
            memberships=memberships,
            attributes=attributes or None,
            source=target.origin,
            references={target.system: userid},
            password=password,
            must_change_password=True if password else None,
            **fields,
        )
        return account.id, "created"
    account = directory.get_account(ours)
    changes: dict[str, Any] = {k: v for k, v in fields.items() if getattr(account, k) != v}
    current = sorted((m.department_id, m.is_primary) for m in account.memberships)
    if sorted((m["department_id"], m["is_primary"]) for m in memberships) != current:
        changes["memberships"] = memberships
    if attributes and any(account.attributes.get(k) != v for k, v in attributes.items()):
        changes["attributes"] = attributes
    what = "unchanged"
    if changes:
        directory.update_account(target.origin, ours, **changes)
        what = "moved" if set(changes) == {"memberships"} else "updated"
    if account.status != "active":
        directory.set_status(target.origin, ours, "active")
        what = "updated"
    return ours, what


def active_accounts(target: Target, userids: list[str]) -> set[str]:
    """Which of these DingTalk userids are imported accounts that are active."""
    refs = references(target, "account", userids)
    active: set[str] = set()
    ids = sorted(refs.values())
    for start in range(0, len(ids), 500):
        active |= {
            str(i)
            for i in db.session.scalars(
                select(Account.id).where(
                    Account.id.in_(ids[start : start + 500]), Account.status == "active"
                )
            )
        }
    return {userid for userid, ours in refs.items() if str(ours) in active}


def patch_account(target: Target, userid: str, fields: dict[str, Any]) -> str:
    """Change some profile fields of an imported person (what an event's diffInfo carried)."""
    ours = _reference(target, "account", userid)
    if ours is None:
        return "unchanged"
    account = directory.get_account(ours)
    changes = {k: v for k, v in fields.items() if getattr(account, k) != v}
    if not changes:
        return "unchanged"
    directory.update_account(target.origin, ours, **changes)
    return "updated"


def leave_account(target: Target, userid: str) -> str:
    """A person left DingTalk: disable (sessions and DingTalk links end through the signal)."""
    ours = _reference(target, "account", userid)
    if ours is None:
        return "unchanged"
    account = db.session.get(Account, ours)
    if account is None or account.status == "disabled":
        return "unchanged"
    directory.set_status(target.origin, ours, "disabled")
    return "disabled"


def references(target: Target, object_type: str, external_ids: list[str] | None) -> dict[str, int]:
    """external id -> our id for this connection's references (all of them when ids is None)."""
    query = select(ExternalReference).where(
        ExternalReference.system == target.system, ExternalReference.object_type == object_type
    )
    found: dict[str, int] = {}
    chunks = (
        [None]
        if external_ids is None
        else [external_ids[i : i + 500] for i in range(0, len(external_ids), 500)]
    )
    for chunk in chunks:
        narrowed = query if chunk is None else query.where(ExternalReference.external_id.in_(chunk))
        found |= {r.external_id: int(r.object_id) for r in db.session.scalars(narrowed)}
    return found


def create_departments_bulk(target: Target, items: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Create many new departments (parents first) in one write; returns the ids done
    (ValidationFailed when any is invalid: the caller then goes one by one)."""
    existing = references(target, "department", [e for e, _ in items])
    known = references(target, "department", None)
    specs: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for external_id, data in items:
        if external_id in existing or external_id in index:
            continue
        parent_ext = data.get("parent_external_id")
        spec: dict[str, Any] = {"name": data["name"], "references": {target.system: external_id}}
        if parent_ext is None or parent_ext == target.root_external_id:
            spec["parent_id"] = target.target_department_id
        elif parent_ext in index:
            spec["parent"] = index[parent_ext]
        elif parent_ext in known:
            spec["parent_id"] = known[parent_ext]
        else:
            raise ValidationFailed({"parent_id": f"parent department {parent_ext} is not imported"})
        index[external_id] = len(specs)
        specs.append(spec)
    if specs:
        bulk.create_departments(target.origin, specs, source=target.origin)
    return list(index)


def create_accounts_bulk(target: Target, items: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Create many new people in one write; returns the userids done (ValidationFailed
    when any is invalid: the caller then goes one by one). An initial password is hashed (and
    checked against the policy) per person, so that mode goes one by one."""
    if not items or target.initial_password:
        return []
    existing = references(target, "account", [u for u, _ in items])
    departments = references(target, "department", None)
    specs = []
    done = []
    for userid, data in items:
        if userid in existing:
            continue
        memberships: list[dict[str, Any]] = []
        for ext in data.get("departments") or []:
            ours = (
                target.target_department_id
                if ext == target.root_external_id
                else departments.get(ext)
            )
            if ours is not None and all(m["department_id"] != ours for m in memberships):
                memberships.append({"department_id": ours, "is_primary": not memberships})
        specs.append(
            {
                **data["fields"],
                "memberships": memberships,
                "attributes": data.get("attributes") or None,
                "references": {target.system: userid},
            }
        )
        done.append(userid)
    if specs:
        bulk.create_accounts(target.origin, specs, source=target.origin)
    return done
