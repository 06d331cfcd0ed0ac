"""What each pushed object is in DingTalk (its id) and its last per-object error."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idaas.dingtalk.push.models import PushLink
from idaas.extensions import db


def _key(connection: str, object_type: str, object_id: object) -> dict[str, str]:
    """The columns that name one link (its unique key)."""
    return {"connection": connection, "object_type": object_type, "object_id": str(object_id)}


def find(connection: str, object_type: str, object_id: object) -> PushLink | None:
    """The link of one of our objects."""
    key = _key(connection, object_type, object_id)
    return db.session.scalar(select(PushLink).filter_by(**key))


def dingtalk_id(connection: str, object_type: str, object_id: object) -> str | None:
    """The DingTalk id of one of our objects, if it was pushed."""
    link = find(connection, object_type, object_id)
    return link.dingtalk_id if link is not None else None


def all_of(connection: str, object_type: str) -> list[PushLink]:
    """Every link of a connection for one object type."""
    return list(
        db.session.scalars(
            select(PushLink).where(
                PushLink.connection == connection, PushLink.object_type == object_type
            )
        )
    )


def _row(connection: str, object_type: str, object_id: object) -> PushLink:
    link = find(connection, object_type, object_id)
    if link is None:
        link = PushLink(**_key(connection, object_type, object_id))
        db.session.add(link)
    return link


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent worker wrote the same link first: its row wins
        db.session.rollback()


def remember(connection: str, object_type: str, object_id: object, value: str | None) -> None:
    """Store the DingTalk id (and clear the error); commits."""
    link = _row(connection, object_type, object_id)
    link.dingtalk_id, link.error = value, None
    _commit()


def refused(connection: str, object_type: str, object_id: object, message: str) -> None:
    """Keep the reason DingTalk (or the mapping) refused this object; commits."""
    _row(connection, object_type, object_id).error = message[:2000]
    _commit()


def forget(connection: str, object_type: str, object_id: object) -> None:
    """Drop a link (the DingTalk object is gone); commits."""
    link = find(connection, object_type, object_id)
    if link is not None:
        db.session.delete(link)
        db.session.commit()
