"""Admin roles as directory data: four built-in roles whose permissions say what each may do.

An admin role is an ordinary directory role with a reserved code (`idaas.*`) and permissions
`("idaas", <permission>)`; a person's console permissions are the union of the permissions of
the admin roles assigned to them, read from the database on every request (so a revoke takes
effect on the next click, on every process). The super admin keeps the `idaas.admin` code that
`idaas init` has always assigned, so existing installations keep their administrator.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idaas import audit
from idaas.directory import service
from idaas.directory.bootstrap import ADMIN_ROLE
from idaas.directory.errors import DirectoryError, NotFound
from idaas.directory.models import Account, Permission, Role, RoleAssignment
from idaas.extensions import db

RESOURCE = "idaas"

#: Console permissions (the `action` of an `("idaas", action)` permission).
PERMISSIONS: dict[str, object] = {
    "admin": _l("Everything, including granting admin roles"),
    "directory.read": _l("See departments, accounts, groups, roles and attributes"),
    "directory.write": _l("Change departments, accounts, groups, roles and attributes"),
    "applications.read": _l("See applications, API clients and integration requests"),
    "applications.write": _l("Change applications, API clients and integration requests"),
    "settings.read": _l("See sign-in settings, auth sources and signing keys"),
    "settings.write": _l("Change sign-in settings and auth sources, rotate signing keys"),
    "audit.read": _l("Read the audit log"),
    "audit.export": _l("Export the audit log"),
}


@dataclass(frozen=True)
class AdminRole:
    """One built-in admin role: its key, reserved role code, label and permissions."""

    key: str
    code: str
    name: str
    label: object
    permissions: tuple[str, ...]
    #: OAuth scopes this role stands for when its holder calls /api/v1 from the console.
    api_scopes: tuple[str, ...]


ROLES: dict[str, AdminRole] = {
    role.key: role
    for role in (
        AdminRole(
            "super_admin",
            ADMIN_ROLE,
            "Administrator",
            _l("Super admin"),
            ("admin",),
            (
                "directory:read",
                "directory:write",
                "audit:read",
                "clients:admin",
                "applications:admin",
                "jobs:admin",
                "settings:admin",
            ),
        ),
        AdminRole(
            "directory_admin",
            "idaas.directory_admin",
            "Directory administrator",
            _l("Directory admin"),
            ("directory.read", "directory.write", "audit.read"),
            # jobs:admin: the console follows the DingTalk import jobs it starts.
            ("directory:read", "directory:write", "jobs:admin"),
        ),
        AdminRole(
            "application_admin",
            "idaas.application_admin",
            "Application administrator",
            _l("Application admin"),
            ("applications.read", "applications.write", "directory.read", "audit.read"),
            ("directory:read", "clients:admin", "applications:admin"),
        ),
        AdminRole(
            "auditor",
            "idaas.auditor",
            "Auditor",
            _l("Auditor"),
            (
                "directory.read",
                "applications.read",
                "settings.read",
                "audit.read",
                "audit.export",
            ),
            ("directory:read", "audit:read", "settings:read"),
        ),
    )
}
_BY_CODE = {role.code: role for role in ROLES.values()}


class AdminRoleError(DirectoryError):
    """A grant or revoke was refused (unknown role, not allowed, last super admin)."""


def ensure_role(origin: str, key: str) -> Role:
    """The directory role behind admin role `key`, created (with its permissions) on first use."""
    spec = ROLES[key]
    role = db.session.scalar(select(Role).where(Role.code == spec.code))
    if role is None:
        role = service.create_role(
            origin,
            code=spec.code,
            name=spec.name,
            description=f"Built-in idaas admin role ({spec.key}).",
            permissions=[(RESOURCE, p) for p in spec.permissions],
        )
    return role


def roles_of(account_id: int) -> list[AdminRole]:
    """The admin roles assigned to an account (one query)."""
    codes = db.session.scalars(
        select(Role.code)
        .join(RoleAssignment, RoleAssignment.role_id == Role.id)
        .where(RoleAssignment.account_id == account_id, Role.code.in_(list(_BY_CODE)))
    )
    return sorted((_BY_CODE[c] for c in codes), key=lambda r: list(ROLES).index(r.key))


def permissions_of(account_id: int) -> frozenset[str]:
    """The console permissions of an account: the `idaas:*` permissions of its admin roles."""
    actions = db.session.scalars(
        select(Permission.action)
        .join(Role, Role.id == Permission.role_id)
        .join(RoleAssignment, RoleAssignment.role_id == Role.id)
        .where(
            RoleAssignment.account_id == account_id,
            Permission.resource == RESOURCE,
            Role.code.in_(list(_BY_CODE)),
        )
    )
    return frozenset(actions)


def allows(permissions: frozenset[str], needed: str) -> bool:
    """Whether a permission set grants `needed` (`admin` grants everything)."""
    return "admin" in permissions or needed in permissions


def api_scopes_of(account_id: int) -> frozenset[str]:
    """The /api/v1 scopes an admin's console session stands for."""
    return frozenset(scope for role in roles_of(account_id) for scope in role.api_scopes)


def admins() -> list[tuple[Account, list[AdminRole]]]:
    """Every account holding an admin role, with its roles, by username."""
    rows = db.session.execute(
        select(Account, Role.code)
        .join(RoleAssignment, RoleAssignment.account_id == Account.id)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(Role.code.in_(list(_BY_CODE)))
        .order_by(Account.username_key)
    ).all()
    found: dict[int, tuple[Account, list[AdminRole]]] = {}
    for account, code in rows:
        found.setdefault(account.id, (account, []))[1].append(_BY_CODE[code])
    return list(found.values())


def _role(key: str) -> AdminRole:
    if key not in ROLES:
        raise AdminRoleError(
            gettext("Unknown admin role %(role)s.", role=key), {"role": gettext("Unknown role.")}
        )
    return ROLES[key]


def _super_admin_count() -> int:
    return len(
        list(
            db.session.scalars(
                select(RoleAssignment.account_id)
                .join(Role, Role.id == RoleAssignment.role_id)
                .where(Role.code == ADMIN_ROLE)
            )
        )
    )


def grant(origin: str, account_id: int, key: str) -> bool:
    """Give an account an admin role (the caller checked the granter is a super admin)."""
    _role(key)
    role = ensure_role(origin, key)
    account = service.get_account(account_id)
    changed = service.set_role_assignment(origin, role.id, account.id, True)
    if changed:
        audit.record(origin, "admin.role.granted", f"account:{account.id}", details={"role": key})
        db.session.commit()
    return changed


def revoke(origin: str, account_id: int, key: str) -> bool:
    """Take an admin role away; the last super admin cannot lose theirs."""
    _role(key)
    role = ensure_role(origin, key)
    if not db.session.get(RoleAssignment, (role.id, account_id)):
        if db.session.get(Account, account_id) is None:
            raise NotFound(gettext("Account %(id)s does not exist.", id=account_id))
        return False
    if key == "super_admin" and _super_admin_count() <= 1:
        raise AdminRoleError(
            gettext("This is the last super admin; grant the role to someone else first."),
            {"role": gettext("The last super admin cannot be removed.")},
        )
    service.set_role_assignment(origin, role.id, account_id, False)
    audit.record(origin, "admin.role.revoked", f"account:{account_id}", details={"role": key})
    db.session.commit()
    return True
