"""Read-only queries the console needs that the services do not offer (counts, search, flags)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from idaas.applications.models import Application
from idaas.directory import service
from idaas.directory.models import Account, Department, Membership
from idaas.extensions import db


def count(model: Any, *where: Any) -> int:
    """`SELECT count(*)` of a model with optional conditions."""
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def with_children(ids: list[int]) -> set[int]:
    """Which of the departments `ids` have at least one sub-department (one query)."""
    if not ids:
        return set()
    rows = db.session.scalars(
        select(Department.parent_id).where(Department.parent_id.in_(ids)).distinct()
    )
    return {int(r) for r in rows if r is not None}


def member_counts(ids: list[int]) -> dict[int, int]:
    """Direct member count of each department in `ids` (one grouped query)."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(Membership.department_id, func.count())
        .where(Membership.department_id.in_(ids))
        .group_by(Membership.department_id)
    )
    return {int(d): int(n) for d, n in rows}


def _containing(
    model: Any, columns: tuple[Any, ...], order: tuple[Any, ...], q: str, limit: int
) -> list[Any]:
    """Rows of `model` where any of `columns` contains `q` (case-insensitive), in `order`."""
    pattern = f"%{q.strip()}%"
    condition = or_(*(column.ilike(pattern) for column in columns))
    return list(db.session.scalars(select(model).where(condition).order_by(*order).limit(limit)))


def search_departments(q: str, limit: int = 20) -> list[Department]:
    """Departments whose name contains `q` (case-insensitive), shallowest first."""
    order = (Department.depth, Department.name, Department.id)
    return _containing(Department, (Department.name,), order, q, limit)


def search_accounts(q: str, limit: int = 20) -> list[Account]:
    """Accounts matching `q` in username, email, name, mobile or employee number."""
    return service.list_accounts(limit=limit, q=q)


def search_applications(q: str, limit: int = 20) -> list[Application]:
    """Applications whose name or client id contains `q`."""
    columns = (Application.name, Application.client_id)
    return _containing(Application, columns, (Application.id,), q, limit)


def departments_by_id(ids: set[int]) -> dict[int, Department]:
    """Departments keyed by id (one query)."""
    if not ids:
        return {}
    return {d.id: d for d in db.session.scalars(select(Department).where(Department.id.in_(ids)))}
