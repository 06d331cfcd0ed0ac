"""SCIM push targets (one per application) and their delivery log (issue 16 item 1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import CreatedAt, IntPk, ObjectReference, UpdatedAt
from idaas.extensions import db, utcnow

AUTH_TYPES = ("none", "basic", "bearer", "oauth2")
DEPARTMENT_MODES = ("none", "groups", "custom")
DEPROVISION = ("deactivate", "delete")


class ProvisioningTarget(db.Model):  # type: ignore[name-defined]
    """Where and how an application is provisioned over SCIM; secrets are sealed (secretbox)."""

    __tablename__ = "provisioning_target"

    id: Mapped[IntPk]
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), unique=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    base_url: Mapped[str] = mapped_column(String(512))
    users: Mapped[bool] = mapped_column(Boolean, default=True)
    groups: Mapped[bool] = mapped_column(Boolean, default=True)
    departments: Mapped[str] = mapped_column(String(16), default="none")
    auth_type: Mapped[str] = mapped_column(String(16), default="none")
    # Non-secret auth settings: {"username", "client_id", "token_url", "scope"}.
    auth: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    # {"everyone": true} / {"policy": true} / {"departments": [...], "groups": [...]}.
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deprovision: Mapped[str] = mapped_column(String(16), default="deactivate")
    mapping: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The SCIM client whose changes are not pushed back here (`scim:<client_id>`).
    echo_client: Mapped[str | None] = mapped_column(String(64))
    # What the target's ServiceProviderConfig said: {"patch", "filter", "checked_at"}.
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class ProvisioningLog(db.Model):  # type: ignore[name-defined]
    """One request to a target: what was sent (summary), its status, the target's error text."""

    __tablename__ = "provisioning_log"

    id: Mapped[IntPk]
    target_id: Mapped[int] = mapped_column(
        ForeignKey("provisioning_target.id", ondelete="CASCADE"), index=True
    )
    delivery_uid: Mapped[str | None] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(16))
    request: Mapped[str] = mapped_column(String(255))
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ProvisionedObject(ObjectReference, db.Model):  # type: ignore[name-defined]
    """A directory object as provisioned in one target: its id there (kept after our delete)."""

    __tablename__ = "provisioned_object"
    __table_args__ = (UniqueConstraint("target_id", "object_type", "object_id"),)

    id: Mapped[IntPk]
    target_id: Mapped[int] = mapped_column(
        ForeignKey("provisioning_target.id", ondelete="CASCADE"), index=True
    )
    remote_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What was pushed that a later push must undo: {"departments": [ids]} for an account.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[UpdatedAt]
