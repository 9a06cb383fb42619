"""dead data: the offers table (rows written, never read) and people.talents (never written)

What a volunteer offers lives on the person (categories, languages, weekly cap, duo); the
table duplicated it without any reader, and a talents column nobody filled was one more
place personal data could hide.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 05:30:00
"""
from alembic import op
import sqlalchemy as sa

import models.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offers_person_id'))
    op.drop_table('offers')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('talents')


def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('talents', sa.String(length=500), nullable=True))
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("categories", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"], ["neighbourhoods.id"], name=op.f("fk_offers_neighbourhood_id_neighbourhoods")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_offers_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offers_person_id'), ['person_id'], unique=False)
