"""media on requests and outbox: photos and voice notes are forwarded by file reference

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:52:47.549426
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('help_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media', sa.JSON(), nullable=False, server_default='[]'))



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('media')

    with op.batch_alter_table('help_requests', schema=None) as batch_op:
        batch_op.drop_column('media')

