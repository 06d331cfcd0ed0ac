"""Column types, mixins and an index helper the models share (SQLAlchemy 2.0 declarations)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from idaas.extensions import utcnow

#: An integer surrogate primary key.
IntPk = Annotated[int, mapped_column(primary_key=True)]
#: When the row was written.
CreatedAt = Annotated[datetime, mapped_column(default=utcnow)]
#: When the row was last changed.
UpdatedAt = Annotated[datetime, mapped_column(default=utcnow, onupdate=utcnow)]
#: The account a row belongs to (indexed; the row goes with the account).
AccountFk = Annotated[int, mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)]
#: The SHA-256 (hex) of a random token; the token itself is never stored.
TokenHash = Annotated[str, mapped_column(String(64), unique=True)]


class AccountRow:
    """A row that belongs to one account and goes with it: its id, the account, when written."""

    id: Mapped[IntPk]
    account_id: Mapped[AccountFk]
    created_at: Mapped[CreatedAt]


class ObjectReference:
    """A directory object (its type and id) as known in another system."""

    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))

    @staticmethod
    def one_to_one(scope: str, external_id: str) -> tuple[UniqueConstraint, UniqueConstraint]:
        """Within `scope`: one row per object, and one object per id in the other system."""
        return (
            UniqueConstraint(scope, "object_type", "object_id"),
            UniqueConstraint(scope, "object_type", external_id),
        )


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index of only the rows matching `where`, made the same on SQLite and PostgreSQL."""
    condition = text(where)
    return Index(name, *columns, unique=unique, sqlite_where=condition, postgresql_where=condition)
