"""Plain-dict views of directory objects for the CLI and JSON APIs."""

from __future__ import annotations

from typing import Any

from idaas.directory.models import (
    Account,
    AttributeDefinition,
    Department,
    ExternalIdentity,
    Group,
    Role,
)


def _iso(value: Any) -> str | None:
    """An ISO 8601 UTC timestamp (`Z`), or None."""
    return value.isoformat() + "Z" if value is not None else None


def department_to_dict(department: Department) -> dict[str, Any]:
    """A department as JSON-ready data."""
    return {
        "id": department.id,
        "name": department.name,
        "parent_id": department.parent_id,
        "path": department.path,
        "depth": department.depth,
        "sort_order": department.sort_order,
        "source": department.source,
        "attributes": department.attributes,
        "version": department.version,
        "created_at": _iso(department.created_at),
        "updated_at": _iso(department.updated_at),
    }


def account_to_dict(account: Account) -> dict[str, Any]:
    """An account as JSON-ready data (never the password hash)."""
    return {
        "id": account.id,
        "uuid": account.uuid,
        "username": account.username,
        "display_name": account.display_name,
        "email": account.email,
        "mobile": account.mobile,
        "employee_number": account.employee_number,
        "title": account.title,
        "status": account.status,
        "locale": account.locale,
        "source": account.source,
        "must_change_password": account.must_change_password,
        "has_password": account.password_hash is not None,
        "password_changed_at": _iso(account.password_changed_at),
        "memberships": [
            {
                "department_id": m.department_id,
                "is_primary": m.is_primary,
                "sort_order": m.sort_order,
                "title": m.title,
            }
            for m in sorted(account.memberships, key=lambda m: (not m.is_primary, m.department_id))
        ],
        "attributes": account.attributes,
        "version": account.version,
        "created_at": _iso(account.created_at),
        "updated_at": _iso(account.updated_at),
    }


def group_to_dict(group: Group) -> dict[str, Any]:
    """A group as JSON-ready data."""
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "source": group.source,
        "version": group.version,
        "created_at": _iso(group.created_at),
        "updated_at": _iso(group.updated_at),
    }


def role_to_dict(role: Role) -> dict[str, Any]:
    """A role and its permissions as JSON-ready data."""
    return {
        "id": role.id,
        "code": role.code,
        "name": role.name,
        "description": role.description,
        "permissions": [{"resource": p.resource, "action": p.action} for p in role.permissions],
        "version": role.version,
        "created_at": _iso(role.created_at),
        "updated_at": _iso(role.updated_at),
    }


def definition_to_dict(definition: AttributeDefinition) -> dict[str, Any]:
    """An attribute definition as JSON-ready data."""
    return {
        "id": definition.id,
        "target": definition.target,
        "key": definition.key,
        "label": definition.label,
        "type": definition.type,
        "required": definition.required,
        "unique": definition.unique,
        "editable": definition.editable,
        "enabled": definition.enabled,
        "options": list(definition.options or []),
        "sort_order": definition.sort_order,
        "version": definition.version,
    }


def identity_to_dict(identity: ExternalIdentity) -> dict[str, Any]:
    """A linked external identity (a DingTalk user bound to the account) as JSON-ready data."""
    return {
        "id": identity.id,
        "provider": identity.provider,
        "tenant": identity.tenant,
        "subject": identity.subject,
        "union_id": identity.union_id,
        "linked_via": identity.linked_via,
        "linked_at": _iso(identity.linked_at),
        "last_used_at": _iso(identity.last_used_at),
    }
