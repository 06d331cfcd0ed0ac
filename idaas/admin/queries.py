"""Read-only queries the console needs that the services do not offer (counts, search, flags)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from idaas.applications.models import Application
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


def search_departments(q: str, limit: int = 20) -> list[Department]:
    """Departments whose name contains `q` (case-insensitive), shallowest first."""
    pattern = f"%{q.strip()}%"
    return list(
        db.session.scalars(
            select(Department)
            .where(Department.name.ilike(pattern))
            .order_by(Department.depth, Department.name, Department.id)
            .limit(limit)
        )
    )


def search_accounts(q: str, limit: int = 20) -> list[Account]:
    """Accounts matching `q` in username, email, name, mobile or employee number."""
    pattern = f"%{q.strip().lower()}%"
    return list(
        db.session.scalars(
            select(Account)
            .where(
                or_(
                    Account.username_key.like(pattern),
                    Account.email_key.like(pattern),
                    Account.display_name.ilike(pattern),
                    Account.mobile.like(pattern),
                    Account.employee_number.ilike(pattern),
                )
            )
            .order_by(Account.id)
            .limit(limit)
        )
    )


def search_applications(q: str, limit: int = 20) -> list[Application]:
    """Applications whose name or client id contains `q`."""
    pattern = f"%{q.strip()}%"
    return list(
        db.session.scalars(
            select(Application)
            .where(or_(Application.name.ilike(pattern), Application.client_id.ilike(pattern)))
            .order_by(Application.id)
            .limit(limit)
        )
    )


def departments_by_id(ids: set[int]) -> dict[int, Department]:
    """Departments keyed by id (one query)."""
    if not ids:
        return {}
    return {d.id: d for d in db.session.scalars(select(Department).where(Department.id.in_(ids)))}
