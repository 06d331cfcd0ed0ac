"""Self-service password reset tables; how a session signed in; applications' per-language names.

Revision ID: 7e0f1a2b3c4d
Revises: 5c1d7e2a9b40
Create Date: 2026-12-02 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7e0f1a2b3c4d'
down_revision = '5c1d7e2a9b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('password_reset_code',
    sa.Column('id', sa.String(length=43), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('link_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_password_reset_code_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_code')),
    sa.UniqueConstraint('link_hash', name=op.f('uq_password_reset_code_link_hash'))
    )
    with op.batch_alter_table('password_reset_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_code_account_id'), ['account_id'], unique=False)

    op.create_table('password_reset_ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('mfa_done', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_password_reset_ticket_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_ticket')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_ticket_token_hash'))
    )
    with op.batch_alter_table('password_reset_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_ticket_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=32), nullable=True))
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_names', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_column('display_names')
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_column('channel')
    with op.batch_alter_table('password_reset_ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_ticket_account_id'))
    op.drop_table('password_reset_ticket')
    with op.batch_alter_table('password_reset_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_code_account_id'))
    op.drop_table('password_reset_code')
