"""Directory tables: departments, accounts, memberships, groups, roles, attributes, identities.

Departments use a materialised path (`/1/7/42/`): subtree reads are one indexed prefix scan
(`path LIKE '/1/7/%'`), and moving a subtree is one UPDATE that rewrites the prefix of every
descendant. A closure table makes moves cost O(subtree x ancestors) rows, and adjacency lists
need recursive queries on every read; reads vastly outnumber moves in a directory.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idaas.columns import AccountRow, CreatedAt, IntPk, ObjectReference, UpdatedAt, partial_index
from idaas.extensions import db, utcnow

ACCOUNT_STATUSES = ("active", "disabled", "left")
LOCAL_SOURCE = "local"


class Timestamped:
    """Created/updated times and the version counter used for ETags."""

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Department(Timestamped, db.Model):  # type: ignore[name-defined]
    """A node of the department tree."""

    __tablename__ = "department"
    __table_args__ = (
        Index("ix_department_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
        Index("ix_department_parent_id_name", "parent_id", "name"),
    )

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="RESTRICT"), index=True
    )
    path: Mapped[str] = mapped_column(String(2048))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(64), default=LOCAL_SOURCE)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


#: Account columns the contains-search reads (each has a trigram index on PostgreSQL).
SEARCH_COLUMNS = ("username_key", "email_key", "display_name", "mobile", "employee_number")


class Account(Timestamped, db.Model):  # type: ignore[name-defined]
    """A person's account."""

    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'disabled', 'left')", name="status"),
        # Contains-search (`LIKE '%q%'`) of the accounts table and the console's search box:
        # trigram GIN indexes on PostgreSQL only (SQLite has no such index; it scans).
        *(
            Index(
                f"ix_account_{column}_trgm",
                column,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            ).ddl_if(dialect="postgresql")
            for column in SEARCH_COLUMNS
        ),
    )

    id: Mapped[IntPk]
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    # Name parts (SCIM `name.givenName` / `name.familyName`, RFC 7643 §4.1.1).
    given_name: Mapped[str | None] = mapped_column(String(64))
    family_name: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    email_key: Mapped[str | None] = mapped_column(String(254), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Whether email / mobile were verified: directory-managed and DingTalk-sourced values are;
    # values a person typed into the portal are not (the `*_verified` OIDC claims; issue 11 #6).
    email_verified: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    mobile_verified: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    employee_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    password_changed_at: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(64), default=LOCAL_SOURCE)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The person's manager (SCIM enterprise `manager`); deleting the manager clears it.
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True
    )

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="selectin"
    )


class PasswordHistory(AccountRow, db.Model):  # type: ignore[name-defined]
    """Hashes of an account's previous passwords, for the history rule."""

    __tablename__ = "password_history"

    password_hash: Mapped[str] = mapped_column(String(256))


class Membership(db.Model):  # type: ignore[name-defined]
    """An account's place in a department; exactly one membership of an account is primary."""

    __tablename__ = "membership"
    __table_args__ = (
        partial_index("uq_membership_primary", "account_id", where="is_primary", unique=True),
    )

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[int] = mapped_column(
        ForeignKey("department.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str | None] = mapped_column(String(128))

    account: Mapped[Account] = relationship(back_populates="memberships")


class Group(Timestamped, db.Model):  # type: ignore[name-defined]
    """A flat group of accounts."""

    __tablename__ = "account_group"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str | None] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(String(64), default=LOCAL_SOURCE)


class GroupMember(db.Model):  # type: ignore[name-defined]
    """An account in a group."""

    __tablename__ = "group_member"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("account_group.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Role(Timestamped, db.Model):  # type: ignore[name-defined]
    """A named set of permissions."""

    __tablename__ = "role"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(512))

    permissions: Mapped[list[Permission]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Permission.id"
    )


class Permission(db.Model):  # type: ignore[name-defined]
    """A (resource, action) pair granted by a role."""

    __tablename__ = "permission"
    __table_args__ = (UniqueConstraint("role_id", "resource", "action"),)

    id: Mapped[IntPk]
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"))
    resource: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))


class RoleAssignment(db.Model):  # type: ignore[name-defined]
    """A role held by an account."""

    __tablename__ = "role_assignment"

    role_id: Mapped[int] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AttributeDefinition(Timestamped, db.Model):  # type: ignore[name-defined]
    """A custom field of accounts or departments (the data dictionary)."""

    __tablename__ = "attribute_definition"
    __table_args__ = (
        UniqueConstraint("target", "key"),
        CheckConstraint("target IN ('account', 'department')", name="target"),
    )

    id: Mapped[IntPk]
    target: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    unique: Mapped[bool] = mapped_column(Boolean, default=False)
    editable: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class ExternalIdentity(db.Model):  # type: ignore[name-defined]
    """A sign-in identity in another system (a DingTalk user) bound to a local account."""

    __tablename__ = "external_identity"
    __table_args__ = (
        UniqueConstraint("provider", "tenant", "subject"),
        UniqueConstraint("account_id", "provider", "tenant"),
    )

    id: Mapped[IntPk]
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(128))
    union_id: Mapped[str | None] = mapped_column(String(128), index=True)
    linked_via: Mapped[str] = mapped_column(String(16))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class ExternalReference(ObjectReference, db.Model):  # type: ignore[name-defined]
    """Our object <-> its id in another system (a DingTalk dept_id, a SCIM target's id)."""

    __tablename__ = "external_reference"
    __table_args__ = ObjectReference.one_to_one("system", "external_id")

    id: Mapped[IntPk]
    system: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[CreatedAt]


class ApplicationPermission(db.Model):  # type: ignore[name-defined]
    """A permission of a role scoped to one application: the app's resource code (`resCode`)."""

    __tablename__ = "application_permission"
    __table_args__ = (
        UniqueConstraint("role_id", "application", "resource", "action"),
        Index("ix_application_permission_lookup", "application", "resource"),
    )

    id: Mapped[IntPk]
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), index=True)
    application: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64), default="access")


# The trigram indexes need the pg_trgm extension (trusted since PostgreSQL 13: a database owner
# may create it); `create_all` (tests, benchmarks) makes it as the migration does.
event.listen(
    Account.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(  # type: ignore[no-untyped-call]
        dialect="postgresql"
    ),
)
