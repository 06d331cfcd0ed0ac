"""Access-policy pickers: departments and accounts by name, not raw ids, and back."""

from __future__ import annotations

import re

from flask_babel import gettext
from sqlalchemy import func, select

from idaas.directory.models import Account, Department
from idaas.extensions import db

_WITH_ID = re.compile(r"^(?P<name>.*?)\s*#(?P<id>\d{1,10})$")


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def department_lines(ids: list[int]) -> str:
    """The departments as the picker shows them: a name per line, `#id` when names repeat."""
    if not ids:
        return ""
    rows = list(
        db.session.execute(select(Department.id, Department.name).where(Department.id.in_(ids)))
    )
    names = [name for _, name in rows]
    repeated = set(
        db.session.scalars(
            select(Department.name)
            .where(Department.name.in_(names))
            .group_by(Department.name)
            .having(func.count() > 1)
        )
    )
    return "\n".join(f"{name} #{id_}" if name in repeated else name for id_, name in rows)


def resolve_departments(text: str | None) -> tuple[list[int], list[str]]:
    """Department ids for the lines (`name` or `name #id`), and a problem per bad line."""
    ids: set[int] = set()
    problems: list[str] = []
    for line in _lines(text):
        match = _WITH_ID.match(line)
        if match:
            found = db.session.get(Department, int(match["id"]))
            if found is None:
                problems.append(gettext("No department has id %(id)s.", id=match["id"]))
            else:
                ids.add(found.id)
            continue
        matches = sorted(db.session.scalars(select(Department.id).where(Department.name == line)))
        if not matches:
            problems.append(gettext("No department is called “%(name)s”.", name=line))
        elif len(matches) > 1:
            problems.append(
                gettext(
                    "%(n)d departments are called “%(name)s”: add the one you mean as "
                    "“%(name)s #id” (ids %(ids)s).",
                    n=len(matches),
                    name=line,
                    ids=", ".join(str(i) for i in matches[:10]),
                )
            )
        else:
            ids.add(matches[0])
    return sorted(ids), problems


def account_lines(ids: list[int]) -> str:
    """The accounts as the picker shows them: a username per line."""
    if not ids:
        return ""
    return "\n".join(
        db.session.scalars(
            select(Account.username).where(Account.id.in_(ids)).order_by(Account.username_key)
        )
    )


def resolve_accounts(text: str | None) -> tuple[list[int], list[str]]:
    """Account ids for the usernames, and a problem per unknown one."""
    ids: set[int] = set()
    problems: list[str] = []
    for line in _lines(text):
        found = db.session.scalar(select(Account.id).where(Account.username_key == line.lower()))
        if found is None:
            problems.append(gettext("No account has the username “%(name)s”.", name=line))
        else:
            ids.add(found)
    return sorted(ids), problems
