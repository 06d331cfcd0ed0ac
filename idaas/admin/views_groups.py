"""Console writes for groups, roles and attribute definitions, and an account's groups/roles."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from idaas.admin.blueprint import (
    bp,
    confirm_page,
    confirmed,
    done,
    error_message,
    or_404,
    run_service,
)
from idaas.admin.guard import actor, require
from idaas.directory import service
from idaas.directory.errors import NotFound


def _flash_error(error: Any) -> None:
    fields = getattr(error, "fields", None) or {}
    message = "; ".join(fields.values()) if fields else error_message(error)
    flash(message, "error")


@bp.post("/groups")
@require("directory.write")
def group_create() -> Response:
    """Create a group (name and description)."""
    confirmed()  # CSRF
    _, error = run_service(
        lambda: service.create_group(
            actor(),
            name=request.form.get("name", ""),
            description=request.form.get("description") or None,
        )
    )
    if error is not None:
        _flash_error(error)
        return redirect(url_for("admin.groups"))
    return done(gettext("The group has been created."), url_for("admin.groups"))


@bp.route("/groups/<int:group_id>/delete", methods=["GET", "POST"])
@require("directory.write")
def group_delete(group_id: int) -> Response:
    """Delete a group (its members stay; only the grouping goes)."""
    group = or_404(NotFound, service.get_group, group_id)
    if confirmed():
        _, error = run_service(lambda: service.delete_group(actor(), group.id))
        if error is None:
            return done(gettext("The group has been deleted."), url_for("admin.groups"))
        _flash_error(error)
    return confirm_page(
        title=gettext("Delete group"),
        question=gettext(
            "Delete the group %(name)s? Its members are not deleted.", name=group.name
        ),
        confirm_label=gettext("Delete"),
        cancel_url=url_for("admin.groups"),
        crumbs=[(gettext("Groups"), url_for("admin.groups"))],
    )


@bp.post("/roles")
@require("directory.write")
def role_create() -> Response:
    """Create a role with permissions written as `resource:action`, one per line or space."""
    confirmed()
    permissions = (request.form.get("permissions") or "").split()
    _, error = run_service(
        lambda: service.create_role(
            actor(),
            code=request.form.get("code", ""),
            name=request.form.get("name", ""),
            description=request.form.get("description") or None,
            permissions=permissions,
        )
    )
    if error is not None:
        _flash_error(error)
        return redirect(url_for("admin.roles"))
    return done(gettext("The role has been created."), url_for("admin.roles"))


@bp.route("/roles/<int:role_id>/delete", methods=["GET", "POST"])
@require("directory.write")
def role_delete(role_id: int) -> Response:
    """Delete a role and its assignments (not the built-in admin roles unless super admin)."""
    role = or_404(NotFound, service.get_role, role_id)
    if confirmed():
        _, error = run_service(lambda: service.delete_role(actor(), role.id))
        if error is None:
            return done(gettext("The role has been deleted."), url_for("admin.roles"))
        _flash_error(error)
    return confirm_page(
        title=gettext("Delete role"),
        question=gettext(
            "Delete the role %(name)s? Everyone holding it loses its permissions.", name=role.name
        ),
        confirm_label=gettext("Delete"),
        cancel_url=url_for("admin.roles"),
        crumbs=[(gettext("Roles"), url_for("admin.roles"))],
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
    _, error = run_service(
        lambda: service.define_attribute(
            actor(),
            target=form.get("target", ""),
            key=form.get("key", ""),
            label=form.get("label", ""),
            type=form.get("type", ""),
            **flags,
        )
    )
    if error is not None:
        _flash_error(error)
        return redirect(url_for("admin.attributes"))
    return done(gettext("The attribute has been defined."), url_for("admin.attributes"))


@bp.route("/attributes/<int:definition_id>/delete", methods=["GET", "POST"])
@require("directory.write")
def attribute_delete(definition_id: int) -> Response:
    """Remove an attribute definition."""
    definition = or_404(NotFound, service.get_definition, definition_id)
    if confirmed():
        _, error = run_service(lambda: service.delete_definition(actor(), definition.id))
        if error is None:
            return done(gettext("The attribute has been removed."), url_for("admin.attributes"))
        _flash_error(error)
    return confirm_page(
        title=gettext("Remove attribute"),
        question=gettext(
            "Remove the attribute %(key)s? "
            "Stored values are dropped when each object is next saved.",
            key=definition.key,
        ),
        confirm_label=gettext("Remove"),
        cancel_url=url_for("admin.attributes"),
        crumbs=[(gettext("Attributes"), url_for("admin.attributes"))],
    )


def _account_url(account_id: int) -> str:
    return url_for("admin.account", account_id=account_id)


@bp.post("/accounts/<int:account_id>/groups")
@require("directory.write")
def account_group_add(account_id: int) -> Response:
    """Add the account to a group."""
    confirmed()
    group_id = request.form.get("group_id", type=int)
    if not group_id:
        abort(400)
    _, error = run_service(
        lambda: service.set_group_membership(actor(), group_id, account_id, True)
    )
    if error is not None:
        _flash_error(error)
        return redirect(_account_url(account_id))
    return done(gettext("Added to the group."), _account_url(account_id))


@bp.route("/accounts/<int:account_id>/groups/<int:group_id>/remove", methods=["GET", "POST"])
@require("directory.write")
def account_group_remove(account_id: int, group_id: int) -> Response:
    """Take the account out of a group."""
    group = or_404(NotFound, service.get_group, group_id)
    account = or_404(NotFound, service.get_account, account_id)
    if confirmed():
        _, error = run_service(
            lambda: service.set_group_membership(actor(), group.id, account.id, False)
        )
        if error is None:
            return done(gettext("Removed from the group."), _account_url(account.id))
        _flash_error(error)
    return confirm_page(
        title=gettext("Remove from group"),
        question=gettext(
            "Remove %(name)s from the group %(group)s?", name=account.username, group=group.name
        ),
        confirm_label=gettext("Remove"),
        cancel_url=_account_url(account.id),
        crumbs=[(gettext("Accounts"), url_for("admin.accounts"))],
    )


@bp.post("/accounts/<int:account_id>/roles")
@require("directory.write")
def account_role_add(account_id: int) -> Response:
    """Give the account a role (built-in admin roles: super admins only, see Administrators)."""
    confirmed()
    role_id = request.form.get("role_id", type=int)
    if not role_id:
        abort(400)
    _, error = run_service(lambda: service.set_role_assignment(actor(), role_id, account_id, True))
    if error is not None:
        _flash_error(error)
        return redirect(_account_url(account_id))
    return done(gettext("The role has been assigned."), _account_url(account_id))


@bp.route("/accounts/<int:account_id>/roles/<int:role_id>/remove", methods=["GET", "POST"])
@require("directory.write")
def account_role_remove(account_id: int, role_id: int) -> Response:
    """Take a role away from the account."""
    role = or_404(NotFound, service.get_role, role_id)
    account = or_404(NotFound, service.get_account, account_id)
    if confirmed():
        _, error = run_service(
            lambda: service.set_role_assignment(actor(), role.id, account.id, False)
        )
        if error is None:
            return done(gettext("The role has been removed."), _account_url(account.id))
        _flash_error(error)
    return confirm_page(
        title=gettext("Remove role"),
        question=gettext(
            "Take the role %(role)s away from %(name)s?", role=role.name, name=account.username
        ),
        confirm_label=gettext("Remove"),
        cancel_url=_account_url(account.id),
        crumbs=[(gettext("Accounts"), url_for("admin.accounts"))],
    )


@bp.post("/accounts/<int:account_id>/attributes")
@require("directory.write")
def account_attributes(account_id: int) -> Response:
    """Save the account's custom attribute values (validated by the definitions)."""
    confirmed()
    values = {
        d.key: (request.form.get(f"attr-{d.key}") or None)
        for d in service.definitions("account", enabled_only=True)
    }
    _, error = run_service(lambda: service.update_account(actor(), account_id, attributes=values))
    if error is not None:
        _flash_error(error)
        return redirect(_account_url(account_id))
    return done(gettext("The attributes have been saved."), _account_url(account_id))


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
    _, error = run_service(lambda: service.update_account(actor(), account.id, memberships=specs))
    if error is not None:
        _flash_error(error)
        return redirect(_account_url(account.id))
    return done(gettext("The departments have been saved."), _account_url(account.id))
