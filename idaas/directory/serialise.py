"""Plain-dict views of directory objects for the CLI and JSON APIs."""

from __future__ import annotations

from typing import Any

from idaas.directory.models import Account, Department


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
        "created_at": department.created_at.isoformat() + "Z",
        "updated_at": department.updated_at.isoformat() + "Z",
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
        "password_changed_at": (
            account.password_changed_at.isoformat() + "Z" if account.password_changed_at else None
        ),
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
        "created_at": account.created_at.isoformat() + "Z",
        "updated_at": account.updated_at.isoformat() + "Z",
    }
