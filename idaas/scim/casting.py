"""Pure casting between directory objects and SCIM resources (RFC 7643 §4, §8).

`*_to_scim` build a scim2-models resource from a directory object and the facts about it that
live in other tables (`UserFacts`, ...), loaded in bulk by `idaas.scim.facts`. `*_from_scim`
turn a validated resource into the keyword arguments of `directory.service`. No function here
touches the database or the request, so the SCIM push code can reuse them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext
from scim2_models import Meta

from idaas.directory.models import Account, Department, Group
from idaas.scim.resources import DEPARTMENT_SCHEMA as DEPARTMENT_SCHEMA_URN
from idaas.scim.resources import ENTERPRISE_SCHEMA as ENTERPRISE_SCHEMA_URN
from idaas.scim.resources import GROUP_SCHEMA as GROUP_SCHEMA_URN
from idaas.scim.resources import IDAAS_USER_SCHEMA as IDAAS_SCHEMA_URN
from idaas.scim.resources import USER_SCHEMA as USER_SCHEMA_URN
from idaas.scim.resources import (
    CustomAttribute,
    DepartmentMembership,
    DingTalkIdentity,
    Email,
    EnterpriseUser,
    GroupMember,
    IdaasUser,
    Manager,
    Name,
    ParentReference,
    PhoneNumber,
    UserGroup,
    UserResource,
)
from idaas.scim.resources import Department as ScimDepartment
from idaas.scim.resources import Group as ScimGroup


class CastError(ValueError):
    """A resource value the directory cannot hold; `path` names the attribute."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass
class UserFacts:
    """What a User representation needs besides the account row."""

    external_id: str | None = None
    groups: list[tuple[int, str]] = field(default_factory=list)
    departments: dict[int, str] = field(default_factory=dict)
    organization: str | None = None
    dingtalk: list[tuple[str, str, str | None]] = field(default_factory=list)
    manager: tuple[str, str] | None = None
    """The manager's uuid and display name."""


@dataclass
class GroupFacts:
    """What a Group representation needs besides the group row."""

    external_id: str | None = None
    members: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class DepartmentFacts:
    """What a Department representation needs besides the department row."""

    external_id: str | None = None
    parent_name: str | None = None


def weak_etag(version: int | str) -> str:
    """The ETag of a version, weak as in RFC 7644 §3.14's examples."""
    return f'W/"{version}"'


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _meta(kind: str, obj: Any, location: str, version: int | str) -> Meta:
    return Meta(
        resource_type=kind,
        created=_utc(obj.created_at),
        last_modified=_utc(obj.updated_at),
        location=location,
        version=weak_etag(version),
    )


def account_to_scim(account: Account, facts: UserFacts, base_url: str) -> Any:
    """The SCIM User (core, enterprise and idaas extensions) of an account."""
    primary = next((m for m in account.memberships if m.is_primary), None)
    user = UserResource(
        id=account.uuid,
        external_id=facts.external_id,
        user_name=account.username,
        name=(
            Name(given_name=account.given_name, family_name=account.family_name)
            if account.given_name or account.family_name
            else None
        ),
        display_name=account.display_name if account.display_name != account.username else None,
        title=account.title,
        preferred_language=account.locale,
        active=account.status == "active",
        emails=[Email(value=account.email, type="work")] if account.email else None,
        phone_numbers=(
            [PhoneNumber(value=account.mobile, type="mobile")] if account.mobile else None
        ),
        groups=[
            UserGroup(
                value=str(group_id),
                ref=f"{base_url}/Groups/{group_id}",  # type: ignore[arg-type]
                display=name,
                type="direct",
            )
            for group_id, name in facts.groups
        ]
        or None,
        meta=_meta("User", account, f"{base_url}/Users/{account.uuid}", account.version),
    )
    user[EnterpriseUser] = EnterpriseUser(
        employee_number=account.employee_number,
        department=facts.departments.get(primary.department_id) if primary else None,
        organization=facts.organization,
        manager=(
            Manager(
                value=facts.manager[0],
                ref=f"{base_url}/Users/{facts.manager[0]}",  # type: ignore[arg-type]
                display_name=facts.manager[1],
            )
            if facts.manager
            else None
        ),
    )
    user[IdaasUser] = IdaasUser(
        departments=[
            DepartmentMembership(
                value=str(m.department_id),
                ref=f"{base_url}/Departments/{m.department_id}",  # type: ignore[arg-type]
                display=facts.departments.get(m.department_id),
                primary=True if m.is_primary else None,
                title=m.title,
            )
            for m in sorted(account.memberships, key=lambda m: (not m.is_primary, m.sort_order))
        ]
        or None,
        dingtalk=[
            DingTalkIdentity(corp_id=corp, user_id=user_id, union_id=union)
            for corp, user_id, union in facts.dingtalk
        ]
        or None,
        attributes=[
            CustomAttribute(name=key, value=_text(value))
            for key, value in sorted((account.attributes or {}).items())
        ]
        or None,
        source=account.source,
    )
    return user


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _single(values: list[Any] | None, path: str, preferred_type: str) -> Any:
    """The one value idaas stores of a multi-valued attribute: the entry of `preferred_type`
    (or untyped); entries of other types (a `work` phone) are not stored."""
    entries = [v for v in values or [] if v.value not in (None, "")]
    typed = [v for v in entries if (v.type or preferred_type) == preferred_type]
    if not typed:
        return None
    distinct = {v.value.lower() if isinstance(v.value, str) else v.value for v in typed}
    if len(distinct) > 1:
        raise CastError(
            path,
            gettext("idaas stores one %(type)s value of %(path)s.", type=preferred_type, path=path),
        )
    return typed[0].value


def account_from_scim(user: Any, *, complete: bool = False) -> dict[str, Any]:
    """The `directory.service` fields a SCIM User asks for (absent attributes become None).

    `external_id` is returned too (the caller stores it per client). Extension attributes are
    only included when the resource lists the extension's schema, so a client that does not
    know the idaas extension never clears departments by omission (PUT); `complete` says the
    resource is the whole new state (a PATCHed copy of the current one), where an absent
    extension was removed.
    """
    name = user.name
    fields: dict[str, Any] = {
        "username": user.user_name,
        "display_name": user.display_name,
        "given_name": name.given_name if name else None,
        "family_name": name.family_name if name else None,
        "title": user.title,
        "locale": user.preferred_language,
        "email": _single(user.emails, "emails", "work"),
        "mobile": _single(user.phone_numbers, "phoneNumbers", "mobile"),
        "external_id": user.external_id,
        "active": True if user.active is None else bool(user.active),
    }
    if user.password is not None:
        fields["password"] = user.password
    schemas = {str(s).lower() for s in user.schemas or []}
    enterprise = user[EnterpriseUser]
    if complete or enterprise is not None or str(EnterpriseUser.__schema__).lower() in schemas:
        fields["employee_number"] = enterprise.employee_number if enterprise else None
        manager = enterprise.manager if enterprise else None
        # The manager's SCIM id (Kind.replace finds the account); empty means none.
        fields["manager"] = (manager.value or None) if manager else None
    idaas = user[IdaasUser]
    if complete or idaas is not None or str(IdaasUser.__schema__).lower() in schemas:
        fields["memberships"] = _memberships(idaas.departments if idaas else None)
        # A later entry for the same key wins (an `add` of an existing key replaces it).
        fields["attributes"] = {
            a.name: a.value for a in (idaas.attributes if idaas else None) or [] if a.name
        }
    return fields


def _memberships(entries: list[DepartmentMembership] | None) -> list[dict[str, Any]]:
    """Membership specs (the directory makes the first one primary unless one is marked); a
    repeated department takes the later entry's title (an `add` of an existing one updates it)."""
    specs: dict[int, dict[str, Any]] = {}
    for entry in entries or []:
        try:
            department_id = int(str(entry.value))
        except ValueError:
            raise CastError(
                "departments.value",
                gettext("%(value)s is not a department id.", value=repr(entry.value)),
            ) from None
        if department_id in specs:
            specs[department_id]["title"] = entry.title
            continue
        specs[department_id] = {
            "department_id": department_id,
            "is_primary": bool(entry.primary),
            "title": entry.title,
        }
    result = list(specs.values())
    if len([s for s in result if s["is_primary"]]) > 1:
        raise CastError(
            "departments.primary", gettext("Only one department can be the primary one.")
        )
    return result


def group_to_scim(group: Group, facts: GroupFacts, base_url: str) -> ScimGroup:
    """The SCIM Group of a directory group; members are always users (groups are flat)."""
    return ScimGroup(
        id=str(group.id),
        external_id=facts.external_id,
        display_name=group.name,
        members=[
            GroupMember(
                value=member_uuid,
                ref=f"{base_url}/Users/{member_uuid}",  # type: ignore[arg-type]
                type="User",
                display=name,
            )
            for member_uuid, name in facts.members
        ]
        or None,
        meta=_meta("Group", group, f"{base_url}/Groups/{group.id}", group.version),
    )


def group_from_scim(group: ScimGroup) -> dict[str, Any]:
    """The group's name, external id and member ids (user ids) a SCIM Group asks for."""
    members: list[str] = []
    for member in group.members or []:
        if member.type not in (None, "User"):
            raise CastError(
                "members.type", gettext("Groups in idaas are flat: only users can be members.")
            )
        if not member.value:
            raise CastError("members.value", gettext("A member needs a value (the user's id)."))
        if member.value not in members:
            members.append(member.value)
    return {"name": group.display_name, "external_id": group.external_id, "members": members}


def department_to_scim(
    department: Department, facts: DepartmentFacts, base_url: str, version: str
) -> ScimDepartment:
    """The SCIM Department of a department, with a reference to its parent."""
    parent = None
    if department.parent_id is not None:
        parent = ParentReference(
            value=str(department.parent_id),
            ref=f"{base_url}/Departments/{department.parent_id}",  # type: ignore[arg-type]
            display=facts.parent_name,
        )
    return ScimDepartment(
        id=str(department.id),
        external_id=facts.external_id,
        display_name=department.name,
        parent=parent,
        sort_order=department.sort_order or None,
        path=department.path,
        meta=_meta("Department", department, f"{base_url}/Departments/{department.id}", version),
    )


def department_from_scim(department: ScimDepartment) -> dict[str, Any]:
    """The name, parent id, sort order and external id a SCIM Department asks for."""
    parent_id = None
    if department.parent is not None and department.parent.value not in (None, ""):
        try:
            parent_id = int(str(department.parent.value))
        except ValueError:
            raise CastError(
                "parent.value",
                gettext("%(value)s is not a department id.", value=repr(department.parent.value)),
            ) from None
    return {
        "name": department.display_name,
        "parent_id": parent_id,
        "sort_order": department.sort_order or 0,
        "external_id": department.external_id,
    }


# -- JSON fast path ---------------------------------------------------------------------------
# Building and dumping scim2-models objects costs about 1 ms per user; a 100-user page would
# spend most of its time there. These functions build the same JSON a response dump of the
# `*_to_scim` resources gives (attributes `returned: default`, no nulls) directly from the rows;
# tests/scim/test_casting.py checks that the two agree. Requests that choose attributes
# (`attributes`, `excludedAttributes`) still go through the models.


def _iso(value: datetime) -> str:
    return value.isoformat() + "Z" if value.tzinfo is None else value.isoformat()


def _meta_json(kind: str, obj: Any, location: str, version: int | str) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": _iso(obj.created_at),
        "lastModified": _iso(obj.updated_at),
        "location": location,
        "version": weak_etag(version),
    }


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != [] and v != {}}


def account_to_json(account: Account, facts: UserFacts, base_url: str) -> dict[str, Any]:
    """The JSON of `account_to_scim(...)` in a response (default attributes)."""
    location = f"{base_url}/Users/{account.uuid}"
    name = _compact({"givenName": account.given_name, "familyName": account.family_name})
    user = _compact(
        {
            "id": account.uuid,
            "externalId": facts.external_id,
            "meta": _meta_json("User", account, location, account.version),
            "userName": account.username,
            "name": name or None,
            "displayName": (
                account.display_name if account.display_name != account.username else None
            ),
            "title": account.title,
            "preferredLanguage": account.locale,
            "active": account.status == "active",
            "emails": [{"value": account.email, "type": "work"}] if account.email else None,
            "phoneNumbers": (
                [{"value": account.mobile, "type": "mobile"}] if account.mobile else None
            ),
            "groups": [
                {
                    "value": str(group_id),
                    "$ref": f"{base_url}/Groups/{group_id}",
                    "display": group_name,
                    "type": "direct",
                }
                for group_id, group_name in facts.groups
            ],
        }
    )
    schemas = [USER_SCHEMA_URN]
    manager = facts.manager
    enterprise = _compact(
        {
            "employeeNumber": account.employee_number,
            "manager": {"value": manager[0]} if manager else None,
        }
    )
    if enterprise:
        schemas.append(ENTERPRISE_SCHEMA_URN)
        user[ENTERPRISE_SCHEMA_URN] = enterprise
    memberships = sorted(account.memberships, key=lambda m: (not m.is_primary, m.sort_order))
    idaas = _compact(
        {
            "departments": [
                _compact(
                    {
                        "value": str(m.department_id),
                        "primary": True if m.is_primary else None,
                        "title": m.title,
                    }
                )
                for m in memberships
            ],
            "dingtalk": [
                _compact({"corpId": corp, "userId": user_id, "unionId": union})
                for corp, user_id, union in facts.dingtalk
            ],
            "attributes": [
                {"name": key, "value": _text(value)}
                for key, value in sorted((account.attributes or {}).items())
            ],
        }
    )
    if idaas:
        schemas.append(IDAAS_SCHEMA_URN)
        user[IDAAS_SCHEMA_URN] = idaas
    return {"schemas": schemas, **user}


def group_to_json(group: Group, facts: GroupFacts, base_url: str) -> dict[str, Any]:
    """The JSON of `group_to_scim(...)` in a response (default attributes)."""
    location = f"{base_url}/Groups/{group.id}"
    return {
        "schemas": [GROUP_SCHEMA_URN],
        **_compact(
            {
                "id": str(group.id),
                "externalId": facts.external_id,
                "meta": _meta_json("Group", group, location, group.version),
                "displayName": group.name,
                "members": [
                    {"value": member, "$ref": f"{base_url}/Users/{member}", "type": "User"}
                    for member, _ in facts.members
                ],
            }
        ),
    }


def department_to_json(
    department: Department, facts: DepartmentFacts, base_url: str, version: str
) -> dict[str, Any]:
    """The JSON of `department_to_scim(...)` in a response (default attributes)."""
    location = f"{base_url}/Departments/{department.id}"
    parent = {"value": str(department.parent_id)} if department.parent_id is not None else None
    return {
        "schemas": [DEPARTMENT_SCHEMA_URN],
        **_compact(
            {
                "id": str(department.id),
                "externalId": facts.external_id,
                "meta": _meta_json("Department", department, location, version),
                "displayName": department.name,
                "parent": parent,
                "sortOrder": department.sort_order or None,
                "path": department.path,
            }
        ),
    }
