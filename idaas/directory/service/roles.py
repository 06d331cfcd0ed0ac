"""Roles, their permissions (resource + action) and assignments to accounts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from idaas.directory.errors import NotFound, ValidationFailed
from idaas.directory.models import Permission, Role, RoleAssignment
from idaas.directory.normalise import InvalidValue, clean_text
from idaas.directory.service import unit
from idaas.directory.service.accounts import get_account
from idaas.directory.service.unit import (
    fetch,
    raise_if,
    record_change,
    set_account_link,
    unit_of_work,
)
from idaas.extensions import db

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
ASSIGNMENT_ACTIONS = ("assigned", "revoked")


def get_role(role_id: int) -> Role:
    """A role by id, or NotFound."""
    return fetch(Role, role_id, lazy_gettext("Role %(id)s does not exist."))


def list_roles() -> list[Role]:
    """All roles by code."""
    return list(db.session.scalars(select(Role).order_by(Role.code)))


def roles_of(account_id: int) -> list[Role]:
    """The roles an account holds."""
    query = (
        select(Role)
        .join(RoleAssignment, RoleAssignment.role_id == Role.id)
        .where(RoleAssignment.account_id == account_id)
        .order_by(Role.code)
    )
    return list(db.session.scalars(query))


def permissions_of(account_id: int) -> set[tuple[str, str]]:
    """Every (resource, action) the account's roles grant."""
    query = (
        select(Permission.resource, Permission.action)
        .join(RoleAssignment, RoleAssignment.role_id == Permission.role_id)
        .where(RoleAssignment.account_id == account_id)
    )
    return {(resource, action) for resource, action in db.session.execute(query)}


def _clean_permissions(permissions: Iterable[Any], errors: dict[str, str]) -> list[tuple[str, str]]:
    cleaned: set[tuple[str, str]] = set()
    for item in permissions:
        pair: list[Any]
        if isinstance(item, dict):
            pair = [item.get("resource"), item.get("action")]
        elif isinstance(item, str):
            pair = item.split(":", 1)
        elif isinstance(item, (list, tuple)):
            pair = list(item)
        else:
            pair = []
        if len(pair) != 2 or not all(isinstance(p, str) and CODE_PATTERN.match(p) for p in pair):
            errors["permissions"] = gettext(
                "Each permission is a resource and an action, like users:read."
            )
            return []
        cleaned.add((str(pair[0]), str(pair[1])))
    return sorted(cleaned)


def _clean(
    fields: dict[str, Any], errors: dict[str, str], exclude_id: int | None
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "code" in fields:
        code = str(fields["code"] or "").strip()
        if not CODE_PATTERN.match(code):
            errors["code"] = gettext(
                "Use lowercase letters, digits and . _ : -, starting with a letter."
            )
        else:
            query = select(Role.id).where(Role.code == code)
            if exclude_id is not None:
                query = query.where(Role.id != exclude_id)
            if db.session.scalar(query.limit(1)) is not None:
                errors["code"] = gettext("Another role already uses this code.")
        clean["code"] = code
    for name, limit in (("name", 128), ("description", 512)):
        if name in fields:
            try:
                clean[name] = clean_text(fields[name], limit)
            except InvalidValue as exc:
                errors[name] = str(exc)
    if "name" in clean and not clean["name"]:
        errors["name"] = gettext("A name is required.")
    return clean


# Roles whose code starts with this are idaas's own admin roles (idaas/admin/roles.py): only a
# super admin (or the CLI / the system itself) may create, change, assign or revoke them, so a
# directory admin or an API client cannot make itself a super admin.
RESERVED_PREFIX = "idaas."
SUPER_ADMIN_CODE = "idaas.admin"


def _may_manage_reserved(origin: str) -> bool:
    kind, _, ident = origin.partition(":")
    if origin == "system" or kind == "cli":
        return True
    if kind != "admin" or not ident.isdigit():
        return False
    held = db.session.scalar(
        select(RoleAssignment.role_id)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.account_id == int(ident), Role.code == SUPER_ADMIN_CODE)
        .limit(1)
    )
    return held is not None


def _check_reserved(origin: str, code: str | None) -> None:
    if code and code.startswith(RESERVED_PREFIX) and not _may_manage_reserved(origin):
        raise ValidationFailed(
            {"role": gettext("Only a super admin can change the built-in admin roles.")}
        )


def create_role(
    origin: str,
    *,
    code: str,
    name: str,
    description: str | None = None,
    permissions: Iterable[Any] = (),
) -> Role:
    """Create a role with its permissions."""
    _check_reserved(origin, code)
    errors: dict[str, str] = {}
    clean = _clean({"code": code, "name": name, "description": description}, errors, None)
    perms = _clean_permissions(permissions, errors)
    raise_if(errors)
    with unit_of_work():
        role = Role(**clean)
        role.permissions = [Permission(resource=r, action=a) for r, a in perms]
        db.session.add(role)
        db.session.flush()
        record_change(
            origin,
            "role",
            role.id,
            "created",
            role.version,
            {**clean, "permissions": [f"{r}:{a}" for r, a in perms]},
        )
    return role


def update_role(
    origin: str, role_id: int, *, expected_version: int | None = None, **fields: Any
) -> Role:
    """Change a role's code, name, description or permissions."""
    unit.refuse_unknown_fields(fields, {"code", "name", "description", "permissions"})
    with unit.writing(get_role, role_id, expected_version) as role:
        _check_reserved(origin, role.code)
        _check_reserved(origin, fields.get("code"))
        errors: dict[str, str] = {}
        changes = {
            k: v for k, v in _clean(fields, errors, role.id).items() if getattr(role, k) != v
        }
        if "permissions" in fields:
            perms = _clean_permissions(fields["permissions"] or [], errors)
            if perms != sorted((p.resource, p.action) for p in role.permissions):
                role.permissions.clear()
                db.session.flush()
                role.permissions.extend(Permission(resource=r, action=a) for r, a in perms)
                changes["permissions"] = [f"{r}:{a}" for r, a in perms]
        raise_if(errors)
        for name, value in changes.items():
            if name != "permissions":
                setattr(role, name, value)
        unit.record_new_version(origin, "role", role, "updated", changes)
    return role


def delete_role(origin: str, role_id: int, *, expected_version: int | None = None) -> None:
    """Delete a role and its assignments."""
    with unit.writing(get_role, role_id, expected_version) as role:
        _check_reserved(origin, role.code)
        db.session.delete(role)
        record_change(origin, "role", role_id, "deleted", role.version + 1, {"code": role.code})


def set_role_assignment(origin: str, role_id: int, account_id: int, assigned: bool) -> bool:
    """Assign (`assigned=True`) or revoke a role; return whether anything changed."""
    with unit_of_work():
        role = get_role(role_id)
        _check_reserved(origin, role.code)
        get_account(account_id)
        return set_account_link(
            origin, "role", role, RoleAssignment, account_id, assigned, ASSIGNMENT_ACTIONS
        )


def set_roles_of(origin: str, account_id: int, role_ids: Iterable[int]) -> bool:
    """Make the account hold exactly `role_ids`, in one transaction; return whether it changed."""
    wanted = set(role_ids)
    with unit_of_work():
        get_account(account_id)
        roles = {
            role.id: role for role in db.session.scalars(select(Role).where(Role.id.in_(wanted)))
        }
        missing = sorted(wanted - set(roles))
        if missing:
            raise NotFound(gettext("Role %(id)s does not exist.", id=missing[0]))
        held = set(
            db.session.scalars(
                select(RoleAssignment.role_id).where(RoleAssignment.account_id == account_id)
            )
        )
        changed = False
        for role_id in sorted(wanted ^ held):
            role = roles.get(role_id) or get_role(role_id)
            changed |= set_account_link(
                origin,
                "role",
                role,
                RoleAssignment,
                account_id,
                role_id in wanted,
                ASSIGNMENT_ACTIONS,
            )
    return changed
