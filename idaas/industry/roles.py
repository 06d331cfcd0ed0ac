"""Roles and their resource permissions (§6): idaas roles; resCodes are application permissions."""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idaas.directory import service as directory
from idaas.directory.models import Role
from idaas.extensions import db
from idaas.industry import errors, mapping, params
from idaas.industry.context import (
    Context,
    directory_errors,
    optional_app,
    preset_role,
    required_app,
    role,
    roles_by_code,
)

ACTION_NAMES = {"access": _l("Access")}


def new_role_code() -> str:
    """A fresh opaque role code (a letter then 32 hex digits: a valid idaas role code)."""
    return "r" + secrets.token_hex(16)


def add(ctx: Context) -> Any:
    """Create a role; its permissions are set with setroleperm (§6.1)."""
    required_app(ctx)
    name = params.required_text(ctx.params, "roleName")
    with directory_errors():
        created = directory.create_role(ctx.origin, code=new_role_code(), name=name)
    return created.code


def modify(ctx: Context) -> Any:
    """Rename a role (§6.2)."""
    required_app(ctx)
    target = role(params.required_text(ctx.params, "roleCode"))
    name = params.required_text(ctx.params, "roleName")
    with directory_errors():
        directory.update_role(ctx.origin, target.id, name=name)
    return target.code


def delete(ctx: Context) -> Any:
    """Delete a role; preset roles are refused with 403 (§6.3)."""
    required_app(ctx)
    target = role(params.required_text(ctx.params, "roleCode"))
    if preset_role(target):
        raise errors.Forbidden(gettext("This is a preset role; it cannot be deleted."))
    code = target.code
    with directory_errors():
        directory.delete_role(ctx.origin, target.id)
    return code


def list_all(ctx: Context) -> Any:
    """Every role (§6.4)."""
    optional_app(ctx)
    return [mapping.role_item(r) for r in db.session.scalars(select(Role).order_by(Role.code))]


def get_permissions(ctx: Context) -> Any:
    """The app's resource permissions of all or the listed roles, as a JSON string (§6.5)."""
    app_id = required_app(ctx)
    codes = params.json_string_list(ctx.params, "roleCodeList")
    if codes is None:
        roles = list(db.session.scalars(select(Role).order_by(Role.code)))
    else:
        roles = roles_by_code(codes, "roleCodeList")
    granted = directory.application_permissions(app_id, [r.id for r in roles])
    data_list = [
        {
            "roleCode": r.code,
            "roleName": r.name,
            "tenantId": app_id,
            "permList": [
                {
                    "resCode": resource,
                    "resName": resource,
                    "actionCode": action,
                    "actionName": str(ACTION_NAMES.get(action, action)),
                }
                for resource, action in granted.get(r.id, [])
            ],
        }
        for r in roles
    ]
    return json.dumps({"total": len(data_list), "dataList": data_list}, ensure_ascii=False)


def set_permissions(ctx: Context) -> Any:
    """Grant and revoke the app's resource codes on a role in one transaction (§6.6)."""
    app_id = required_app(ctx)
    target = role(params.required_text(ctx.params, "roleCode"))
    if preset_role(target):
        raise errors.Forbidden(gettext("The permissions of a preset role cannot be changed here."))
    grant = params.json_string_list(ctx.params, "appendResListStr") or []
    revoke = params.json_string_list(ctx.params, "canceledResListStr") or []
    with directory_errors():
        directory.set_application_permissions(
            ctx.origin, target.id, app_id, grant=grant, revoke=revoke
        )
    return target.code
