"""Accounts: an optional manager (another account), for the SCIM enterprise `manager` (issue 13).

Revision ID: c4e8a2f6b9d1
Revises: 9d3e5f7a1b20
Create Date: 2026-12-02 07:50:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4e8a2f6b9d1'
down_revision = '9d3e5f7a1b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manager_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_account_manager_id'), ['manager_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_account_manager_id_account'),
            'account',
            ['manager_id'],
            ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_account_manager_id_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_account_manager_id'))
        batch_op.drop_column('manager_id')
