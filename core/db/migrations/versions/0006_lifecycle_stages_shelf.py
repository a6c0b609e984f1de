"""lead lifecycle: contacts.stage (+ source, AI values kept for "back to AI"), shelf (spam/archived),
spam_suggested; users.stage_names. The list indexes gain shelf and stage; stage and shelf filters get their own.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import core.db.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OLD = {
    'ix_contacts_user_last': ['user_id', 'last_message_at', 'id', 'lead_score', 'tags'],
    'ix_contacts_user_score': ['user_id', 'lead_score', 'id', 'last_message_at', 'tags'],
}
NEW = {
    'ix_contacts_user_last': ['user_id', 'last_message_at', 'id', 'lead_score', 'tags', 'shelf', 'stage'],
    'ix_contacts_user_score': ['user_id', 'lead_score', 'id', 'last_message_at', 'tags', 'shelf', 'stage'],
    'ix_contacts_user_stage_last': ['user_id', 'stage', 'shelf', 'last_message_at', 'id'],
    'ix_contacts_user_stage_score': ['user_id', 'stage', 'shelf', 'lead_score', 'id'],
    'ix_contacts_user_shelf_last': ['user_id', 'shelf', 'last_message_at', 'id'],
}


def upgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('stage', sa.String(length=16), server_default=sa.text("'new'"), nullable=False))
        batch.add_column(sa.Column('stage_source', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('stage_changed_at', core.db.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('ai_score', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('ai_tags', core.db.types.JSONList, nullable=True))
        batch.add_column(sa.Column('ai_stage', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('shelf', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('shelved_at', core.db.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('spam_suggested', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('stage_names', core.db.types.JSONList, nullable=True))
    # What the AI said so far is the AI value (manual marks had overwritten it: those stay unknown).
    op.execute("UPDATE contacts SET ai_score = lead_score WHERE score_source = 'ai'")
    op.execute("UPDATE contacts SET ai_tags = tags WHERE tags_source = 'ai'")
    for name in OLD:
        op.drop_index(name, table_name='contacts')
    for name, columns in NEW.items():
        op.create_index(name, 'contacts', columns, unique=False)


def downgrade() -> None:
    for name in reversed(NEW):
        op.drop_index(name, table_name='contacts')
    for name, columns in OLD.items():
        op.create_index(name, 'contacts', columns, unique=False)
    with op.batch_alter_table('users') as batch:
        batch.drop_column('stage_names')
    with op.batch_alter_table('contacts') as batch:
        for col in ('spam_suggested', 'shelved_at', 'shelf', 'ai_stage', 'ai_tags', 'ai_score', 'stage_changed_at',
                    'stage_source', 'stage'):
            batch.drop_column(col)
