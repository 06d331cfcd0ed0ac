"""Trigram GIN indexes for the accounts' contains-search (PostgreSQL only; SQLite: no-op).

Revision ID: b7a4c1d9e2f0
Revises: 5c1d7a9e2b40
Create Date: 2026-12-02 04:45:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b7a4c1d9e2f0"
down_revision = "5c1d7a9e2b40"
branch_labels = None
depends_on = None

COLUMNS = ("username_key", "email_key", "display_name", "mobile", "employee_number")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.create_index(
            f"ix_account_{column}_trgm",
            "account",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.drop_index(f"ix_account_{column}_trgm", table_name="account")
