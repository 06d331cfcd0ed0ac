"""idaas directory objects <-> the contract's shapes (§4 account object, §5 nodes, §6 roles).

- `auid`/`employeeId`: 40 hex characters, the account's uuid (32 hex) plus an 8-hex check;
  stable for the account's life, opaque, and resolved without a lookup table.
- `organizationId`: 32 upper-case hex characters holding the department id.
- `roleCode`/`roleName`: the role's code and name.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import phonenumbers
from flask import current_app, request
from sqlalchemy import select

from idaas.directory import service as directory
from idaas.directory.errors import NotFound
from idaas.directory.models import Account, Department, Role, RoleAssignment
from idaas.extensions import db

_AUID = re.compile(r"^[0-9a-f]{40}$")
_ORG = re.compile(r"^[0-9A-Fa-f]{32}$")
MAX_ID = 2**31 - 1


def _check(hex_uuid: str) -> str:
    return hashlib.sha256(f"idaas-auid:{hex_uuid}".encode()).hexdigest()[:8]


def auid_of(account: Account) -> str:
    """The account's stable 40-hex employee id."""
    hex_uuid = uuid.UUID(account.uuid).hex
    return hex_uuid + _check(hex_uuid)


def uuid_of_auid(auid: str | None) -> str | None:
    """The account uuid inside an auid/employeeId (checksum verified), or None."""
    value = (auid or "").strip().lower()
    if not _AUID.match(value) or _check(value[:32]) != value[32:]:
        return None
    return str(uuid.UUID(value[:32]))


def account_by_auid(auid: str | None) -> Account | None:
    """The account behind an auid/employeeId, or None for anything else."""
    account_uuid = uuid_of_auid(auid)
    if account_uuid is None:
        return None
    try:
        return directory.get_account_by_uuid(account_uuid)
    except NotFound:
        return None


def org_id_of(department_id: int) -> str:
    """The 32-hex organisation id of a department."""
    return f"{department_id:032X}"


def department_id_of(organization_id: str | None) -> int | None:
    """The department id inside an organisation id, or None when it cannot be one."""
    value = (organization_id or "").strip()
    if not _ORG.match(value):
        return None
    number = int(value, 16)
    return number if 0 < number <= MAX_ID else None


def phone_out(mobile: str | None) -> str | None:
    """A stored E.164 mobile as people write it: national digits at home, E.164 abroad."""
    if not mobile:
        return mobile
    try:
        number = phonenumbers.parse(mobile, None)
    except phonenumbers.NumberParseException:
        return mobile
    if phonenumbers.region_code_for_number(number) == current_app.config["DEFAULT_PHONE_REGION"]:
        return phonenumbers.national_significant_number(number)
    return mobile


def role_item(role: Role) -> dict[str, str]:
    """`{roleCode, roleName}`."""
    return {"roleCode": role.code, "roleName": role.name}


def admin_role_codes() -> list[str]:
    """Codes of the roles whose holders are the contract's `admin` (system administrators)."""
    return list(current_app.config["INDUSTRY_ADMIN_ROLES"])


def main_account_id() -> int | None:
    """The tenant's main account (主账号): configured username, else the first administrator."""
    if "idaas.industry.main" not in request.environ:
        configured = current_app.config["INDUSTRY_MAIN_ACCOUNT"]
        found: int | None = None
        if configured:
            account = directory.find_by_identifier(str(configured))
            found = account.id if account is not None else None
        else:
            found = db.session.scalar(
                select(RoleAssignment.account_id)
                .join(Role, Role.id == RoleAssignment.role_id)
                .where(Role.code.in_(admin_role_codes()))
                .order_by(RoleAssignment.account_id)
                .limit(1)
            )
        request.environ["idaas.industry.main"] = found
    return request.environ["idaas.industry.main"]


def _roles_by_account(account_ids: Iterable[int]) -> dict[int, list[Role]]:
    ids = list(account_ids)
    found: dict[int, list[Role]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(
            select(RoleAssignment.account_id, Role)
            .join(Role, Role.id == RoleAssignment.role_id)
            .where(RoleAssignment.account_id.in_(ids))
            .order_by(Role.code)
        )
        for account_id, role in rows:
            found[account_id].append(role)
    return found


def _department_names(accounts: Sequence[Account]) -> dict[int, str]:
    ids = {m.department_id for a in accounts for m in a.memberships}
    if not ids:
        return {}
    rows = db.session.execute(select(Department.id, Department.name).where(Department.id.in_(ids)))
    return {department_id: name for department_id, name in rows}


def accounts_out(accounts: Sequence[Account]) -> list[dict[str, Any]]:
    """The full account objects (§4) of several accounts, with three queries in all."""
    roles = _roles_by_account(a.id for a in accounts)
    names = _department_names(accounts)
    admin_codes = set(admin_role_codes())
    main = main_account_id()
    result = []
    for account in accounts:
        memberships = sorted(account.memberships, key=lambda m: (not m.is_primary, m.sort_order))
        result.append(
            {
                "auid": auid_of(account),
                "nickName": account.display_name,
                "phone": phone_out(account.mobile),
                "email": account.email,
                "loginName": account.username,
                "workNumber": account.employee_number,
                "admin": any(r.code in admin_codes for r in roles[account.id]),
                "main": account.id == main,
                "roleList": [role_item(r) for r in roles[account.id]],
                "orgList": [
                    {
                        "organizationId": org_id_of(m.department_id),
                        "organizationName": names.get(m.department_id, ""),
                    }
                    for m in memberships
                ],
            }
        )
    return result


def account_out(account: Account, fields: Sequence[str] | None = None) -> dict[str, Any]:
    """One account object, optionally only the `fields` an endpoint documents."""
    full = accounts_out([account])[0]
    return full if fields is None else {name: full[name] for name in fields}
