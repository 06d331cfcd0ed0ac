"""dingtalk sync run: the engine job that works on it (its checkpoint lives on the job)

Revision ID: 6b2e8f1c4a70
Revises: d1a9b7e4c2f0
Create Date: 2026-12-02 04:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "6b2e8f1c4a70"
down_revision = "d1a9b7e4c2f0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("dingtalk_sync_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch_op.drop_column("checkpoint")


def downgrade():
    with op.batch_alter_table("dingtalk_sync_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkpoint", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.drop_column("job_id")
