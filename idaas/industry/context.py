"""What every handler needs: the caller, its params, the app, the employee, error mapping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import exists, select

from idaas.applications.models import ApiClient, Application
from idaas.directory import service as directory
from idaas.directory.errors import DirectoryError, NotFound, SourceOwned, ValidationFailed
from idaas.directory.models import Account, Department, Role
from idaas.extensions import db
from idaas.industry import errors, mapping, params
from idaas.industry.auth import Caller

DINGTALK = "dingtalk"
# Directory field names -> the contract's parameter names, for error details.
FIELD_NAMES = {
    "display_name": "nickName",
    "mobile": "phone",
    "username": "loginName",
    "employee_number": "workNumber",
    "memberships": "organizationIds",
    "primary_department_id": "organizationIds",
}


@dataclass(frozen=True)
class Context:
    """One call: who made it and with which params."""

    caller: Caller
    params: dict[str, Any]

    @property
    def origin(self) -> str:
        """The change-event origin, `industry:<client_id>`."""
        return self.caller.origin


def _cache() -> Any:
    return current_app.extensions["industry"].directory


def known_app(app_id: str) -> bool:
    """Whether `app_id` names an idaas application or API client (cached per generation)."""

    def load() -> bool:
        application = exists().where(Application.client_id == app_id)
        api_client = exists().where(ApiClient.client_id == app_id)
        return bool(db.session.scalar(select(application | api_client)))

    return bool(_cache().get(("app", app_id), load))


def required_app(ctx: Context) -> str:
    """The required `appId`, which must name an application (460 otherwise)."""
    app_id = params.required_text(ctx.params, "appId")
    if not known_app(app_id):
        raise errors.ParameterError(f"appId: {gettext('Unknown application.')}")
    return app_id


def optional_app(ctx: Context, error: type[errors.IndustryError] = errors.ParameterError) -> None:
    """Check an optional `appId` (§2.4) when present."""
    app_id = params.text(ctx.params, "appId")
    if app_id is not None and not known_app(app_id):
        raise error(f"appId: {gettext('Unknown application.')}")


def employee_id(ctx: Context, name: str = "employeeId", *, required: bool = False) -> int | None:
    """The account id meant by `employeeId`, or by `source=DINGDING` + `corpId`/`userId` (§2.4).

    Returns None when the parameters name nobody; raises 460 for malformed parameters.
    """
    source = params.text(ctx.params, "source")
    if source is not None:
        source = source.upper()
        if source not in ("DINGDING", "SAAS"):
            raise errors.ParameterError(f"source: {gettext('Use DINGDING or SAAS.')}")
    if source == "DINGDING":
        corp_id = params.required_text(ctx.params, "corpId")
        user_id = params.required_text(ctx.params, "userId")

        def load_link() -> int | None:
            identity = directory.find_identity(DINGTALK, corp_id, user_id)
            return identity.account_id if identity is not None else None

        return _cache().get(("dingtalk", corp_id, user_id), load_link)
    value = params.text(ctx.params, name)
    if value is None and source == "SAAS":
        value = params.text(ctx.params, "userId")
    if value is None:
        if required:
            raise errors.ParameterError(f"{name}: {gettext('This parameter is required.')}")
        return None
    account_uuid = mapping.uuid_of_auid(value)
    if account_uuid is None:
        return None

    def load() -> int | None:
        return db.session.scalar(select(Account.id).where(Account.uuid == account_uuid))

    return _cache().get(("auid", account_uuid), load)


def account(account_id: int) -> Account | None:
    """The account by id, or None."""
    return db.session.get(Account, account_id)


def department(organization_id: str | None, name: str) -> Department:
    """The department behind an organisation id (460 when there is none)."""
    department_id = mapping.department_id_of(organization_id)
    found = db.session.get(Department, department_id) if department_id else None
    if found is None:
        raise errors.ParameterError(
            f"{name}: {gettext('The organization does not exist or was deleted.')}"
        )
    return found


def department_ids(organization_ids: list[str], name: str = "organizationIds") -> list[int]:
    """Department ids for organisation ids, all of which must exist (460 naming the others)."""
    ids = [mapping.department_id_of(value) for value in organization_ids]
    known = set(
        db.session.scalars(select(Department.id).where(Department.id.in_([i for i in ids if i])))
    )
    unknown = [value for value, i in zip(organization_ids, ids, strict=True) if i not in known]
    if unknown:
        raise errors.ParameterError(
            f"{name}: {gettext('Unknown organization: %(ids)s.', ids=', '.join(unknown[:10]))}"
        )
    return [i for i in ids if i is not None]


def roles_by_code(codes: list[str], name: str = "roleCodes") -> list[Role]:
    """Roles for codes, all of which must exist (460 naming the others)."""
    found = {r.code: r for r in db.session.scalars(select(Role).where(Role.code.in_(codes)))}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise errors.ParameterError(
            f"{name}: {gettext('Unknown role: %(codes)s.', codes=', '.join(unknown[:10]))}"
        )
    return [found[code] for code in codes]


def role(code: str, name: str = "roleCode") -> Role:
    """One role by code (460 when unknown)."""
    return roles_by_code([code], name)[0]


def preset_role(role: Role) -> bool:
    """Whether the role is one the API must not delete or re-permission (§6.3, §6.6)."""
    preset = set(current_app.config["INDUSTRY_PRESET_ROLES"]) | set(
        current_app.config["INDUSTRY_ADMIN_ROLES"]
    )
    return role.code in preset


@contextmanager
def directory_errors() -> Iterator[None]:
    """Turn directory-service refusals into the contract's codes (nothing was changed)."""
    try:
        yield
    except SourceOwned as exc:
        raise errors.Forbidden(exc.message) from None
    except ValidationFailed as exc:
        detail = "; ".join(f"{FIELD_NAMES.get(k, k)}: {v}" for k, v in exc.fields.items())
        raise errors.ParameterError(detail) from None
    except NotFound as exc:
        raise errors.ParameterError(exc.message) from None
    except DirectoryError as exc:
        raise errors.ServerError(exc.message) from None
