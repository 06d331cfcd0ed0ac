"""Authorization codes: one index on (client_id, nonce) for the nonce replay check (issue 18).

Revision ID: 9d3e5f7a1b20
Revises: 9b3e5f7a1c20
Create Date: 2026-12-02 04:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9d3e5f7a1b20'
down_revision = '9b3e5f7a1c20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oidc_authorization_code', schema=None) as batch_op:
        batch_op.create_index(
            'ix_oidc_authorization_code_client_id_nonce', ['client_id', 'nonce'], unique=False
        )
        batch_op.drop_index('ix_oidc_authorization_code_client_id')


def downgrade():
    with op.batch_alter_table('oidc_authorization_code', schema=None) as batch_op:
        batch_op.create_index('ix_oidc_authorization_code_client_id', ['client_id'], unique=False)
        batch_op.drop_index('ix_oidc_authorization_code_client_id_nonce')
