"""`/api/v1` directory endpoints: departments, accounts, memberships, groups, roles,
attribute definitions. Every write goes through `directory.service` with origin
`api:<client_id>`; views only parse, call the service and serialise.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from flask import url_for
from werkzeug.wrappers import Response

from idaas.api import crud
from idaas.api import schemas as s
from idaas.api.blueprint import ID, bp
from idaas.api.http import (
    decode_cursor,
    encode_cursor,
    expected_version,
    json_response,
    next_link,
    origin,
)
from idaas.api.problems import ApiProblem
from idaas.api.spec import operation
from idaas.directory import serialise, service
from idaas.directory.errors import NotFound
from idaas.directory.models import Department
from idaas.directory.serialise import (
    account_to_dict,
    department_to_dict,
    group_to_dict,
    role_to_dict,
)

READ = ["directory:read", "directory:write"]
WRITE = ["directory:write"]
# A write of one object guarded by If-Match (412) that its state may refuse (409).
GUARDED_WRITE: dict[str, Any] = {"etag": True, "if_match": True, "errors": {409}}
DEPARTMENT_VIEWS = crud.Resource("/departments", ["departments"], READ, WRITE)
ACCOUNT_VIEWS = crud.Resource("/accounts", ["accounts"], READ, WRITE)
MEMBERSHIP_VIEWS = crud.Resource("/accounts", ["memberships"], READ, WRITE)


# -- departments ---------------------------------------------------------------------------


@DEPARTMENT_VIEWS.get("", "List departments", response=s.DepartmentList)
def list_departments(query: s.DepartmentListQuery) -> Response:
    """The direct children of `parent`, or the root departments."""
    _must_exist(service.get_department, query.parent, "parent", in_query=True)
    return json_response({"items": [department_to_dict(d) for d in service.children(query.parent)]})


def _tree(departments: list[Department]) -> list[dict[str, Any]]:
    nodes = {d.id: {**department_to_dict(d), "children": []} for d in departments}
    roots: list[dict[str, Any]] = []
    for department in departments:
        node = nodes[department.id]
        parent = nodes.get(department.parent_id) if department.parent_id else None
        (parent["children"] if parent is not None else roots).append(node)
    return roots


@DEPARTMENT_VIEWS.get("/tree", "Department tree", response=s.DepartmentTree)
def department_tree(query: s.TreeQuery) -> Response:
    """The whole department tree (or the subtree under `root`), children nested."""
    _must_exist(service.get_department, query.root, "root", in_query=True)
    roots = [query.root] if query.root is not None else [d.id for d in service.children(None)]
    departments: list[Department] = []
    for root in roots:
        departments.extend(service.subtree(root))
    return json_response({"items": _tree(departments)})


@DEPARTMENT_VIEWS.get(
    f"/<{ID}:department_id>/children", "List sub-departments", response=s.DepartmentList
)
def department_children(department_id: int) -> Response:
    """The direct children of a department, in display order."""
    service.get_department(department_id)
    return json_response(
        {"items": [department_to_dict(d) for d in service.children(department_id)]}
    )


@bp.get(f"/departments/<{ID}:department_id>/members")
@operation(
    "List a department's members",
    tags=["departments", "memberships"],
    scopes=READ,
    query=s.PageQuery,
    response=s.AccountPage,
)
def department_members(department_id: int, query: s.PageQuery) -> Response:
    """Accounts that are direct members of the department (cursor pagination)."""
    service.get_department(department_id)
    return _account_page(
        query.limit, query.cursor, department_id=department_id, include_subdepartments=False
    )


@DEPARTMENT_VIEWS.post(
    "", "Create a department", response=s.Department, status=201, etag=True, location=True
)
def create_department(body: s.DepartmentCreate) -> Response:
    """Create a department; 201 with `Location` and `ETag` (RFC 9110 §15.3.2)."""
    _must_exist(service.get_department, body.parent_id, "parent_id")
    department = service.create_department(origin(), **body.model_dump())
    return json_response(
        department_to_dict(department),
        201,
        department,
        url_for("api.get_department", department_id=department.id),
    )


@DEPARTMENT_VIEWS.post(
    f"/<{ID}:department_id>/move", "Move a department", response=s.Department, **GUARDED_WRITE
)
def move_department(department_id: int, body: s.DepartmentMove) -> Response:
    """Move a department (with its subtree) under another parent, or make it a root."""
    version = expected_version(service.get_department(department_id))
    _must_exist(service.get_department, body.parent_id, "parent_id")
    department = service.move_department(
        origin(), department_id, body.parent_id, expected_version=version
    )
    return json_response(department_to_dict(department), obj=department)


def _must_exist(getter: Any, object_id: int | None, field: str, *, in_query: bool = False) -> None:
    """A referenced object that does not exist is a field error: 422 in a body, 400 in a query
    (not a 404: the URL itself was found)."""
    if object_id is None:
        return
    try:
        getter(object_id)
    except NotFound as exc:
        status, title, kind = (
            (400, "Bad Request", "invalid-query")
            if in_query
            else (422, "Invalid input", "validation-failed")
        )
        raise ApiProblem(
            status, title, exc.message, kind=kind, fields={field: exc.message}
        ) from None


DEPARTMENTS = crud.conventional(
    service, s, serialise,
    path="departments", singular="department", plural="departments", model="Department",
    noun="department",
    descriptions={
        "get": "One department, with its ETag.",
        "update": "Change name, sort order or attributes; `If-Match` makes it conditional "
        "(RFC 9110 §13.1.1).",
        "delete": "Delete an empty department; 204 (RFC 9110 §9.3.5).",
    },
    update_errors={409},
    delete_errors={409, 422},
)  # fmt: skip


# -- accounts -----------------------------------------------------------------------------


def _account_page(limit: int, cursor: str | None, **filters: Any) -> Response:
    after = decode_cursor("accounts", cursor)
    accounts = service.list_accounts(after_id=after, limit=limit + 1, **filters)
    more = len(accounts) > limit
    accounts = accounts[:limit]
    next_cursor = encode_cursor("accounts", accounts[-1].id) if more and accounts else None
    response = json_response(
        {"items": [account_to_dict(a) for a in accounts], "next_cursor": next_cursor}
    )
    next_link(response, next_cursor)
    return response


@ACCOUNT_VIEWS.get("", "List accounts", response=s.AccountPage)
def list_accounts(query: s.AccountListQuery) -> Response:
    """Accounts filtered by `q`, `department`, `status`, `group`, `role`; keyset pagination."""
    for field, getter, value in (
        ("department", service.get_department, query.department),
        ("group", service.get_group, query.group),
        ("role", service.get_role, query.role),
    ):
        _must_exist(getter, value, field, in_query=True)
    return _account_page(
        query.limit,
        query.cursor,
        q=query.q,
        department_id=query.department,
        include_subdepartments=query.include_subdepartments,
        status=query.status,
        group_id=query.group,
        role_id=query.role,
    )


ACCOUNTS = crud.conventional(
    service, s, serialise,
    path="accounts", singular="account", plural="accounts", model="Account", noun="account",
    descriptions={
        "get": "One account, with its ETag.",
        "update": "Change profile fields, attributes or memberships; `If-Match` makes it "
        "conditional.",
        "delete": "Delete an account with its memberships; 204 (RFC 9110 §9.3.5).",
    },
    update_errors={409},
    delete_errors={409},
)  # fmt: skip


@ACCOUNT_VIEWS.post(
    "", "Create an account", response=s.Account, status=201, etag=True, location=True
)
def create_account(body: s.AccountCreate) -> Response:
    """Create an account; 201 with `Location` and `ETag` (RFC 9110 §15.3.2)."""
    data = body.model_dump()
    data["memberships"] = [dict(m) for m in data["memberships"]]
    account = service.create_account(origin(), **data)
    return json_response(
        account_to_dict(account), 201, account, url_for("api.get_account", account_id=account.id)
    )


def _status_view(status: str) -> Callable[[int], Response]:
    """A view that sets an account's status (the disable and enable endpoints)."""

    def set_status(account_id: int) -> Response:
        version = expected_version(service.get_account(account_id))
        account = service.set_status(origin(), account_id, status, expected_version=version)
        return json_response(account_to_dict(account), obj=account)

    return set_status


for _action, _status, _doc in (
    (
        "disable",
        "disabled",
        crud.Doc("Disable an account", "Disable an account (it can no longer sign in)."),
    ),
    ("enable", "active", crud.Doc("Enable an account", "Make an account active again.")),
):
    crud.route(
        "POST", f"/accounts/<{ID}:account_id>/{_action}", f"{_action}_account", _doc,
        _status_view(_status), tags=["accounts"], scopes=WRITE, response=s.Account,
        **GUARDED_WRITE,
    )  # fmt: skip


@MEMBERSHIP_VIEWS.get(
    f"/<{ID}:account_id>/memberships",
    "List an account's memberships",
    response=s.MembershipList,
    etag=True,
)
def account_memberships(account_id: int) -> Response:
    """The departments an account belongs to (the primary one first)."""
    account = service.get_account(account_id)
    return json_response({"items": account_to_dict(account)["memberships"]}, obj=account)


@MEMBERSHIP_VIEWS.put(
    f"/<{ID}:account_id>/memberships",
    "Replace an account's memberships",
    response=s.MembershipList,
    **GUARDED_WRITE,
)
def replace_memberships(account_id: int, body: s.MembershipsReplace) -> Response:
    """Set the complete list of departments of an account (RFC 9110 §9.3.4)."""
    version = expected_version(service.get_account(account_id))
    account = service.update_account(
        origin(),
        account_id,
        expected_version=version,
        memberships=[m.model_dump() for m in body.memberships],
    )
    return json_response({"items": account_to_dict(account)["memberships"]}, obj=account)


@bp.get(f"/accounts/<{ID}:account_id>/groups")
@operation("List an account's groups", tags=["groups"], scopes=READ, response=s.GroupList)
def account_groups(account_id: int) -> Response:
    """The groups an account belongs to."""
    service.get_account(account_id)
    return json_response({"items": [group_to_dict(g) for g in service.groups_of(account_id)]})


@bp.get(f"/accounts/<{ID}:account_id>/roles")
@operation("List an account's roles", tags=["roles"], scopes=READ, response=s.RoleList)
def account_roles(account_id: int) -> Response:
    """The roles an account holds."""
    service.get_account(account_id)
    return json_response({"items": [role_to_dict(r) for r in service.roles_of(account_id)]})


@bp.get(f"/accounts/<{ID}:account_id>/permissions")
@operation("List an account's permissions", tags=["roles"], scopes=READ, response=s.PermissionList)
def account_permissions(account_id: int) -> Response:
    """Every (resource, action) the account's roles grant."""
    service.get_account(account_id)
    items = [{"resource": r, "action": a} for r, a in sorted(service.permissions_of(account_id))]
    return json_response({"items": items})


# -- groups, roles, attribute definitions: one declaration each (see `idaas.api.crud`) -------


def _definitions(query: s.AttributeListQuery) -> list[Any]:
    """Definitions of the queried target, or of accounts then departments."""
    targets = [query.target] if query.target else ["account", "department"]
    return [d for t in targets for d in service.definitions(t)]


GROUPS = crud.conventional(
    service, s, serialise,
    path="groups", singular="group", plural="groups", model="Group", noun="group",
    descriptions={
        "list": "All groups by name.",
        "get": "One group, with its ETag.",
        "create": "Create a group; 201 with `Location`.",
        "update": "Rename a group or change its description.",
        "delete": "Delete a group (its members stay); 204.",
    },
    update_errors={409},
    delete_errors={409},
)  # fmt: skip
ROLES = crud.conventional(
    service, s, serialise,
    path="roles", singular="role", plural="roles", model="Role", noun="role",
    descriptions={
        "list": "All roles with their permissions.",
        "get": "One role, with its permissions and ETag.",
        "create": "Create a role with permissions; 201 with `Location`.",
        "update": "Change a role; `permissions` replaces the whole list.",
        "delete": "Delete a role and its assignments; 204.",
    },
)  # fmt: skip
ATTRIBUTES = crud.conventional(
    service, s, serialise,
    path="attribute-definitions", singular="definition", plural="definitions",
    model="AttributeDefinition", noun="attribute definition", tag="attributes",
    descriptions={
        "list": "Custom attribute definitions of accounts and/or departments, in display order.",
        "get": "One attribute definition.",
        "create": "Add a custom attribute to accounts or departments; 201 with `Location`.",
        "update": "Change an attribute definition (its key and target are fixed).",
        "delete": "Remove an attribute definition; 204.",
    },
    summaries={"create": "Define an attribute"},
    list_items=_definitions,
    list_query=s.AttributeListQuery,
    create=service.define_attribute,
)  # fmt: skip

for _collection in (DEPARTMENTS, ACCOUNTS, GROUPS, ROLES, ATTRIBUTES):
    crud.register(_collection, READ, WRITE)

# Accounts attached to groups and roles: listed a page at a time like `/accounts`.
_account_members = partial(
    crud.Members, page_query=s.PageQuery, page=s.AccountPage, list_page=_account_page
)
GROUP_MEMBERS = _account_members(
    collection=GROUPS,
    names=("group_members", "add_group_member", "remove_group_member"),
    docs=(
        crud.Doc("List a group's members", "The accounts in a group (cursor pagination)."),
        crud.Doc("Add a group member", "Put an account in a group (idempotent)."),
        crud.Doc("Remove a group member", "Take an account out of a group (idempotent)."),
    ),
    filter_name="group_id",
    attach=service.set_group_membership,
    errors={409},
)
ROLE_HOLDERS = _account_members(
    collection=ROLES,
    names=("role_members", "assign_role", "revoke_role"),
    docs=(
        crud.Doc("List a role's holders", "The accounts holding a role (cursor pagination)."),
        crud.Doc("Assign a role", "Give an account a role (idempotent)."),
        crud.Doc("Revoke a role", "Take a role away from an account (idempotent)."),
    ),
    filter_name="role_id",
    attach=service.set_role_assignment,
)
for _members in (GROUP_MEMBERS, ROLE_HOLDERS):
    crud.register_members(_members, READ, WRITE)
