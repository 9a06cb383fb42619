"""twilio: SMS/WhatsApp opt-out per identity; delivery status and error code per outbox row

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:40:00
"""
from alembic import op
import sqlalchemy as sa

import models.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('channel_identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opted_out_at', models.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('error_code', sa.String(length=8), nullable=True))
        batch_op.create_index('ix_outbox_platform_message_id', ['platform_message_id'])


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_platform_message_id')
        batch_op.drop_column('error_code')
        batch_op.drop_column('delivery_status')

    with op.batch_alter_table('channel_identities', schema=None) as batch_op:
        batch_op.drop_column('opted_out_at')
