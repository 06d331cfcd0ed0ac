"""Department tree writes and reads (materialised path; see `directory.models`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, literal, select, update

from idaas.directory.errors import ValidationFailed
from idaas.directory.models import LOCAL_SOURCE, Department, Membership
from idaas.directory.normalise import InvalidValue, clean_text
from idaas.directory.service import unit
from idaas.directory.service.attributes import merge_values, validate_values
from idaas.directory.service.unit import (
    check_writable,
    fetch,
    raise_if,
    record_change,
    unit_of_work,
)
from idaas.extensions import db

UPDATABLE = ("name", "sort_order", "attributes")


def get_department(department_id: int) -> Department:
    """A department by id, or NotFound."""
    return fetch(Department, department_id, lazy_gettext("Department %(id)s does not exist."))


def children(parent_id: int | None) -> list[Department]:
    """Direct children of a department (or the roots), in display order."""
    query = select(Department).where(
        Department.parent_id.is_(None) if parent_id is None else Department.parent_id == parent_id
    )
    return list(db.session.scalars(query.order_by(Department.sort_order, Department.id)))


def subtree(department_id: int, include_self: bool = True) -> list[Department]:
    """A department and all its descendants, parents before children."""
    root = get_department(department_id)
    query = select(Department).where(Department.path.startswith(root.path, autoescape=True))
    if not include_self:
        query = query.where(Department.id != root.id)
    return list(db.session.scalars(query.order_by(Department.depth, Department.sort_order)))


def subtree_ids(department_id: int) -> list[int]:
    """Ids of a department and its descendants (one indexed query)."""
    root = get_department(department_id)
    query = select(Department.id).where(Department.path.startswith(root.path, autoescape=True))
    return list(db.session.scalars(query))


def ancestors(department_id: int) -> list[Department]:
    """The chain from the root down to the department's parent."""
    department = get_department(department_id)
    ids = [int(part) for part in department.path.strip("/").split("/")[:-1]]
    if not ids:
        return []
    found = {d.id: d for d in db.session.scalars(select(Department).where(Department.id.in_(ids)))}
    return [found[i] for i in ids]


def _clean_name(name: Any, errors: dict[str, str]) -> str | None:
    try:
        value = clean_text(name, 128)
    except InvalidValue as exc:
        errors["name"] = str(exc)
        return None
    if not value:
        errors["name"] = gettext("A name is required.")
    elif "/" in value:
        errors["name"] = gettext("A department name cannot contain '/'.")
    return value


def _check_sibling_name(name: str, parent_id: int | None, exclude_id: int | None = None) -> None:
    query = select(Department.id).where(func.lower(Department.name) == name.lower())
    query = query.where(
        Department.parent_id.is_(None) if parent_id is None else Department.parent_id == parent_id
    )
    if exclude_id is not None:
        query = query.where(Department.id != exclude_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ValidationFailed(
            {"name": gettext("A department with this name already exists here.")}
        )


def create_department(
    origin: str,
    *,
    name: str,
    parent_id: int | None = None,
    sort_order: int = 0,
    source: str = LOCAL_SOURCE,
    attributes: dict[str, Any] | None = None,
) -> Department:
    """Create a department under `parent_id` (a root when None)."""
    errors: dict[str, str] = {}
    clean = _clean_name(name, errors)
    values = validate_values("department", attributes or {}, errors, creating=True)
    raise_if(errors)
    assert clean is not None
    with unit_of_work():
        parent = get_department(parent_id) if parent_id is not None else None
        _check_sibling_name(clean, parent_id)
        department = Department(
            name=clean,
            parent_id=parent_id,
            path="/",
            depth=(parent.depth + 1) if parent else 0,
            sort_order=int(sort_order),
            source=source,
            attributes=values,
        )
        db.session.add(department)
        db.session.flush()
        department.path = f"{parent.path if parent else '/'}{department.id}/"
        record_change(
            origin,
            "department",
            department.id,
            "created",
            department.version,
            {"name": clean, "parent_id": parent_id},
        )
    return department


@contextmanager
def _writing(
    origin: str, department_id: int, expected_version: int | None, fields: Iterable[str]
) -> Iterator[Department]:
    """A unit of work on a department, refused when stale or when `origin` may not change
    `fields` (the department's source owns them)."""
    with unit.writing(get_department, department_id, expected_version) as department:
        check_writable(origin, department.source, "department", fields)
        yield department


def update_department(
    origin: str, department_id: int, *, expected_version: int | None = None, **fields: Any
) -> Department:
    """Change a department's name, sort order or custom attributes."""
    unit.refuse_unknown_fields(fields, UPDATABLE)
    with _writing(origin, department_id, expected_version, fields) as department:
        errors: dict[str, str] = {}
        changes: dict[str, Any] = {}
        if "name" in fields:
            name = _clean_name(fields["name"], errors)
            if name and name != department.name:
                _check_sibling_name(name, department.parent_id, department.id)
                department.name = changes["name"] = name
        if "sort_order" in fields and fields["sort_order"] != department.sort_order:
            department.sort_order = changes["sort_order"] = int(fields["sort_order"])
        if "attributes" in fields:
            merged = merge_values("department", department.attributes, fields["attributes"] or {})
            values = validate_values("department", merged, errors, exclude_id=department.id)
            if values != department.attributes:
                department.attributes = changes["attributes"] = values
        raise_if(errors)
        unit.record_new_version(origin, "department", department, "updated", changes)
    return department


def move_department(
    origin: str,
    department_id: int,
    new_parent_id: int | None,
    *,
    expected_version: int | None = None,
) -> Department:
    """Move a department (and its whole subtree) under another parent, in one transaction."""
    with _writing(origin, department_id, expected_version, ["parent_id"]) as department:
        if new_parent_id == department.parent_id:
            return department
        parent = get_department(new_parent_id) if new_parent_id is not None else None
        if parent is not None and parent.path.startswith(department.path):
            raise ValidationFailed(
                {"parent_id": gettext("A department cannot move under itself or its descendants.")}
            )
        _check_sibling_name(department.name, new_parent_id, department.id)
        old_path, old_parent = department.path, department.parent_id
        new_path = f"{parent.path if parent else '/'}{department.id}/"
        depth_delta = ((parent.depth + 1) if parent else 0) - department.depth
        db.session.execute(
            update(Department)
            .where(Department.path.startswith(old_path, autoescape=True))
            .values(
                path=literal(new_path) + func.substr(Department.path, len(old_path) + 1),
                depth=Department.depth + depth_delta,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.expire_all()
        department = get_department(department_id)
        department.parent_id = new_parent_id
        moved = {"parent_id": new_parent_id, "previous_parent_id": old_parent}
        unit.record_new_version(origin, "department", department, "moved", moved)
    return department


def delete_department(
    origin: str, department_id: int, *, expected_version: int | None = None
) -> None:
    """Delete an empty department (no sub-departments, no members)."""
    with _writing(origin, department_id, expected_version, ["parent_id"]) as department:
        has_children = db.session.scalar(
            select(Department.id).where(Department.parent_id == department.id).limit(1)
        )
        if has_children is not None:
            raise ValidationFailed(
                {"department": gettext("Move or delete its sub-departments first.")}
            )
        has_members = db.session.scalar(
            select(Membership.account_id).where(Membership.department_id == department.id).limit(1)
        )
        if has_members is not None:
            raise ValidationFailed({"department": gettext("Move its members elsewhere first.")})
        db.session.delete(department)
        record_change(origin, "department", department_id, "deleted", department.version + 1, {})
