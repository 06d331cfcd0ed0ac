"""The unit of work every directory write goes through: validate, change, log, commit."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from flask_babel import LazyString, gettext
from sqlalchemy.exc import IntegrityError

from idaas import audit
from idaas.directory.errors import (
    DirectoryError,
    NotFound,
    SourceOwned,
    ValidationFailed,
    VersionConflict,
)
from idaas.directory.models import LOCAL_SOURCE
from idaas.events.service import append_change, check_origin
from idaas.extensions import db

# Fields an external authority owns, by the kind of source (`dingtalk:<connection>` -> dingtalk).
OWNED_FIELDS: dict[str, dict[str, frozenset[str]]] = {
    "dingtalk": {
        "account": frozenset(
            {"display_name", "mobile", "email", "employee_number", "title", "memberships"}
        ),
        "department": frozenset({"name", "parent_id", "sort_order"}),
    },
    "scim": {
        "account": frozenset({"username", "display_name", "email", "mobile", "employee_number"}),
        "department": frozenset({"name", "parent_id"}),
        "group": frozenset({"name", "members"}),
    },
}

T = TypeVar("T")


class Versioned(Protocol):
    """A directory row with an id and an optimistic-lock version."""

    id: Any
    version: Any


V = TypeVar("V", bound=Versioned)
_ATOMIC = "idaas.directory.atomic"

# Unique constraints / indexes -> the field the person should fix.
_CONSTRAINT_FIELDS = {
    "username_key": "username",
    "email_key": "email",
    "mobile": "mobile",
    "employee_number": "employee_number",
    "account_group_name": "name",
    "role_code": "code",
    "attribute_definition_target": "key",
    "external_identity_provider": "subject",
    "external_identity_account_id": "account_id",
    "uq_membership_primary": "primary_department_id",
}


@contextmanager
def _committed() -> Iterator[None]:
    """Commit what the block did, or roll it all back; a unique-value clash is a field error."""
    try:
        yield
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ValidationFailed(
            {_field_for(exc): gettext("This value is already in use.")}
        ) from None
    except BaseException:
        db.session.rollback()
        raise


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block did, or roll it all back (events and audit rows included).

    Nested in another unit of work or in `atomic()` the block only flushes: the outermost
    block commits or rolls back. So the receivers of directory signals, which run inside the
    write that sent them, add their work (ended sessions, removed links) to its transaction.
    """
    if db.session.info.get(_ATOMIC):
        yield
        db.session.flush()
        return
    with atomic():
        yield


@contextmanager
def writing(get: Callable[[int], V], object_id: int, expected_version: int | None) -> Iterator[V]:
    """A unit of work on the row `get` loads, refused when `expected_version` is stale."""
    with unit_of_work():
        row = get(object_id)
        check_version(row.version, expected_version)
        yield row


@contextmanager
def atomic() -> Iterator[None]:
    """Several service writes as one transaction: all of them are committed, or none.

    Used where one request maps to several service calls (a SCIM PUT or PATCH that changes
    profile fields, status and group memberships), so a refusal of the last one never leaves
    the first ones applied.
    """
    if db.session.info.get(_ATOMIC):
        yield
        return
    db.session.info[_ATOMIC] = True
    try:
        with _committed():
            yield
    finally:
        db.session.info.pop(_ATOMIC, None)


@contextmanager
def savepoint() -> Iterator[None]:
    """One step inside `atomic()` that may fail alone: its writes are undone, the others stay.

    Used by SCIM Bulk (RFC 7644 §3.7), where every operation succeeds or fails by itself but
    the whole request is one transaction.
    """
    _hold_write_lock()
    nested = db.session.begin_nested()
    try:
        yield
        db.session.flush()
    except IntegrityError as exc:
        nested.rollback()
        raise ValidationFailed(
            {_field_for(exc): gettext("This value is already in use.")}
        ) from None
    except BaseException:
        nested.rollback()
        raise
    nested.commit()


def _hold_write_lock() -> None:
    """On SQLite, start the transaction with BEGIN IMMEDIATE before the first SAVEPOINT.

    A SAVEPOINT outside a transaction starts a deferred one whose reads pin a snapshot; its
    first write then fails at once ("database is locked", no busy wait) when another
    connection wrote meanwhile. BEGIN IMMEDIATE waits for the write lock up front (busy
    timeout), and the savepoints then nest in the one transaction `atomic()` commits.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _field_for(exc: IntegrityError) -> str:
    text = str(exc.orig)
    for marker, field in _CONSTRAINT_FIELDS.items():
        if marker in text:
            return field
    match = re.search(r"\.(\w+)$", text.splitlines()[0]) if text else None
    return match.group(1) if match else "value"


def record_change(
    origin: str,
    object_type: str,
    object_id: object,
    action: str,
    version: int,
    changes: dict[str, Any] | None = None,
) -> None:
    """Append the change event and the audit row for one write."""
    append_change(object_type, object_id, action, origin, version, changes)
    audit.record(
        origin,
        f"{object_type}.{action}",
        target=f"{object_type}:{object_id}",
        details={"version": version, "changes": changes or {}},
    )


def record_new_version(
    origin: str, object_type: str, row: Versioned, action: str, changes: dict[str, Any]
) -> None:
    """When there are `changes`, bump the row's version and record them as `action`."""
    if changes:
        row.version += 1
        record_change(origin, object_type, row.id, action, row.version, changes)


def refuse_unknown_fields(fields: Iterable[str], allowed: Iterable[str]) -> None:
    """Refuse (ValidationFailed) every field that is not one of `allowed`."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationFailed({name: gettext("This field cannot be changed.") for name in unknown})


def set_account_link(
    origin: str,
    object_type: str,
    owner: Any,
    link: Any,
    account_id: int,
    linked: bool,
    actions: tuple[str, str],
) -> bool:
    """Add (`linked`) or remove the `link` row (`<object_type>_id`, `account_id`) tying an
    account to `owner`, a group or role; bump the owner's version and record `actions[0]`
    (added) or `actions[1]` (removed). Whether anything changed."""
    existing = db.session.get(link, (owner.id, account_id))
    if bool(existing) == linked:
        return False
    if linked:
        db.session.add(link(**{f"{object_type}_id": owner.id, "account_id": account_id}))
    else:
        db.session.delete(existing)
    owner.version += 1
    record_change(
        origin,
        object_type,
        owner.id,
        actions[0] if linked else actions[1],
        owner.version,
        {"account_id": account_id},
    )
    return True


def fetch(model: type[T], object_id: int, missing: LazyString) -> T:
    """The `model` row with primary key `object_id`; NotFound with the `%(id)s` message
    `missing` when there is none."""
    row = db.session.get(model, object_id)
    if row is None:
        raise NotFound(str(missing) % {"id": object_id})
    return row


def check_writable(origin: str, source: str, object_type: str, fields: Iterable[str]) -> None:
    """Refuse a change by `origin` to fields that the object's external `source` owns."""
    check_origin(origin)
    if source == LOCAL_SOURCE or origin == source:
        return
    owned = OWNED_FIELDS.get(source.split(":", 1)[0], {}).get(object_type, frozenset())
    blocked = sorted(set(fields) & owned)
    if blocked:
        message = gettext("Managed by %(source)s: change it there, not here.", source=source)
        raise SourceOwned(message, {name: message for name in blocked})


def check_version(current: int, expected: int | None) -> None:
    """Refuse a write based on a stale version (ETag / If-Match)."""
    if expected is not None and expected != current:
        raise VersionConflict(
            gettext("This object was changed by someone else; reload it and try again.")
        )


def raise_if(errors: dict[str, str]) -> None:
    """Raise ValidationFailed when any field has an error."""
    if errors:
        raise ValidationFailed(errors)


__all__ = [
    "DirectoryError",
    "atomic",
    "check_version",
    "check_writable",
    "raise_if",
    "record_change",
    "savepoint",
    "unit_of_work",
]
