"""Console pages for departments: lazily expanded tree, create, rename, move, delete."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Length, Optional

from idaas.admin import queries
from idaas.admin.blueprint import (
    apply_field_errors,
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
from idaas.directory.models import Department, Membership


class DepartmentForm(FlaskForm):
    """Name and display order of a department."""

    name = StringField(
        _l("Name"), validators=[InputRequired(), Length(max=128)], render_kw={"autocomplete": "off"}
    )
    sort_order = IntegerField(_l("Display order"), validators=[Optional()], default=0)


def _department(department_id: int) -> Department:
    return or_404(NotFound, service.get_department, department_id)


def _crumbs(department: Department | None) -> list[tuple[str, str | None]]:
    crumbs: list[tuple[str, str | None]] = [(gettext("Departments"), url_for("admin.departments"))]
    if department is not None:
        for parent in service.ancestors(department.id):
            crumbs.append((parent.name, url_for("admin.department", department_id=parent.id)))
        crumbs.append((department.name, url_for("admin.department", department_id=department.id)))
    return crumbs


def _nodes(parent_id: int | None) -> list[dict[str, Any]]:
    rows = service.children(parent_id)
    ids = [d.id for d in rows]
    branches = queries.with_children(ids)
    counts = queries.member_counts(ids)
    return [
        {"dept": d, "has_children": d.id in branches, "members": counts.get(d.id, 0)} for d in rows
    ]


@bp.get("/departments")
@require("directory.read")
def departments() -> str:
    """The department tree: top level now, deeper levels fetched when a node opens."""
    return render_template(
        "admin/departments.html",
        nodes=_nodes(None),
        crumbs=[(gettext("Departments"), None)],
    )


@bp.get("/departments/<int:department_id>/children")
@require("directory.read")
def department_children(department_id: int) -> str:
    """One tree level as an HTML fragment (the tree's lazy expansion)."""
    _department(department_id)
    return render_template("admin/_tree_level.html", nodes=_nodes(department_id))


@bp.get("/departments/<int:department_id>")
@require("directory.read")
def department(department_id: int) -> str:
    """A department: its sub-departments, its members, edit, move and delete."""
    dept = _department(department_id)
    form = DepartmentForm(obj=dept)
    return render_template(
        "admin/department.html",
        dept=dept,
        form=form,
        nodes=_nodes(dept.id),
        members=queries.count(Membership, Membership.department_id == dept.id),
        crumbs=_crumbs(dept),
    )


@bp.post("/departments/<int:department_id>")
@require("directory.write")
def department_update(department_id: int) -> Any:
    """Rename or reorder a department."""
    dept = _department(department_id)
    form = DepartmentForm()
    if form.validate_on_submit():
        _, error = run_service(
            lambda: service.update_department(
                actor(), dept.id, name=form.name.data, sort_order=form.sort_order.data or 0
            )
        )
        if error is None:
            return done(
                gettext("The department has been saved."),
                url_for("admin.department", department_id=dept.id),
            )
        apply_field_errors(form, error.fields or {"name": error_message(error)})
    html = render_template(
        "admin/department.html",
        dept=dept,
        form=form,
        nodes=_nodes(dept.id),
        members=0,
        crumbs=_crumbs(dept),
    )
    return html, 422


@bp.route("/departments/new", methods=["GET", "POST"])
@require("directory.write")
def department_new() -> Any:
    """Create a department (under `?parent=<id>`, or at the top level)."""
    parent_id = request.args.get("parent", type=int)
    parent = _department(parent_id) if parent_id else None
    form = DepartmentForm()
    if form.validate_on_submit():
        created, error = run_service(
            lambda: service.create_department(
                actor(),
                name=form.name.data,
                parent_id=parent.id if parent else None,
                sort_order=form.sort_order.data or 0,
            )
        )
        if error is None:
            return done(
                gettext("The department has been created."),
                url_for("admin.department", department_id=created.id),
            )
        apply_field_errors(form, error.fields or {"name": error_message(error)})
    status = 422 if form.errors else 200
    crumbs = _crumbs(parent) + [(gettext("New department"), None)]
    return render_template(
        "admin/department_new.html", form=form, parent=parent, crumbs=crumbs
    ), status


@bp.route("/departments/<int:department_id>/move", methods=["GET", "POST"])
@require("directory.write")
def department_move(department_id: int) -> Any:
    """The keyboard-accessible "move to" dialog: search a target, pick it, move."""
    dept = _department(department_id)
    error_text = None
    if request.method == "POST" and confirmed():
        raw = request.form.get("target", "")
        target = None if raw == "root" else (int(raw) if raw.isdigit() else -1)
        if target == -1:
            error_text = gettext("Choose where to move the department.")
        else:
            _, error = run_service(lambda: service.move_department(actor(), dept.id, target))
            if error is None:
                return done(
                    gettext("The department has been moved."),
                    url_for("admin.department", department_id=dept.id),
                )
            error_text = error_message(error)
    q = request.args.get("q", "").strip()
    candidates = queries.search_departments(q, limit=30) if q else service.children(None)[:30]
    candidates = [c for c in candidates if not c.path.startswith(dept.path)]
    status = 422 if error_text else 200
    return render_template(
        "admin/department_move.html",
        dept=dept,
        q=q,
        candidates=candidates,
        error_text=error_text,
        crumbs=_crumbs(dept) + [(gettext("Move"), None)],
    ), status


@bp.route("/departments/<int:department_id>/delete", methods=["GET", "POST"])
@require("directory.write")
def department_delete(department_id: int) -> Response:
    """Delete an empty department, after confirmation."""
    dept = _department(department_id)
    reason = None
    if confirmed():
        parent_id = dept.parent_id
        _, error = run_service(lambda: service.delete_department(actor(), dept.id))
        if error is None:
            target = (
                url_for("admin.department", department_id=parent_id)
                if parent_id
                else url_for("admin.departments")
            )
            return done(gettext("The department has been deleted."), target)
        reason = error_message(error)
    response = confirm_page(
        title=gettext("Delete department"),
        question=gettext("Delete the department %(name)s? This cannot be undone.", name=dept.name),
        confirm_label=gettext("Delete"),
        cancel_url=url_for("admin.department", department_id=dept.id),
        crumbs=_crumbs(dept),
        details=[(gettext("Error"), reason)] if reason else (),
        status=422 if reason else 200,
    )
    return response
