"""Employees (§4): add, query, get, modify, delete, through `directory.service`."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select

from idaas.directory import service as directory
from idaas.directory.errors import DirectoryError, SourceOwned
from idaas.directory.models import Account
from idaas.directory.service.unit import check_writable
from idaas.extensions import db
from idaas.industry import errors, mapping, params
from idaas.industry.context import (
    Context,
    account,
    department,
    department_ids,
    directory_errors,
    employee_id,
    optional_app,
    required_app,
    role,
    roles_by_code,
)

ADD_FIELDS = ("auid", "phone", "email", "nickName", "loginName", "orgList", "roleList")
GET_FIELDS = ("auid", "phone", "email", "nickName", "admin", "main", "workNumber", "loginName")
MODIFY_FIELDS = ("auid", "nickName", "phone", "email", "orgList", "roleList")


def _username_for(phone: str) -> str:
    """A login name from the phone number when none is given (digits only, a valid username)."""
    return re.sub(r"\D", "", phone) or phone


def add(ctx: Context) -> Any:
    """Create an employee with its organisations and roles (§4.1)."""
    p = ctx.params
    required_app(ctx)
    phone = params.required_text(p, "phone")
    nick_name = params.required_text(p, "nickName")
    email = params.text(p, "email")
    login_name = params.text(p, "loginName")
    work_number = params.text(p, "workNumber")
    org_ids = department_ids(params.string_list(p, "organizationIds") or [])
    roles = roles_by_code(params.string_list(p, "roleCodes") or [])
    with directory_errors():
        created = directory.create_account(
            ctx.origin,
            username=login_name or _username_for(phone),
            display_name=nick_name,
            email=email,
            mobile=phone,
            employee_number=work_number,
            memberships=org_ids,
        )
        if roles:
            try:
                directory.set_roles_of(ctx.origin, created.id, [r.id for r in roles])
            except DirectoryError:
                directory.delete_account(ctx.origin, created.id)
                raise
    return mapping.account_out(created, ADD_FIELDS)


def query(ctx: Context) -> Any:
    """A page of employees by keyword, organisation and role (§4.2)."""
    p = ctx.params
    optional_app(ctx)
    keyword, org, role_code = (params.text(p, k) for k in ("keyWord", "organizationId", "roleCode"))
    page_no = params.integer(p, "pageNo", default=1, low=1, high=1_000_000)
    limit = int(current_app.config["INDUSTRY_PAGE_SIZE_MAX"])
    page_size = params.integer(p, "pageSize", default=10, low=1, high=limit)
    department_id = department(org, "organizationId").id if org else None
    role_id = role(role_code).id if role_code else None
    statement = directory.accounts_query(q=keyword, department_id=department_id, role_id=role_id)
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    page = list(db.session.scalars(statement.offset((page_no - 1) * page_size).limit(page_size)))
    return {
        "total": int(total or 0),
        "pageNo": page_no,
        "pageSize": page_size,
        "data": mapping.accounts_out(page),
    }


def get(ctx: Context) -> Any:
    """One employee, or the tenant's main account when no employee is named (§4.3)."""
    optional_app(ctx, errors.TenantNotFound)
    named = any(params.text(ctx.params, k) for k in ("employeeId", "source"))
    if named:
        found = employee_id(ctx)
        if found is None:
            raise errors.UserNotExist()
    else:
        found = mapping.main_account_id()
        if found is None:
            raise errors.TenantNotFound(gettext("No main account is configured."))
    target = account(found)
    if target is None:
        raise errors.UserNotExist()
    return mapping.account_out(target, GET_FIELDS)


def modify(ctx: Context) -> Any:
    """Edit an employee; omitted optional fields and lists are kept, [] clears a list (§4.4)."""
    p = ctx.params
    required_app(ctx)
    target_id = employee_id(ctx, "auid", required=True)
    target = account(target_id) if target_id is not None else None
    if target is None:
        raise errors.UserNotExist()
    fields: dict[str, Any] = {
        "display_name": params.required_text(p, "nickName"),
        "mobile": params.required_text(p, "phone"),
    }
    for name, field in (
        ("email", "email"),
        ("loginName", "username"),
        ("workNumber", "employee_number"),
    ):
        if name in p:
            fields[field] = params.text(p, name)
    organization_ids = params.string_list(p, "organizationIds")
    if organization_ids is not None:
        fields["memberships"] = department_ids(organization_ids)
    role_codes = params.string_list(p, "roleCodes")
    roles = roles_by_code(role_codes) if role_codes is not None else None
    with directory_errors():
        updated = directory.update_account(ctx.origin, target.id, **fields)
        if roles is not None:
            directory.set_roles_of(ctx.origin, target.id, [r.id for r in roles])
    db.session.expire_all()
    return mapping.account_out(directory.get_account(updated.id), MODIFY_FIELDS)


def delete(ctx: Context) -> Any:
    """Delete employees; all must exist and be editable here, or nothing is deleted (§4.5)."""
    required_app(ctx)
    auids = params.string_list(ctx.params, "auids", required=True) or []
    targets: list[tuple[str, Account]] = []
    unknown = []
    for auid in auids:
        found = mapping.account_by_auid(auid)
        if found is None:
            unknown.append(auid)
        else:
            targets.append((auid, found))
    if unknown:
        raise errors.ParameterError(
            f"auids: {gettext('Unknown employee: %(ids)s.', ids=', '.join(unknown[:10]))}"
        )
    for _, target in targets:
        try:
            check_writable(ctx.origin, target.source, "account", ["username"])
        except SourceOwned as exc:
            raise errors.Forbidden(exc.message) from None
    deleted = []
    with directory_errors():
        for auid, target in targets:
            directory.delete_account(ctx.origin, target.id)
            deleted.append(auid)
    return deleted
