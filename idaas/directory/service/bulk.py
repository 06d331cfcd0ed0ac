"""Creating many accounts in one transaction (imports): same checks, events and audit rows.

Each account is validated like `create_account` (profile, memberships, custom attributes,
uniqueness against the directory and within the batch); if any is invalid nothing is written
and `ValidationFailed` names the first offender, so the caller can fall back to one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import gettext
from sqlalchemy import insert, select

from idaas.audit.models import AuditEvent
from idaas.audit.service import redact
from idaas.directory.errors import ValidationFailed
from idaas.directory.models import Account, Department, ExternalReference, Membership
from idaas.directory.normalise import email_key, username_key
from idaas.directory.service.accounts import _clean_profile
from idaas.directory.service.attributes import definitions, validate_values
from idaas.directory.service.unit import unit_of_work
from idaas.events.models import ChangeEvent
from idaas.events.service import check_origin
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
    ids: list[int] = []
    with unit_of_work():
        accounts = [
            Account(
                **{k: v for k, v in c.items() if k != "attributes"},
                username_key=username_key(c["username"]),
                email_key=email_key(c.get("email")),
                status="active",
                source=source,
                attributes=c["attributes"],
            )
            for c in cleaned
        ]
        db.session.add_all(accounts)
        db.session.flush()
        members: list[dict[str, Any]] = []
        references: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        now = utcnow()
        for account, spec, clean in zip(accounts, specs, cleaned, strict=True):
            mine = [
                {
                    "account_id": account.id,
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
                    "object_id": str(account.id),
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
            events.append(
                {
                    "object_type": "account",
                    "object_id": str(account.id),
                    "action": "created",
                    "origin": origin,
                    "version": 1,
                    "changes": changes,
                    "occurred_at": now,
                }
            )
            audits.append(
                {
                    "actor": origin[:128],
                    "action": "account.created",
                    "target_type": "account",
                    "target_id": str(account.id),
                    "outcome": "success",
                    "details": redact({"version": 1, "changes": changes}),
                    "occurred_at": now,
                    "ip": None,
                    "user_agent": None,
                }
            )
            ids.append(account.id)
        # Core executemany inserts: the same rows the ORM would write, without its per-object cost.
        for model, rows in (
            (Membership, members),
            (ExternalReference, references),
            (ChangeEvent, events),
            (AuditEvent, audits),
        ):
            if rows:
                db.session.execute(insert(model), rows)
    return ids
