"""Server-side data tables: sort by a whitelisted column, keyset (cursor) paging, signed cursors.

A cursor is the (sort value, id) of the last row shown, signed so it cannot be forged into an
arbitrary query; paging is `WHERE (col, id) > (:v, :id) ORDER BY col, id LIMIT n+1`, which
stays fast on page 5,000 as on page 1 (no OFFSET scan).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from idaas.extensions import db

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass
class Page(Generic[T]):
    """One page of rows and how to get the next one."""

    items: list[T]
    next_cursor: str | None
    sort: str
    direction: str
    limit: int
    args: dict[str, str] = field(default_factory=dict)

    def url_args(self, **changes: Any) -> dict[str, Any]:
        """The current query arguments with `changes` applied (for links), no empty values."""
        merged = {**self.args, **changes}
        return {k: v for k, v in merged.items() if v not in (None, "")}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt="idaas.admin.cursor")


def _encode(value: Any) -> Any:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _decode(value: Any) -> Any:
    return datetime.fromisoformat(value["t"]) if isinstance(value, dict) else value


def encode_cursor(kind: str, sort: str, value: Any, last_id: int) -> str:
    """A signed cursor after the row (`value`, `last_id`) of listing `kind` sorted by `sort`."""
    return str(_serializer().dumps([kind, sort, _encode(value), last_id]))


def decode_cursor(kind: str, sort: str, cursor: str | None) -> tuple[Any, int] | None:
    """(sort value, id) from a cursor, or None for the first page or a foreign/damaged cursor."""
    if not cursor:
        return None
    try:
        data = _serializer().loads(cursor)
        if data[0] == kind and data[1] == sort and isinstance(data[3], int):
            return _decode(data[2]), int(data[3])
    except (BadSignature, ValueError, TypeError, KeyError, IndexError):
        pass
    return None


def paginate(
    kind: str,
    query: Select[Any],
    id_column: InstrumentedAttribute[Any],
    sorts: dict[str, InstrumentedAttribute[Any]],
    default_sort: str,
    default_direction: str = "asc",
) -> Page[Any]:
    """Run one page of `query` as the request's `sort`, `dir`, `cursor` and `limit` ask."""
    sort = request.args.get("sort") or default_sort
    if sort not in sorts:
        sort = default_sort
    direction = request.args.get("dir") or default_direction
    if direction not in ("asc", "desc"):
        direction = default_direction
    try:
        limit = min(max(int(request.args.get("limit") or DEFAULT_LIMIT), 1), MAX_LIMIT)
    except ValueError:
        limit = DEFAULT_LIMIT
    column = sorts[sort]
    after = decode_cursor(kind, f"{sort}.{direction}", request.args.get("cursor"))
    query = query.order_by(None)
    if after is not None:
        value, last_id = after
        if column is id_column:
            query = query.where(id_column > last_id if direction == "asc" else id_column < last_id)
        elif direction == "asc":
            query = query.where(or_(column > value, and_(column == value, id_column > last_id)))
        else:
            query = query.where(or_(column < value, and_(column == value, id_column < last_id)))
    if column is id_column:
        order = [id_column.asc() if direction == "asc" else id_column.desc()]
    elif direction == "asc":
        order = [column.asc(), id_column.asc()]
    else:
        order = [column.desc(), id_column.desc()]
    rows = list(db.session.scalars(query.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(
            kind,
            f"{sort}.{direction}",
            getattr(last, column.key),
            int(getattr(last, id_column.key)),
        )
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    return Page(rows, next_cursor, sort, direction, limit, args)
