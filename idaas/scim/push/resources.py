"""What a target should hold for a directory object: SCIM JSON built for pushing, mapped.

Accounts carry our stable `uuid` as `externalId` (groups `group:<id>`, departments
`department:<id>`), so a target's resources are found again after a crash or a lost answer.
The application's mapping then overrides attributes (`userName`, `employeeNumber`, ...).
"""

from __future__ import annotations

import re
from typing import Any

from idaas import mapping
from idaas.applications.models import Application
from idaas.directory.models import Account, Department
from idaas.extensions import db
from idaas.scim.casting import UserFacts, account_to_json
from idaas.scim.push.models import ProvisioningTarget
from idaas.scim.resources import DEPARTMENT_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA

ENTERPRISE_KEYS = ("employeeNumber", "costCenter", "organization", "division", "department")
MULTI_VALUED = {"emails": "work", "phoneNumbers": "mobile"}
TARGET_PATH = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}(\.[A-Za-z][A-Za-z0-9]{0,63})?")
NOT_PUSHED = ("id", "meta", "groups")


class MappingRefused(ValueError):
    """The mapping refused this object; the message lists each rule's reason."""


def valid_target(path: str) -> bool:
    """Whether a mapping target is a SCIM User attribute path we can set."""
    return TARGET_PATH.fullmatch(path) is not None and path.split(".")[0] not in NOT_PUSHED


def group_external_id(kind: str, object_id: int | str) -> str:
    """The externalId we give a group (`group`) or a department pushed as a group."""
    return f"{kind}:{object_id}"


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    if path in ENTERPRISE_KEYS:
        body.setdefault(ENTERPRISE_SCHEMA, {})[path] = value
        if ENTERPRISE_SCHEMA not in body["schemas"]:
            body["schemas"].append(ENTERPRISE_SCHEMA)
    elif path in MULTI_VALUED:
        kind = MULTI_VALUED[path]
        body[path] = [{"value": value, "type": kind, "primary": True}] if value else []
    elif "." in path:
        head, tail = path.split(".", 1)
        body.setdefault(head, {})[tail] = value
    else:
        body[path] = value


def user_body(target: ProvisioningTarget, account: Account) -> dict[str, Any]:
    """The User the target should hold for `account`; MappingRefused when a rule refuses."""
    body = account_to_json(account, UserFacts(external_id=account.uuid), "")
    for key in NOT_PUSHED:
        body.pop(key, None)
    body = {k: v for k, v in body.items() if not k.startswith("urn:idaas:")}
    body["schemas"] = [s for s in body["schemas"] if not s.startswith("urn:idaas:")]
    body["displayName"] = account.display_name or account.username
    for key in ("emails", "phoneNumbers"):
        for item in body.get(key) or []:
            item["primary"] = True
    primary = next((m for m in account.memberships if m.is_primary), None)
    if primary is not None:
        department = db.session.get(Department, primary.department_id)
        if department is not None:
            _set(body, "department", department.name)
    if target.mapping:
        app = db.session.get(Application, target.application_id)
        record, context = mapping.account_record(account, app)
        result = mapping.map_record(target.mapping, record, context)
        if result.errors:
            raise MappingRefused("; ".join(f"{e['field']}: {e['message']}" for e in result.errors))
        for path, value in result.values.items():
            _set(body, path, value)
    return body


def group_body(kind: str, object_id: int, name: str, members: list[str]) -> dict[str, Any]:
    """A group, or a department of direct members, as a SCIM Group (members: target ids)."""
    return {
        "schemas": [GROUP_SCHEMA],
        "externalId": group_external_id(kind, object_id),
        "displayName": name,
        "members": [{"value": member} for member in sorted(members)],
    }


def department_body(department: Department, parent: str | None) -> dict[str, Any]:
    """A department as idaas' custom Department resource, its parent by the target's id."""
    body: dict[str, Any] = {
        "schemas": [DEPARTMENT_SCHEMA],
        "externalId": group_external_id("department", department.id),
        "displayName": department.name,
    }
    if parent:
        body["parent"] = {"value": parent}
    return body
