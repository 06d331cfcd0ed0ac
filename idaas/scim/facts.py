"""Load, in a few queries per page, the facts SCIM representations need from other tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, literal, select, union_all
from sqlalchemy.orm import aliased

from idaas.directory.models import (
    Account,
    Department,
    ExternalIdentity,
    ExternalReference,
    Group,
    GroupMember,
)
from idaas.extensions import db
from idaas.scim.casting import DepartmentFacts, GroupFacts, UserFacts


def external_ids(system: str, object_type: str, ids: Sequence[int]) -> dict[int, str]:
    """Our id -> the client's externalId, for the objects that have one."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(ExternalReference.object_id, ExternalReference.external_id).where(
            ExternalReference.system == system,
            ExternalReference.object_type == object_type,
            ExternalReference.object_id.in_([str(i) for i in ids]),
        )
    )
    return {int(object_id): external_id for object_id, external_id in rows}


@cache
def _user_rows() -> Any:
    """The UNION ALL of externalIds, groups, DingTalk identities and managers of the accounts
    `:ids` (`:ref_ids` as text) for client `:system`; built once, as its construction costs more
    CPU than running it."""
    ids: Any = bindparam("ids", expanding=True)
    references = select(
        literal("ref").label("kind"),
        cast(ExternalReference.object_id, Integer).label("account_id"),
        ExternalReference.external_id.label("a"),
        literal(None, String).label("b"),
        literal(None, String).label("c"),
        literal(0).label("n"),
    ).where(
        ExternalReference.system == bindparam("system"),
        ExternalReference.object_type == "account",
        ExternalReference.object_id.in_(bindparam("ref_ids", expanding=True)),
    )
    groups = (
        select(
            literal("group"),
            GroupMember.account_id,
            Group.name,
            literal(None, String),
            literal(None, String),
            Group.id,
        )
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.account_id.in_(ids))
    )
    identities = select(
        literal("dingtalk"),
        ExternalIdentity.account_id,
        ExternalIdentity.tenant,
        ExternalIdentity.subject,
        ExternalIdentity.union_id,
        ExternalIdentity.id,
    ).where(ExternalIdentity.account_id.in_(ids), ExternalIdentity.provider == "dingtalk")
    manager = aliased(Account, name="manager")
    managers = (
        select(
            literal("manager"),
            Account.id,
            manager.uuid,
            manager.display_name,
            literal(None, String),
            literal(0),
        )
        .join(manager, manager.id == Account.manager_id)
        .where(Account.id.in_(ids))
    )
    return union_all(references, groups, identities, managers)


def user_facts(accounts: Sequence[Account], system: str) -> dict[int, UserFacts]:
    """Facts for each account: externalId, groups, department names, organisation, DingTalk,
    manager (the first four in one query)."""
    ids = [a.id for a in accounts]
    facts = {i: UserFacts() for i in ids}
    if not ids:
        return facts
    rows: list[Any] = list(
        db.session.execute(
            _user_rows(), {"ids": ids, "ref_ids": [str(i) for i in ids], "system": system}
        ).all()
    )
    for kind, account_id, a, b, c, n in sorted(rows, key=lambda r: (r[0], r[2] or "", r[5])):
        if kind == "ref":
            facts[account_id].external_id = a
        elif kind == "group":
            facts[account_id].groups.append((n, a))
        elif kind == "manager":
            facts[account_id].manager = (a, b)
        else:
            facts[account_id].dingtalk.append((a, b, c))
    for fact in facts.values():
        fact.dingtalk.sort()
    department_ids: set[int] = set()
    roots: dict[int, int] = {}
    for account in accounts:
        for membership in account.memberships:
            department_ids.add(membership.department_id)
    if department_ids:
        paths = db.session.execute(
            select(Department.id, Department.path, Department.name).where(
                Department.id.in_(department_ids)
            )
        ).tuples()
        names: dict[int, str] = {}
        for department_id, path, name in paths:
            names[department_id] = name
            roots[department_id] = int(path.strip("/").split("/")[0])
        names.update(department_names(set(roots.values()) - set(names)))
        for account in accounts:
            facts[account.id].departments = {
                m.department_id: names.get(m.department_id, "") for m in account.memberships
            }
            primary = next((m for m in account.memberships if m.is_primary), None)
            if primary is not None and primary.department_id in roots:
                facts[account.id].organization = names.get(roots[primary.department_id])
    return facts


def group_facts(
    groups: Sequence[Group], system: str, with_members: bool = True
) -> dict[int, GroupFacts]:
    """Facts for each group: externalId and members (uuid, display name)."""
    ids = [g.id for g in groups]
    facts = {i: GroupFacts() for i in ids}
    for group_id, external_id in external_ids(system, "group", ids).items():
        facts[group_id].external_id = external_id
    if with_members and ids:
        members: dict[int, list[tuple[str, str]]] = defaultdict(list)
        rows = db.session.execute(
            select(GroupMember.group_id, Account.uuid, Account.display_name)
            .join(Account, Account.id == GroupMember.account_id)
            .where(GroupMember.group_id.in_(ids))
            .order_by(Account.id)
        )
        for group_id, member_uuid, name in rows:
            members[group_id].append((member_uuid, name))
        for group_id, entries in members.items():
            facts[group_id].members = entries
    return facts


def department_facts(departments: Sequence[Department], system: str) -> dict[int, DepartmentFacts]:
    """Facts for each department: externalId and the parent's name."""
    ids = [d.id for d in departments]
    facts = {i: DepartmentFacts() for i in ids}
    for department_id, external_id in external_ids(system, "department", ids).items():
        facts[department_id].external_id = external_id
    parents = {d.parent_id for d in departments if d.parent_id is not None}
    names = department_names(parents)
    for department in departments:
        if department.parent_id is not None:
            facts[department.id].parent_name = names.get(department.parent_id)
    return facts


def department_names(ids: set[int]) -> dict[int, str]:
    """Department id -> name, for the ids given (no query for none)."""
    if not ids:
        return {}
    rows = db.session.execute(select(Department.id, Department.name).where(Department.id.in_(ids)))
    return dict(rows.tuples().all())
