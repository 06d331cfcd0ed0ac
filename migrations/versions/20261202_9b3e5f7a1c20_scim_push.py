"""scim push targets and their delivery log

Revision ID: 9b3e5f7a1c20
Revises: 6b2e8f1c4a70
Create Date: 2026-12-02 04:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b3e5f7a1c20'
down_revision = '6b2e8f1c4a70'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('provisioning_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('base_url', sa.String(length=512), nullable=False),
    sa.Column('users', sa.Boolean(), nullable=False),
    sa.Column('groups', sa.Boolean(), nullable=False),
    sa.Column('departments', sa.String(length=16), nullable=False),
    sa.Column('auth_type', sa.String(length=16), nullable=False),
    sa.Column('auth', sa.JSON(), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=True),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('deprovision', sa.String(length=16), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('echo_client', sa.String(length=64), nullable=True),
    sa.Column('capabilities', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_provisioning_target_application_id_application'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioning_target')),
    sa.UniqueConstraint('application_id', name=op.f('uq_provisioning_target_application_id'))
    )
    op.create_table('provisioning_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('delivery_uid', sa.String(length=64), nullable=True),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('operation', sa.String(length=16), nullable=False),
    sa.Column('request', sa.String(length=255), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['target_id'], ['provisioning_target.id'], name=op.f('fk_provisioning_log_target_id_provisioning_target'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioning_log'))
    )
    with op.batch_alter_table('provisioning_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisioning_log_target_id'), ['target_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provisioning_log_at'), ['at'], unique=False)
    op.create_table('provisioned_object',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('remote_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['target_id'], ['provisioning_target.id'], name=op.f('fk_provisioned_object_target_id_provisioning_target'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioned_object')),
    sa.UniqueConstraint('target_id', 'object_type', 'object_id', name=op.f('uq_provisioned_object_target_id_object_type_object_id'))
    )
    with op.batch_alter_table('provisioned_object', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisioned_object_target_id'), ['target_id'], unique=False)


def downgrade():
    with op.batch_alter_table('provisioned_object', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provisioned_object_target_id'))
    op.drop_table('provisioned_object')
    with op.batch_alter_table('provisioning_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provisioning_log_at'))
        batch_op.drop_index(batch_op.f('ix_provisioning_log_target_id'))
    op.drop_table('provisioning_log')
    op.drop_table('provisioning_target')
