"""reminders: ⏰ a creator's reminders about a lead (due time in UTC, delivered once by a conditional claim)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import core.db.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reminders',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('due_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('snoozes', sa.Integer(), nullable=False),
        sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_reminders_contact_id_contacts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reminders_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    )
    op.create_index('ix_reminders_status_due', 'reminders', ['status', 'due_at'], unique=False)
    op.create_index('ix_reminders_user_status_due', 'reminders', ['user_id', 'status', 'due_at'], unique=False)
    op.create_index(op.f('ix_reminders_contact_id'), 'reminders', ['contact_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_reminders_contact_id'), table_name='reminders')
    op.drop_index('ix_reminders_user_status_due', table_name='reminders')
    op.drop_index('ix_reminders_status_due', table_name='reminders')
    op.drop_table('reminders')
