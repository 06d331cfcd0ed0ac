"""Sign-in policy override: the console's values over the instance settings (issue 14).

Revision ID: c4f1e8a2d6b3
Revises: c4e8a2f6b9d1
Create Date: 2026-12-02 07:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4f1e8a2d6b3'
down_revision = 'c4e8a2f6b9d1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'signin_policy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('password_min_length', sa.Integer(), nullable=True),
        sa.Column('password_required_classes', sa.Integer(), nullable=True),
        sa.Column('password_history', sa.Integer(), nullable=True),
        sa.Column('password_max_age_days', sa.Integer(), nullable=True),
        sa.Column('lockout_threshold', sa.Integer(), nullable=True),
        sa.Column('lockout_minutes', sa.Float(), nullable=True),
        sa.Column('mfa_required', sa.Boolean(), nullable=True),
        sa.Column('session_idle_minutes', sa.Float(), nullable=True),
        sa.Column('session_absolute_hours', sa.Float(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signin_policy')),
    )


def downgrade():
    op.drop_table('signin_policy')
