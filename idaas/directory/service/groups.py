"""Groups (flat) and their members."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select

from idaas.directory.models import LOCAL_SOURCE, Account, Group, GroupMember
from idaas.directory.normalise import InvalidValue, clean_text
from idaas.directory.service import unit
from idaas.directory.service.accounts import get_account
from idaas.directory.service.unit import (
    check_writable,
    fetch,
    raise_if,
    record_change,
    set_account_link,
    unit_of_work,
)
from idaas.extensions import db


def get_group(group_id: int) -> Group:
    """A group by id, or NotFound."""
    return fetch(Group, group_id, lazy_gettext("Group %(id)s does not exist."))


def list_groups() -> list[Group]:
    """All groups by name."""
    return list(db.session.scalars(select(Group).order_by(Group.name)))


def group_members(group_id: int) -> list[Account]:
    """The accounts in a group."""
    get_group(group_id)
    joined = select(Account).join(GroupMember, GroupMember.account_id == Account.id)
    return list(
        db.session.scalars(joined.where(GroupMember.group_id == group_id).order_by(Account.id))
    )


def groups_of(account_id: int) -> list[Group]:
    """The groups an account belongs to."""
    joined = select(Group).join(GroupMember, GroupMember.group_id == Group.id)
    return list(
        db.session.scalars(joined.where(GroupMember.account_id == account_id).order_by(Group.name))
    )


def _clean(
    fields: dict[str, Any], errors: dict[str, str], exclude_id: int | None
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "name" in fields:
        try:
            clean["name"] = clean_text(fields["name"], 128)
        except InvalidValue as exc:
            errors["name"] = str(exc)
        else:
            if not clean["name"]:
                errors["name"] = gettext("A name is required.")
            else:
                query = select(Group.id).where(func.lower(Group.name) == clean["name"].lower())
                if exclude_id is not None:
                    query = query.where(Group.id != exclude_id)
                if db.session.scalar(query.limit(1)) is not None:
                    errors["name"] = gettext("Another group already uses this name.")
    if "description" in fields:
        try:
            clean["description"] = clean_text(fields["description"], 512)
        except InvalidValue as exc:
            errors["description"] = str(exc)
    return clean


def create_group(
    origin: str, *, name: str, description: str | None = None, source: str = LOCAL_SOURCE
) -> Group:
    """Create a group."""
    errors: dict[str, str] = {}
    clean = _clean({"name": name, "description": description}, errors, None)
    raise_if(errors)
    with unit_of_work():
        group = Group(**clean, source=source)
        db.session.add(group)
        db.session.flush()
        record_change(origin, "group", group.id, "created", group.version, clean)
    return group


def update_group(
    origin: str, group_id: int, *, expected_version: int | None = None, **fields: Any
) -> Group:
    """Rename a group or change its description."""
    unit.refuse_unknown_fields(fields, {"name", "description"})
    with unit.writing(get_group, group_id, expected_version) as group:
        errors: dict[str, str] = {}
        changes = {
            k: v for k, v in _clean(fields, errors, group.id).items() if getattr(group, k) != v
        }
        raise_if(errors)
        check_writable(origin, group.source, "group", changes)
        for name, value in changes.items():
            setattr(group, name, value)
        unit.record_new_version(origin, "group", group, "updated", changes)
    return group


def delete_group(origin: str, group_id: int, *, expected_version: int | None = None) -> None:
    """Delete a group (its members stay as accounts)."""
    with unit.writing(get_group, group_id, expected_version) as group:
        check_writable(origin, group.source, "group", ["name"])
        db.session.delete(group)
        record_change(origin, "group", group_id, "deleted", group.version + 1, {"name": group.name})


def set_group_membership(origin: str, group_id: int, account_id: int, member: bool) -> bool:
    """Add (`member=True`) or remove an account; return whether anything changed."""
    with unit_of_work():
        group = get_group(group_id)
        get_account(account_id)
        check_writable(origin, group.source, "group", ["members"])
        return set_account_link(
            origin,
            "group",
            group,
            GroupMember,
            account_id,
            member,
            ("member_added", "member_removed"),
        )
