"""notes: the creator's timestamped notes on a lead (+ contacts.note_count / last_note / last_note_at for the card)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import core.db.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notes',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('edited_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_notes_contact_id_contacts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notes_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notes')),
    )
    op.create_index('ix_notes_contact_created', 'notes', ['contact_id', 'created_at', 'id'], unique=False)
    # Plain ALTER TABLE ADD COLUMN (no batch "move and copy"): SQLite keeps contacts' contact_tags triggers (0007).
    op.add_column('contacts', sa.Column('note_count', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('contacts', sa.Column('last_note', sa.Text(), nullable=True))
    op.add_column('contacts', sa.Column('last_note_at', core.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for col in ('last_note_at', 'last_note', 'note_count'):
        op.drop_column('contacts', col)
    op.drop_index('ix_notes_contact_created', table_name='notes')
    op.drop_table('notes')
