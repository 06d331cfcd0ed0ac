"""dingtalk push and work notifications

Revision ID: d1a9b7e4c2f0
Revises: b7a4c1d9e2f0
Create Date: 2026-12-02 04:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd1a9b7e4c2f0'
down_revision = 'b7a4c1d9e2f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dingtalk_push_settings',
    sa.Column('connection', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('source_department_id', sa.Integer(), nullable=True),
    sa.Column('root_dept_id', sa.BigInteger(), nullable=True),
    sa.Column('disabled', sa.String(length=16), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['source_department_id'], ['department.id'], name=op.f('fk_dingtalk_push_settings_source_department_id_department'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('connection', name=op.f('pk_dingtalk_push_settings'))
    )
    op.create_table('dingtalk_push_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('dingtalk_id', sa.String(length=128), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dingtalk_push_link')),
    sa.UniqueConstraint('connection', 'object_type', 'dingtalk_id', name=op.f('uq_dingtalk_push_link_connection_object_type_dingtalk_id')),
    sa.UniqueConstraint('connection', 'object_type', 'object_id', name=op.f('uq_dingtalk_push_link_connection_object_type_object_id'))
    )
    op.create_table('dingtalk_notify_settings',
    sa.Column('connection', sa.String(length=64), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('connection', name=op.f('pk_dingtalk_notify_settings'))
    )


def downgrade():
    op.drop_table('dingtalk_notify_settings')
    op.drop_table('dingtalk_push_link')
    op.drop_table('dingtalk_push_settings')
