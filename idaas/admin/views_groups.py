"""Console writes for groups, roles and attribute definitions, and an account's groups/roles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from idaas.admin.blueprint import ask_then_write, bp, confirmed, or_404, write_then_go
from idaas.admin.guard import actor, require
from idaas.directory import service
from idaas.directory.errors import NotFound


@bp.post("/groups")
@require("directory.write")
def group_create() -> Response:
    """Create a group (name and description)."""
    confirmed()  # CSRF
    return write_then_go(
        lambda: service.create_group(
            actor(),
            name=request.form.get("name", ""),
            description=request.form.get("description") or None,
        ),
        gettext("The group has been created."),
        url_for("admin.groups"),
    )


@bp.route("/groups/<int:group_id>/delete", methods=["GET", "POST"])
@require("directory.write")
def group_delete(group_id: int) -> Response:
    """Delete a group (its members stay; only the grouping goes)."""
    group = or_404(NotFound, service.get_group, group_id)
    listing = url_for("admin.groups")
    return ask_then_write(
        lambda: service.delete_group(actor(), group.id),
        gettext("The group has been deleted."),
        listing,
        title=gettext("Delete group"),
        question=gettext(
            "Delete the group %(name)s? Its members are not deleted.", name=group.name
        ),
        label=gettext("Delete"),
        crumbs=[(gettext("Groups"), listing)],
    )


@bp.post("/roles")
@require("directory.write")
def role_create() -> Response:
    """Create a role with permissions written as `resource:action`, one per line or space."""
    confirmed()
    permissions = (request.form.get("permissions") or "").split()
    return write_then_go(
        lambda: service.create_role(
            actor(),
            code=request.form.get("code", ""),
            name=request.form.get("name", ""),
            description=request.form.get("description") or None,
            permissions=permissions,
        ),
        gettext("The role has been created."),
        url_for("admin.roles"),
    )


@bp.route("/roles/<int:role_id>/delete", methods=["GET", "POST"])
@require("directory.write")
def role_delete(role_id: int) -> Response:
    """Delete a role and its assignments (not the built-in admin roles unless super admin)."""
    role = or_404(NotFound, service.get_role, role_id)
    listing = url_for("admin.roles")
    return ask_then_write(
        lambda: service.delete_role(actor(), role.id),
        gettext("The role has been deleted."),
        listing,
        title=gettext("Delete role"),
        question=gettext(
            "Delete the role %(name)s? Everyone holding it loses its permissions.", name=role.name
        ),
        label=gettext("Delete"),
        crumbs=[(gettext("Roles"), listing)],
    )


@bp.post("/attributes")
@require("directory.write")
def attribute_create() -> Response:
    """Define a custom attribute of accounts or departments."""
    confirmed()
    form = request.form
    options = [o.strip() for o in (form.get("options") or "").split(",") if o.strip()]
    flags: dict[str, Any] = {
        "required": bool(form.get("required")),
        "editable": bool(form.get("editable")),
        "unique": bool(form.get("unique")),
    }
    if options:
        flags["options"] = options
    return write_then_go(
        lambda: service.define_attribute(
            actor(),
            target=form.get("target", ""),
            key=form.get("key", ""),
            label=form.get("label", ""),
            type=form.get("type", ""),
            **flags,
        ),
        gettext("The attribute has been defined."),
        url_for("admin.attributes"),
    )


@bp.route("/attributes/<int:definition_id>/delete", methods=["GET", "POST"])
@require("directory.write")
def attribute_delete(definition_id: int) -> Response:
    """Remove an attribute definition."""
    definition = or_404(NotFound, service.get_definition, definition_id)
    listing = url_for("admin.attributes")
    return ask_then_write(
        lambda: service.delete_definition(actor(), definition.id),
        gettext("The attribute has been removed."),
        listing,
        title=gettext("Remove attribute"),
        question=gettext(
            "Remove the attribute %(key)s? "
            "Stored values are dropped when each object is next saved.",
            key=definition.key,
        ),
        label=gettext("Remove"),
        crumbs=[(gettext("Attributes"), listing)],
    )


def _account_url(account_id: int) -> str:
    return url_for("admin.account", account_id=account_id)


@dataclass(frozen=True)
class Holding:
    """What an account can hold (a group or a role): its loader, setter and page words."""

    id_field: str
    load: Callable[[int], Any]
    set_held: Callable[[str, int, int, bool], Any]
    added: Any
    removed: Any
    title: Any
    question: Any  # formatted with the account's `name` and the holding's `group` or `role`


HOLDINGS = {
    "group": Holding(
        "group_id",
        service.get_group,
        service.set_group_membership,
        _l("Added to the group."),
        _l("Removed from the group."),
        _l("Remove from group"),
        _l("Remove %(name)s from the group %(group)s?"),
    ),
    "role": Holding(
        "role_id",
        service.get_role,
        service.set_role_assignment,
        _l("The role has been assigned."),
        _l("The role has been removed."),
        _l("Remove role"),
        _l("Take the role %(role)s away from %(name)s?"),
    ),
}


def _add_holding(kind: str, account_id: int) -> Response:
    """Give the account the group or role whose id is posted."""
    confirmed()  # CSRF
    holding = HOLDINGS[kind]
    held_id = request.form.get(holding.id_field, type=int)
    if not held_id:
        abort(400)
    return write_then_go(
        lambda: holding.set_held(actor(), held_id, account_id, True),
        str(holding.added),
        _account_url(account_id),
    )


def _remove_holding(kind: str, account_id: int, **route: int) -> Response:
    """Take a group or role away from the account (asks first)."""
    holding = HOLDINGS[kind]
    held = or_404(NotFound, holding.load, route[holding.id_field])
    account = or_404(NotFound, service.get_account, account_id)
    return ask_then_write(
        lambda: holding.set_held(actor(), held.id, account.id, False),
        str(holding.removed),
        _account_url(account.id),
        title=str(holding.title),
        question=str(holding.question) % {"name": account.username, kind: held.name},
        label=gettext("Remove"),
        crumbs=[(gettext("Accounts"), url_for("admin.accounts"))],
    )


def _register_holdings() -> None:
    """`account_<kind>_add` (POST) and `account_<kind>_remove` (asks first) for each holding."""
    for kind, holding in HOLDINGS.items():

        def add(account_id: int, _kind: str = kind) -> Response:
            return _add_holding(_kind, account_id)

        def remove(account_id: int, _kind: str = kind, **route: int) -> Response:
            return _remove_holding(_kind, account_id, **route)

        for view, action in ((add, "add"), (remove, "remove")):
            view.__name__ = f"account_{kind}_{action}"
            view.__doc__ = (_add_holding if action == "add" else _remove_holding).__doc__
        bp.add_url_rule(
            f"/accounts/<int:account_id>/{kind}s",
            endpoint=add.__name__,
            view_func=require("directory.write")(add),
            methods=["POST"],
        )
        bp.add_url_rule(
            f"/accounts/<int:account_id>/{kind}s/<int:{holding.id_field}>/remove",
            endpoint=remove.__name__,
            view_func=require("directory.write")(remove),
            methods=["GET", "POST"],
        )


_register_holdings()


@bp.post("/accounts/<int:account_id>/attributes")
@require("directory.write")
def account_attributes(account_id: int) -> Response:
    """Save the account's custom attribute values (validated by the definitions)."""
    confirmed()
    values = {
        d.key: (request.form.get(f"attr-{d.key}") or None)
        for d in service.definitions("account", enabled_only=True)
    }
    return write_then_go(
        lambda: service.update_account(actor(), account_id, attributes=values),
        gettext("The attributes have been saved."),
        _account_url(account_id),
    )


@bp.post("/accounts/<int:account_id>/memberships")
@require("directory.write")
def account_memberships(account_id: int) -> Response:
    """Replace the account's departments (ids; the first is the primary one)."""
    confirmed()
    account = or_404(NotFound, service.get_account, account_id)
    raw = (request.form.get("departments") or "").replace(",", " ").split()
    if not all(part.isdigit() for part in raw):
        flash(gettext("Use department ids separated by spaces."), "error")
        return redirect(_account_url(account.id))
    specs = [
        {"department_id": int(part), "is_primary": index == 0} for index, part in enumerate(raw)
    ]
    return write_then_go(
        lambda: service.update_account(actor(), account.id, memberships=specs),
        gettext("The departments have been saved."),
        _account_url(account.id),
    )
