"""Security hardening: MFA failure counter, verified email/mobile, token generation and refresh grace, key generation.

Revision ID: 5ec0a11f2d3b
Revises: 5e1c7a9d2b40
Create Date: 2026-12-02 01:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5ec0a11f2d3b'
down_revision = '5e1c7a9d2b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account_lockout', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('mfa_failures', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(sa.Column('mfa_last_failure_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('oidc_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_generation', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('successor_encrypted', sa.Text(), nullable=True))
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('email_verified', sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column('mobile_verified', sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table('oidc_key_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_key_state'))
    )


def downgrade():
    op.drop_table('oidc_key_state')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('mobile_verified')
        batch_op.drop_column('email_verified')
    with op.batch_alter_table('oidc_token', schema=None) as batch_op:
        batch_op.drop_column('successor_encrypted')
        batch_op.drop_column('client_generation')
    with op.batch_alter_table('account_lockout', schema=None) as batch_op:
        batch_op.drop_column('mfa_last_failure_at')
        batch_op.drop_column('mfa_failures')
