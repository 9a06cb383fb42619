"""schedules as rows: check-in plans, occurrences, attempts, follow-ups, timers, sweep runs;
the visit time and the doorstep word on requests (issue 11)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:40:31.302414
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sweep_runs',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sweep_runs'))
    )
    op.create_table('checkin_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('neighbourhood_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('days', sa.JSON(), nullable=False),
    sa.Column('time_local', sa.String(length=5), nullable=False),
    sa.Column('sender_name', sa.String(length=80), nullable=True),
    sa.Column('buddy_id', sa.Integer(), nullable=True),
    sa.Column('coordinator_id', sa.Integer(), nullable=True),
    sa.Column('caller_id', sa.Integer(), nullable=True),
    sa.Column('quiet_start', sa.String(length=5), nullable=False),
    sa.Column('quiet_end', sa.String(length=5), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('paused_until', sa.Date(), nullable=True),
    sa.Column('ladder', sa.JSON(), nullable=False),
    sa.Column('consent_how', sa.String(length=200), nullable=True),
    sa.Column('consent_by', sa.String(length=80), nullable=True),
    sa.Column('consent_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_due_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('leased_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['buddy_id'], ['people.id'],
        name=op.f('fk_checkin_plans_buddy_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['caller_id'], ['people.id'],
        name=op.f('fk_checkin_plans_caller_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['coordinator_id'], ['people.id'],
        name=op.f('fk_checkin_plans_coordinator_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['neighbourhood_id'], ['neighbourhoods.id'],
        name=op.f('fk_checkin_plans_neighbourhood_id_neighbourhoods')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'],
        name=op.f('fk_checkin_plans_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_plans'))
    )
    with op.batch_alter_table('checkin_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_plans_buddy_id'), ['buddy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_plans_caller_id'), ['caller_id'], unique=False)
        batch_op.create_index('ix_checkin_plans_due', ['status', 'next_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_plans_neighbourhood_id'), ['neighbourhood_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_plans_person_id'), ['person_id'], unique=False)

    op.create_table('checkin_occurrences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('due_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.String(length=16), nullable=True),
    sa.Column('ladder_index', sa.Integer(), nullable=False),
    sa.Column('next_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('leased_by', sa.String(length=64), nullable=True),
    sa.Column('answered_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'],
        name=op.f('fk_checkin_occurrences_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['checkin_plans.id'],
        name=op.f('fk_checkin_occurrences_plan_id_checkin_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_occurrences')),
    sa.UniqueConstraint('key', name=op.f('uq_checkin_occurrences_key'))
    )
    with op.batch_alter_table('checkin_occurrences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_occurrences_due_at'), ['due_at'], unique=False)
        batch_op.create_index('ix_checkin_occurrences_next', ['status', 'next_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_occurrences_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_occurrences_plan_id'), ['plan_id'], unique=False)

    op.create_table('followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('neighbourhood_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('occurrence_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.Column('deadline_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded', sa.Integer(), nullable=False),
    sa.Column('lease_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('leased_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['people.id'],
        name=op.f('fk_followups_assignee_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['neighbourhood_id'], ['neighbourhoods.id'],
        name=op.f('fk_followups_neighbourhood_id_neighbourhoods')),
    sa.ForeignKeyConstraint(['occurrence_id'], ['checkin_occurrences.id'],
        name=op.f('fk_followups_occurrence_id_checkin_occurrences'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'],
        name=op.f('fk_followups_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups'))
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_neighbourhood_id'), ['neighbourhood_id'], unique=False)
        batch_op.create_index('ix_followups_next', ['status', 'next_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_person_id'), ['person_id'], unique=False)

    op.create_table('checkin_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurrence_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=True),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('outbox_key', sa.String(length=120), nullable=True),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'],
        name=op.f('fk_checkin_attempts_followup_id_followups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['occurrence_id'], ['checkin_occurrences.id'],
        name=op.f('fk_checkin_attempts_occurrence_id_checkin_occurrences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'],
        name=op.f('fk_checkin_attempts_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_attempts'))
    )
    with op.batch_alter_table('checkin_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_attempts_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_attempts_call_sid'), ['call_sid'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_attempts_occurrence_id'), ['occurrence_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_attempts_person_id'), ['person_id'], unique=False)

    op.create_table('timers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('due_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('followup_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('lease_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('leased_by', sa.String(length=64), nullable=True),
    sa.Column('done_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'],
        name=op.f('fk_timers_followup_id_followups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_timers_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['help_requests.id'],
        name=op.f('fk_timers_request_id_help_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timers')),
    sa.UniqueConstraint('key', name=op.f('uq_timers_key'))
    )
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index('ix_timers_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timers_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_timers_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('help_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('doorstep_word', sa.String(length=40), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('help_requests', schema=None) as batch_op:
        batch_op.drop_column('doorstep_word')
        batch_op.drop_column('visit_at')

    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timers_request_id'))
        batch_op.drop_index(batch_op.f('ix_timers_person_id'))
        batch_op.drop_index('ix_timers_due')

    op.drop_table('timers')
    with op.batch_alter_table('checkin_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_attempts_person_id'))
        batch_op.drop_index(batch_op.f('ix_checkin_attempts_occurrence_id'))
        batch_op.drop_index(batch_op.f('ix_checkin_attempts_call_sid'))
        batch_op.drop_index(batch_op.f('ix_checkin_attempts_at'))

    op.drop_table('checkin_attempts')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followups_person_id'))
        batch_op.drop_index('ix_followups_next')
        batch_op.drop_index(batch_op.f('ix_followups_neighbourhood_id'))
        batch_op.drop_index(batch_op.f('ix_followups_assignee_id'))

    op.drop_table('followups')
    with op.batch_alter_table('checkin_occurrences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_occurrences_plan_id'))
        batch_op.drop_index(batch_op.f('ix_checkin_occurrences_person_id'))
        batch_op.drop_index('ix_checkin_occurrences_next')
        batch_op.drop_index(batch_op.f('ix_checkin_occurrences_due_at'))

    op.drop_table('checkin_occurrences')
    with op.batch_alter_table('checkin_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_plans_person_id'))
        batch_op.drop_index(batch_op.f('ix_checkin_plans_neighbourhood_id'))
        batch_op.drop_index('ix_checkin_plans_due')
        batch_op.drop_index(batch_op.f('ix_checkin_plans_caller_id'))
        batch_op.drop_index(batch_op.f('ix_checkin_plans_buddy_id'))

    op.drop_table('checkin_plans')
    op.drop_table('sweep_runs')
