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
from idaas.serialise import columns, iso

STAMPS = "created_at updated_at"


def department_to_dict(department: Department) -> dict[str, Any]:
    """A department as JSON-ready data."""
    return columns(
        department,
        "id name parent_id path depth sort_order source attributes version",
        times=STAMPS,
    )


def account_to_dict(account: Account) -> dict[str, Any]:
    """An account as JSON-ready data (never the password hash)."""
    memberships = sorted(account.memberships, key=lambda m: (not m.is_primary, m.department_id))
    return {
        **columns(
            account,
            "id uuid username display_name email mobile employee_number title status locale "
            "source must_change_password",
        ),
        "has_password": account.password_hash is not None,
        "password_changed_at": iso(account.password_changed_at),
        "memberships": [
            columns(m, "department_id is_primary sort_order title") for m in memberships
        ],
        **columns(account, "attributes manager_id version", times=STAMPS),
    }


def group_to_dict(group: Group) -> dict[str, Any]:
    """A group as JSON-ready data."""
    return columns(group, "id name description source version", times=STAMPS)


def role_to_dict(role: Role) -> dict[str, Any]:
    """A role and its permissions as JSON-ready data."""
    return {
        **columns(role, "id code name description"),
        "permissions": [columns(p, "resource action") for p in role.permissions],
        **columns(role, "version", times=STAMPS),
    }


def definition_to_dict(definition: AttributeDefinition) -> dict[str, Any]:
    """An attribute definition as JSON-ready data."""
    return {
        **columns(definition, "id target key label type required unique editable enabled"),
        "options": list(definition.options or []),
        **columns(definition, "sort_order version"),
    }


def identity_to_dict(identity: ExternalIdentity) -> dict[str, Any]:
    """A linked external identity (a DingTalk user bound to the account) as JSON-ready data."""
    return columns(
        identity, "id provider tenant subject union_id linked_via", times="linked_at last_used_at"
    )
