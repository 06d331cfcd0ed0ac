"""Bring one object at one target in line with the directory: create, update or deprovision.

Idempotent by construction: the target's id is remembered per object (`ProvisionedObject`);
without it we look the resource up by `externalId` (then `userName` / `displayName`) before
creating, and a 409 on create means "it exists": found again and updated. Running a push
twice, or after a crash between the target's answer and our commit, converges the same way.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idaas.directory.models import Account, Department, Group, GroupMember, Membership
from idaas.events import targets, webhooks
from idaas.extensions import db
from idaas.scim.push import resources, scope
from idaas.scim.push.client import Session
from idaas.scim.push.models import ProvisionedObject, ProvisioningTarget

USERS = "Users"
GROUPS = "Groups"
DEPARTMENTS = "Departments"


class ParentNotProvisioned(targets.RetryLater):
    """A department's parent is not at the target yet: its own delivery creates it first.

    Creating it here too would race that delivery (both look it up, both create it) and leave
    a duplicate at targets that do not enforce unique names, as scim2-server does not for
    the custom Department resource type.
    """

    def __init__(self, parent_id: int) -> None:
        super().__init__(0.5, f"parent department {parent_id} is not at the target yet")
        self.parent_id = parent_id


def endpoint(target: ProvisioningTarget, object_type: str) -> str:
    """The target's resource endpoint for one of our object types."""
    if object_type == "account":
        return USERS
    if object_type == "department" and target.departments == "custom":
        return DEPARTMENTS
    return GROUPS


def known(
    target: ProvisioningTarget, object_type: str, object_id: object
) -> ProvisionedObject | None:
    """What we remember of an object at the target."""
    return db.session.scalar(
        select(ProvisionedObject).where(
            ProvisionedObject.target_id == target.id,
            ProvisionedObject.object_type == object_type,
            ProvisionedObject.object_id == str(object_id),
        )
    )


def remember(
    target: ProvisioningTarget,
    object_type: str,
    object_id: object,
    remote_id: str,
    name: str,
    *,
    active: bool = True,
    facts: dict[str, Any] | None = None,
    row: ProvisionedObject | None = None,
) -> ProvisionedObject:
    """Record (or update) the target's id for an object, in the current transaction.

    `row` is what the caller already found (saves a lookup); None looks it up."""
    row = row or known(target, object_type, object_id)
    if row is None:
        fresh = ProvisionedObject(
            target_id=target.id,
            object_type=object_type,
            object_id=str(object_id),
            remote_id=remote_id,
            name=name[:255],
            active=active,
            facts=facts or {},
        )
        try:
            with db.session.begin_nested():
                db.session.add(fresh)
            return fresh
        except IntegrityError:  # another worker remembered it first: update theirs
            row = known(target, object_type, object_id)
            if row is None:
                raise
    row.remote_id, row.name, row.active = remote_id, name[:255], active
    if facts is not None:
        row.facts = facts
    return row


def _answer(response: httpx.Response, what: str) -> dict[str, Any]:
    webhooks.raise_for_answer(response)
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def locate(
    session: Session, path: str, external_id: str | None, name_attr: str, name: str | None
) -> dict[str, Any] | None:
    """Find a resource by externalId, then by its name attribute; None when absent.

    With a filter (RFC 7644 §3.4.2.2) when the target supports it, else by reading its pages.
    """
    if not (session.target.capabilities or {}).get("filter", True):
        for resource in list_all(session, path):
            if (external_id and resource.get("externalId") == external_id) or (
                name and str(resource.get(name_attr) or "").lower() == name.lower()
            ):
                return resource
        return None
    for attribute, value in (("externalId", external_id), (name_attr, name)):
        if not value:
            continue
        response = session.request(
            "GET",
            path,
            operation="lookup",
            params={"filter": f"{attribute} eq {_quote(value)}", "count": 2},
        )
        found = _answer(response, "lookup").get("Resources") or []
        if found:
            return dict(found[0])
    return None


def list_all(session: Session, path: str, page_size: int = 200) -> list[dict[str, Any]]:
    """Every resource at one endpoint of the target, page by page (RFC 7644 §3.4.2.4)."""
    found: list[dict[str, Any]] = []
    start = 1
    while True:
        response = session.request(
            "GET", path, operation="list", params={"startIndex": start, "count": page_size}
        )
        if response.status_code == 404:
            return found
        body = _answer(response, "list")
        page = [dict(r) for r in body.get("Resources") or []]
        found.extend(page)
        if not page or len(found) >= int(body.get("totalResults") or 0):
            return found
        start += len(page)


def upsert(
    session: Session,
    path: str,
    body: dict[str, Any],
    remote_id: str | None,
    name_attr: str,
) -> tuple[str, str]:
    """PUT the resource where it is, or create it (409: find and PUT); (target id, operation).

    The operation is `created`, `updated`, or `reconciled` when a resource we did not know
    of was found there (a crash after the target's answer, a 409): the duplicate absorbed.
    """
    name = body.get(name_attr)
    operation = "updated"
    if remote_id is None:
        found = locate(session, path, body.get("externalId"), name_attr, name)
        remote_id = str(found["id"]) if found else None
        operation = "reconciled"  # it was there already: a duplicate create absorbed
    if remote_id is not None:
        response = session.request("PUT", f"{path}/{remote_id}", operation="update", json=body)
        if response.status_code != 404:
            _answer(response, "update")
            return remote_id, operation
    response = session.request("POST", path, operation="create", json=body)
    if response.status_code == 409:
        found = locate(session, path, body.get("externalId"), name_attr, name)
        if found is None:
            _answer(response, "create")
        remote_id = str(found["id"])  # type: ignore[index]
        response = session.request("PUT", f"{path}/{remote_id}", operation="update", json=body)
        _answer(response, "update")
        return remote_id, "reconciled"
    return str(_answer(response, "create")["id"]), "created"


def deactivate(session: Session, target: ProvisioningTarget, remote_id: str) -> None:
    """Set `active` false: PATCH when the target supports it, else GET and PUT the resource."""
    path = f"{USERS}/{remote_id}"
    if (target.capabilities or {}).get("patch", True):
        operations = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        }
        response = session.request("PATCH", path, operation="deactivate", json=operations)
        if response.status_code not in (400, 405, 501):
            if response.status_code != 404:
                _answer(response, "deactivate")
            return
    response = session.request("GET", path, operation="lookup")
    if response.status_code == 404:
        return
    current = _answer(response, "lookup")
    current.pop("meta", None)
    current.pop("groups", None)
    response = session.request(
        "PUT", path, operation="deactivate", json={**current, "active": False}
    )
    if response.status_code != 404:
        _answer(response, "deactivate")


def remove(session: Session, path: str, remote_id: str) -> None:
    """DELETE a resource; one already gone counts as removed."""
    response = session.request("DELETE", f"{path}/{remote_id}", operation="delete")
    if response.status_code != 404:
        webhooks.raise_for_answer(response)


def _deprovision(
    session: Session, target: ProvisioningTarget, row: ProvisionedObject | None
) -> str:
    if row is None or target.deprovision == "delete":
        if row is not None:
            session.regrouped.update((row.facts or {}).get("departments") or [])
        return _drop(session, USERS, row)
    deactivate(session, target, row.remote_id)
    row.active = False
    return "deactivated"


def account_departments(account: Account) -> list[int]:
    """The departments an account is a direct member of."""
    return sorted({m.department_id for m in account.memberships})


def push_account(session: Session, target: ProvisioningTarget, account_id: int) -> str:
    """Create, update or deprovision one account at the target; the operation done."""
    account = db.session.get(Account, account_id)
    row = known(target, "account", account_id)
    if not scope.account_in_scope(target, account):
        return _deprovision(session, target, row)
    assert account is not None
    try:
        body = resources.user_body(target, account)
    except resources.MappingRefused as refused:
        raise targets.PermanentFailure(f"mapping: {refused}") from None
    remote_id, operation = upsert(session, USERS, body, row.remote_id if row else None, "userName")
    departments = account_departments(account)
    session.regrouped.update(
        set(departments) ^ set((row.facts if row else {}).get("departments") or [])
    )
    remember(
        target,
        "account",
        account_id,
        remote_id,
        str(body.get("userName") or account.username),
        active=bool(body.get("active")),
        facts={"departments": departments},
        row=row,
    )
    return operation


def member_ids(target: ProvisioningTarget, accounts: list[Account], session: Session) -> list[str]:
    """The target's ids of the in-scope accounts, provisioning any not there yet."""
    ids: list[str] = []
    for account in accounts:
        if not scope.account_in_scope(target, account):
            continue
        row = known(target, "account", account.id)
        if row is None or (target.deprovision == "delete" and not row.active):
            push_account(session, target, account.id)
            row = known(target, "account", account.id)
        if row is not None:
            ids.append(row.remote_id)
    return ids


def _members(link: Any, condition: Any) -> list[Account]:
    """The accounts linked to a group or department through `link` (in id order)."""
    return list(
        db.session.scalars(
            select(Account)
            .join(link, link.account_id == Account.id)
            .where(condition)
            .order_by(Account.id)
        )
    )


def _drop(session: Session, path: str, row: ProvisionedObject | None) -> str:
    """Delete a resource at the target (and forget it); `unchanged` if unknown."""
    if row is None:
        return "unchanged"
    remove(session, path, row.remote_id)
    db.session.delete(row)
    return "deleted"


def _put_named(
    session: Session,
    target: ProvisioningTarget,
    key: tuple[str, int],
    path: str,
    body: dict[str, Any],
    row: ProvisionedObject | None,
) -> str:
    """Upsert a group-like resource by `displayName` and remember it."""
    remote_id, operation = upsert(
        session, path, body, row.remote_id if row else None, "displayName"
    )
    remember(target, key[0], key[1], remote_id, str(body["displayName"]), row=row)
    return operation


def push_group(session: Session, target: ProvisioningTarget, group_id: int) -> str:
    """Create, update or delete one group (with its in-scope members) at the target."""
    group = db.session.get(Group, group_id)
    row = known(target, "group", group_id)
    if not scope.group_in_scope(target, group):
        return _drop(session, GROUPS, row)
    assert group is not None
    members = _members(GroupMember, GroupMember.group_id == group_id)
    body = resources.group_body("group", group.id, group.name, member_ids(target, members, session))
    return _put_named(session, target, ("group", group_id), GROUPS, body, row)


def push_department(
    session: Session, target: ProvisioningTarget, department_id: int, *, create_parents: bool = True
) -> str:
    """Create, update or delete one department (as a Group or the custom resource).

    A custom-resource department whose parent is not at the target creates the parent first,
    or, with `create_parents` false (concurrent real-time deliveries), waits for it.
    """
    department = db.session.get(Department, department_id)
    row = known(target, "department", department_id)
    path = endpoint(target, "department")
    if department is None or target.departments == "none":
        return _drop(session, path, row)
    if target.departments == "custom":
        parent = known(target, "department", department.parent_id) if department.parent_id else None
        if department.parent_id and parent is None:
            if not create_parents:
                raise ParentNotProvisioned(department.parent_id)
            push_department(session, target, department.parent_id)
            parent = known(target, "department", department.parent_id)
        body = resources.department_body(department, parent.remote_id if parent else None)
    else:
        members = _members(Membership, Membership.department_id == department_id)
        ids = member_ids(target, members, session)
        body = resources.group_body("department", department.id, department.name, ids)
    return _put_named(session, target, ("department", department_id), path, body, row)


def push(
    session: Session,
    target: ProvisioningTarget,
    object_type: str,
    object_id: str,
    *,
    create_parents: bool = True,
) -> str:
    """Push one object of any type; the operation done (created, updated, deactivated, ...)."""
    if object_type == "account":
        return push_account(session, target, int(object_id))
    if object_type == "group":
        return push_group(session, target, int(object_id))
    if object_type == "department":
        return push_department(session, target, int(object_id), create_parents=create_parents)
    return "unchanged"
