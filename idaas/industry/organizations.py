"""The organisation tree (§5): idaas' department tree, shown at most four levels deep."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from idaas.directory import service as directory
from idaas.directory.models import Department
from idaas.extensions import db
from idaas.industry import errors, mapping, params
from idaas.industry.context import Context, department, directory_errors, required_app

LEVELS = 4  # tree/get shows at most four levels (§16.4), and add keeps new nodes within them


def _node(dept: Department, parent: str | None) -> dict[str, Any]:
    return {
        "organizationId": mapping.org_id_of(dept.id),
        "organizationName": dept.name,
        "order": dept.sort_order,
        "parentId": parent,
        "leaf": True,
        "childList": None,
    }


def tree(ctx: Context) -> Any:
    """The tree from the root(s), or from `orgId`, four levels deep (§5.1)."""
    org = params.text(ctx.params, "orgId")
    if org is not None:
        department_id = mapping.department_id_of(org)
        root = db.session.get(Department, department_id) if department_id else None
        if root is None:
            raise errors.OrganizationNotExist()
        roots = [root]
        scope = select(Department).where(Department.path.startswith(root.path, autoescape=True))
        base = root.depth
    else:
        roots = list(
            db.session.scalars(
                select(Department)
                .where(Department.parent_id.is_(None))
                .order_by(Department.sort_order, Department.id)
            )
        )
        scope = select(Department)
        base = 0
    rows = list(
        db.session.scalars(
            scope.where(Department.depth <= base + LEVELS).order_by(
                Department.depth, Department.sort_order, Department.id
            )
        )
    )
    nodes: dict[int, dict[str, Any]] = {}
    root_ids = {r.id for r in roots}
    for dept in rows:
        parent = dept.parent_id if dept.id not in root_ids else None
        parent_id = mapping.org_id_of(dept.parent_id) if dept.parent_id else None
        nodes[dept.id] = _node(dept, parent_id)
        if parent is not None and parent in nodes and dept.depth <= base + LEVELS - 1:
            holder = nodes[parent]
            holder["leaf"] = False
            holder["childList"] = (holder["childList"] or []) + [nodes[dept.id]]
        elif parent is not None and parent in nodes:
            nodes[parent]["leaf"] = False  # a fifth level exists but is not shown
    return [nodes[r.id] for r in roots if r.id in nodes]


def add(ctx: Context) -> Any:
    """Add a node under `parentId`, or the single root when it is omitted (§5.2)."""
    required_app(ctx)
    name = params.required_text(ctx.params, "organizationName")
    parent_org = params.text(ctx.params, "parentId")
    parent = department(parent_org, "parentId") if parent_org else None
    if parent is None:
        has_root = db.session.scalar(
            select(Department.id).where(Department.parent_id.is_(None)).limit(1)
        )
        if has_root is not None:
            raise errors.ParameterError(
                f"parentId: {gettext('Only one root organization may exist; name a parent.')}"
            )
    elif parent.depth + 1 >= LEVELS:
        raise errors.ParameterError(
            "parentId: "
            + gettext("Organizations are at most %(levels)s levels deep.", levels=LEVELS)
        )
    with directory_errors():
        created = directory.create_department(
            ctx.origin, name=name, parent_id=parent.id if parent else None
        )
    return mapping.org_id_of(created.id)


def modify(ctx: Context) -> Any:
    """Rename a node (§5.3)."""
    required_app(ctx)
    org = params.required_text(ctx.params, "organizationId")
    name = params.required_text(ctx.params, "organizationName")
    target = department(org, "organizationId")
    with directory_errors():
        directory.update_department(ctx.origin, target.id, name=name)
    return mapping.org_id_of(target.id)


def delete(ctx: Context) -> Any:
    """Delete an empty node under the root; the root itself stays (§5.4)."""
    required_app(ctx)
    org = params.required_text(ctx.params, "organizationId")
    target = department(org, "organizationId")
    if target.parent_id is None:
        raise errors.ParameterError(
            f"organizationId: {gettext('The root organization cannot be deleted.')}"
        )
    with directory_errors():
        directory.delete_department(ctx.origin, target.id)
    return mapping.org_id_of(target.id)
