"""Creating many accounts or departments in one transaction (imports): same checks, events
and audit rows.

Each object is validated like `create_account` / `create_department` (profile, memberships,
custom attributes, uniqueness against the directory and within the batch); if any is invalid
nothing is written and `ValidationFailed` names the first offender, so the caller can fall back
to one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import gettext
from sqlalchemy import delete, func, insert, select, update

from idaas.audit.models import AuditEvent
from idaas.audit.service import redact
from idaas.directory.errors import ValidationFailed
from idaas.directory.models import (
    LOCAL_SOURCE,
    Account,
    Department,
    ExternalReference,
    Membership,
)
from idaas.directory.normalise import email_key, username_key
from idaas.directory.service.accounts import _clean_profile
from idaas.directory.service.attributes import definitions, validate_values
from idaas.directory.service.departments import _clean_name
from idaas.directory.service.unit import unit_of_work
from idaas.events import targets
from idaas.events.models import ChangeEvent
from idaas.events.service import check_origin, fan_out_many
from idaas.extensions import db, utcnow

UNIQUE = ("username", "email", "mobile", "employee_number")


def _taken(column: Any, values: set[Any]) -> set[Any]:
    found: set[Any] = set()
    items = [v for v in values if v]
    for start in range(0, len(items), 500):
        found |= set(
            db.session.scalars(select(column).where(column.in_(items[start : start + 500])))
        )
    return found


def create_accounts(origin: str, specs: Sequence[dict[str, Any]], *, source: str) -> list[int]:
    """Create accounts from specs {username, display_name, email, mobile, employee_number, title,
    memberships: [{department_id, is_primary}], attributes, references: {system: id}}."""
    check_origin(origin)
    cleaned: list[dict[str, Any]] = []
    # With no custom attributes defined and none given there is nothing to validate: skip the
    # per-account look-up of the definitions.
    any_defined = bool(definitions("account", enabled_only=True))
    for index, spec in enumerate(specs):
        errors: dict[str, str] = {}
        clean = _clean_profile({k: spec.get(k) for k in (*UNIQUE, "display_name", "title")}, errors)
        given = spec.get("attributes") or {}
        values = (
            validate_values("account", given, errors, creating=True) if any_defined or given else {}
        )
        if errors:
            raise ValidationFailed({f"{index}.{k}": v for k, v in errors.items()})
        if not clean.get("display_name"):
            clean["display_name"] = clean["username"]
        cleaned.append({**clean, "attributes": values})
    keys: dict[str, tuple[Any, list[Any]]] = {
        "username": (Account.username_key, [username_key(c["username"]) for c in cleaned]),
        "email": (Account.email_key, [email_key(c.get("email")) for c in cleaned]),
        "mobile": (Account.mobile, [c.get("mobile") for c in cleaned]),
        "employee_number": (Account.employee_number, [c.get("employee_number") for c in cleaned]),
    }
    for name, (column, batch) in keys.items():
        present = [v for v in batch if v]
        if len(set(present)) != len(present) or _taken(column, set(present)):
            raise ValidationFailed({name: gettext("Another account already uses this value.")})
    departments = {m["department_id"] for s in specs for m in s.get("memberships") or []}
    if departments and len(_taken(Department.id, departments)) != len(departments):
        raise ValidationFailed({"memberships": gettext("Unknown department.")})
    with unit_of_work():
        rows = [
            {
                **{k: c.get(k) for k in (*UNIQUE, "display_name", "title")},
                "username_key": username_key(c["username"]),
                "email_key": email_key(c.get("email")),
                "status": "active",
                "source": source,
                "attributes": c["attributes"],
            }
            for c in cleaned
        ]
        # Matched back by username key: RETURNING in parameter order costs one statement a row
        # on SQLite.
        by_key: dict[str, int] = dict(
            db.session.execute(
                insert(Account.__table__).returning(Account.username_key, Account.id), rows
            )
            .tuples()
            .all()
        )
        ids = [int(by_key[r["username_key"]]) for r in rows]
        members: list[dict[str, Any]] = []
        references: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        now = utcnow()
        for account_id, spec, clean in zip(ids, specs, cleaned, strict=True):
            mine = [
                {
                    "account_id": account_id,
                    "department_id": m["department_id"],
                    "is_primary": bool(m.get("is_primary")),
                    "sort_order": 0,
                    "title": None,
                }
                for m in spec.get("memberships") or []
            ]
            members += mine
            references += [
                {
                    "system": system,
                    "object_type": "account",
                    "object_id": str(account_id),
                    "external_id": external_id,
                    "created_at": now,
                }
                for system, external_id in (spec.get("references") or {}).items()
            ]
            changes = {
                **{k: v for k, v in clean.items() if k != "attributes"},
                "status": "active",
                "memberships": [m["department_id"] for m in mine],
            }
            event, audit_row = _change_rows(origin, "account", account_id, changes, now)
            events.append(event)
            audits.append(audit_row)
        _insert(Membership, members)
        _insert(ExternalReference, references)
        _record(events, audits)
    return list(ids)


def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    # Core executemany inserts: the same rows the ORM would write, without its per-object cost.
    if rows:
        db.session.execute(insert(model.__table__), rows)


def _record(events: list[dict[str, Any]], audits: list[dict[str, Any]]) -> None:
    """The change events, fanned out to interested targets like `append_change`, and audits."""
    if events:
        # One event per object in a batch: the object id finds each event's id.
        ids: dict[str, int] = dict(
            db.session.execute(
                insert(ChangeEvent.__table__).returning(ChangeEvent.object_id, ChangeEvent.id),
                events,
            )
            .tuples()
            .all()
        )
        fan_out_many(
            ChangeEvent(id=ids[row["object_id"]], **row)
            for row in events
            if targets.interested(f"{row['object_type']}.{row['action']}")
        )
    _insert(AuditEvent, audits)


def _change_rows(
    origin: str,
    object_type: str,
    object_id: int,
    changes: dict[str, Any],
    now: Any,
    action: str = "created",
    version: int = 1,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The change event and audit row of one written object."""
    event = {
        "object_type": object_type,
        "object_id": str(object_id),
        "action": action,
        "origin": origin,
        "version": version,
        "changes": changes,
        "occurred_at": now,
    }
    audit_row = {
        "actor": origin[:128],
        "action": f"{object_type}.{action}",
        "target_type": object_type,
        "target_id": str(object_id),
        "outcome": "success",
        "details": redact({"version": version, "changes": changes}),
        "occurred_at": now,
        "ip": None,
        "user_agent": None,
    }
    return event, audit_row


def _sibling_names(parent_ids: set[int]) -> set[tuple[int | None, str]]:
    """(parent id, lower-case name) of the existing children of `parent_ids`."""
    found: set[tuple[int | None, str]] = set()
    items = sorted(parent_ids)
    for start in range(0, len(items), 500):
        chunk = items[start : start + 500]
        found |= {
            (parent, name)
            for parent, name in db.session.execute(
                select(Department.parent_id, func.lower(Department.name)).where(
                    Department.parent_id.in_(chunk)
                )
            )
        }
    return found


def create_departments(origin: str, specs: Sequence[dict[str, Any]], *, source: str) -> list[int]:
    """Create departments from specs {name, parent_id | parent (index of an earlier spec),
    references: {system: id}}; parents before children. Returns the new ids in spec order."""
    check_origin(origin)
    names: list[str] = []
    for index, spec in enumerate(specs):
        errors: dict[str, str] = {}
        name = _clean_name(spec.get("name"), errors)
        parent = spec.get("parent")
        if parent is not None and not 0 <= int(parent) < index:
            errors["parent_id"] = gettext("Unknown department.")
        if errors or name is None:
            raise ValidationFailed({f"{index}.{k}": v for k, v in errors.items()})
        names.append(name)
    existing = {s["parent_id"] for s in specs if s.get("parent") is None and s.get("parent_id")}
    parents = {
        d.id: d
        for start in range(0, len(sorted(existing)), 500)
        for d in db.session.scalars(
            select(Department).where(Department.id.in_(sorted(existing)[start : start + 500]))
        )
    }
    if len(parents) != len(existing):
        raise ValidationFailed({"parent_id": gettext("Unknown department.")})
    taken = _sibling_names(set(parents))
    if any(s.get("parent") is None and not s.get("parent_id") for s in specs):
        taken |= {
            (None, name)
            for name in db.session.scalars(
                select(func.lower(Department.name)).where(Department.parent_id.is_(None))
            )
        }
    generation: list[int] = []
    for spec in specs:
        up = spec.get("parent")
        generation.append(0 if up is None else generation[int(up)] + 1)
    seen: set[tuple[Any, str]] = set()
    created: dict[int, Department] = {}
    with unit_of_work():
        # Generation by generation: a new parent needs its id (one flush) before its children.
        for level in range(max(generation, default=-1) + 1):
            batch = [i for i, g in enumerate(generation) if g == level]
            for i in batch:
                spec, name = specs[i], names[i]
                up = spec.get("parent")
                above = (
                    created[int(up)] if up is not None else parents.get(spec.get("parent_id") or 0)
                )
                key = (above.id if above is not None else None, name.lower())
                if key in taken or key in seen:
                    raise ValidationFailed(
                        {"name": gettext("A department with this name already exists here.")}
                    )
                seen.add(key)
                created[i] = Department(
                    name=name,
                    parent_id=key[0],
                    path=above.path if above is not None else "/",
                    depth=(above.depth + 1) if above is not None else 0,
                    sort_order=0,
                    source=source,
                    attributes={},
                )
            db.session.add_all([created[i] for i in batch])
            db.session.flush()
            for i in batch:
                created[i].path = f"{created[i].path}{created[i].id}/"
        now = utcnow()
        references: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for i, spec in enumerate(specs):
            department = created[i]
            references += [
                {
                    "system": system,
                    "object_type": "department",
                    "object_id": str(department.id),
                    "external_id": external_id,
                    "created_at": now,
                }
                for system, external_id in (spec.get("references") or {}).items()
            ]
            event, audit_row = _change_rows(
                origin,
                "department",
                department.id,
                {"name": department.name, "parent_id": department.parent_id},
                now,
            )
            events.append(event)
            audits.append(audit_row)
        _insert(ExternalReference, references)
        _record(events, audits)
    return [created[i].id for i in range(len(specs))]


def release_source(origin: str, source: str, *, system: str) -> dict[str, int]:
    """Make every account and department of an external `source` local, and forget their ids
    in `system` (a removed connection): one change event and audit row per object."""
    check_origin(origin)
    counts: dict[str, int] = {}
    with unit_of_work():
        now = utcnow()
        events: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for object_type, model in (("account", Account), ("department", Department)):
            rows = list(
                db.session.execute(select(model.id, model.version).where(model.source == source))
            )
            refs = dict(
                db.session.execute(
                    select(ExternalReference.object_id, ExternalReference.external_id).where(
                        ExternalReference.system == system,
                        ExternalReference.object_type == object_type,
                    )
                )
                .tuples()
                .all()
            )
            db.session.execute(
                update(model)
                .where(model.source == source)
                .values(source=LOCAL_SOURCE, version=model.version + 1)
                .execution_options(synchronize_session=False)
            )
            for object_id, version in rows:
                changes = {"source": LOCAL_SOURCE, "external_id": refs.get(str(object_id))}
                event, audit_row = _change_rows(
                    origin, object_type, object_id, changes, now, "updated", version + 1
                )
                events.append(event)
                audits.append(audit_row)
            counts[object_type] = len(rows)
        db.session.execute(delete(ExternalReference).where(ExternalReference.system == system))
        _record(events, audits)
    db.session.expire_all()
    return counts
