"""Tables of directory -> DingTalk push: settings per connection, and what each object became."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import IntPk, ObjectReference, UpdatedAt
from idaas.dingtalk.models import ConnectionFlowSettings
from idaas.extensions import db


class PushSettings(ConnectionFlowSettings, db.Model):  # type: ignore[name-defined]
    """Which local subtree one connection pushes, under which DingTalk department (issue 16.3)."""

    __tablename__ = "dingtalk_push_settings"

    #: the local department whose subtree is pushed (its members and sub-departments)
    source_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )
    #: the DingTalk department that stands for it (its children are our sub-departments)
    root_dept_id: Mapped[int | None] = mapped_column(BigInteger)
    #: what a disabled account becomes in DingTalk: removed (`delete`) or left as it is (`keep`)
    disabled: Mapped[str] = mapped_column(String(16), default="delete")
    updated_at: Mapped[UpdatedAt]


class PushLink(ObjectReference, db.Model):  # type: ignore[name-defined]
    """Our object <-> its DingTalk id for one connection, and the last per-object error.

    Kept by push itself (the directory's external references go with a deleted account, and
    push still has to delete the DingTalk user afterwards)."""

    __tablename__ = "dingtalk_push_link"
    __table_args__ = ObjectReference.one_to_one("connection", "dingtalk_id")

    id: Mapped[IntPk]
    connection: Mapped[str] = mapped_column(String(64))
    dingtalk_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[UpdatedAt]


class NotifySettings(db.Model):  # type: ignore[name-defined]
    """Which account events become DingTalk work notifications for one connection (16.4)."""

    __tablename__ = "dingtalk_notify_settings"

    connection: Mapped[str] = mapped_column(String(64), primary_key=True)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[UpdatedAt]
