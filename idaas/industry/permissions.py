"""Permission checks (§7.1, §7.2), app administrators (§7.3) and the ecosystem account (§8.1).

The checks run on every request of a factory application, so an employee's grants in one app
(active?, admin?, resource codes) are cached per process and keyed by the cross-process cache
generation (`industry.generation`): any role, permission, assignment or account change, in any
process, moves the generation and the next check reloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select

from idaas.directory import service as directory
from idaas.directory.models import Account, ApplicationPermission, Role, RoleAssignment
from idaas.extensions import db
from idaas.industry import errors, mapping, params
from idaas.industry.context import DINGTALK, Context, account, employee_id, required_app

ADMIN_FIELDS = (
    "auid",
    "phone",
    "email",
    "nickName",
    "admin",
    "main",
    "workNumber",
    "roleList",
    "orgList",
)
ECOSYSTEM_TYPES = {"DINGDING", "DINGTALK"}


@dataclass(frozen=True)
class Grants:
    """What one employee may do in one application."""

    active: bool
    admin: bool
    resources: frozenset[str]

    def allows(self, code: str) -> bool:
        """Whether the employee may use the resource `code` (admins may use everything)."""
        return self.active and (self.admin or code in self.resources)


def _load_grants(account_id: int, app_id: str) -> Grants:
    """One indexed query: the account's status, its roles' codes and their resources here."""
    rows = db.session.execute(
        select(Account.status, Role.code, ApplicationPermission.resource)
        .select_from(Account)
        .outerjoin(RoleAssignment, RoleAssignment.account_id == Account.id)
        .outerjoin(Role, Role.id == RoleAssignment.role_id)
        .outerjoin(
            ApplicationPermission,
            (ApplicationPermission.role_id == RoleAssignment.role_id)
            & (ApplicationPermission.application == app_id),
        )
        .where(Account.id == account_id)
    ).all()
    admin_codes = set(mapping.admin_role_codes())
    return Grants(
        bool(rows) and rows[0].status == "active",
        any(row.code in admin_codes for row in rows),
        frozenset(row.resource for row in rows if row.resource is not None),
    )


def grants(account_id: int, app_id: str) -> Grants:
    """The employee's grants in the app (cached per generation)."""
    cache = current_app.extensions["industry"].permissions
    return cache.get(("grants", account_id, app_id), lambda: _load_grants(account_id, app_id))


def _employee(ctx: Context) -> int:
    found = employee_id(ctx, required=params.text(ctx.params, "source") is None)
    if found is None:
        raise errors.EmptyResult(gettext("No such employee."))
    return found


def check_one(ctx: Context) -> Any:
    """Whether the employee may use one resource code (§7.2)."""
    code = params.required_text(ctx.params, "resCode")
    app_id = required_app(ctx)
    return grants(_employee(ctx), app_id).allows(code)


def check_batch(ctx: Context) -> Any:
    """A JSON string mapping each resource code to whether the employee may use it (§7.1)."""
    app_id = required_app(ctx)
    codes = params.string_list(ctx.params, "resCodes", required=True) or []
    found = grants(_employee(ctx), app_id)
    return json.dumps({code: found.allows(code) for code in codes}, ensure_ascii=False)


def administrators(ctx: Context) -> Any:
    """The accounts holding an administrator role (§7.3)."""
    required_app(ctx)
    holders = list(
        db.session.scalars(
            select(Account)
            .where(
                Account.id.in_(
                    select(RoleAssignment.account_id)
                    .join(Role, Role.id == RoleAssignment.role_id)
                    .where(Role.code.in_(mapping.admin_role_codes()))
                )
            )
            .order_by(Account.id)
        )
    )
    return [{k: item[k] for k in ADMIN_FIELDS} for item in mapping.accounts_out(holders)]


def ecosystem_account(ctx: Context) -> Any:
    """The app's Ali-ecosystem account: the main account's DingTalk identity (§8.1).

    DingTalk is the Alibaba-ecosystem account idaas knows; `type` must name it (DINGDING).
    """
    required_app(ctx)
    kind = params.required_text(ctx.params, "type").upper()
    if kind not in ECOSYSTEM_TYPES:
        raise errors.ParameterError(f"type: {gettext('Use DINGDING.')}")
    main = mapping.main_account_id()
    holder = account(main) if main is not None else None
    if holder is None:
        raise errors.EmptyResult(gettext("No main account is configured."))
    identity = next((i for i in directory.identities_of(holder.id) if i.provider == DINGTALK), None)
    if identity is None:
        raise errors.EmptyResult(gettext("The main account has no DingTalk identity."))
    return {
        "aliId": identity.union_id or identity.subject,
        "userId": identity.subject,
        "nickName": holder.display_name,
    }
