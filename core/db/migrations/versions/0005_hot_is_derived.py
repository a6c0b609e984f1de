"""hot is derived, not stored: drop contacts.is_hot and the sentiment indexes of the old hot filter

A lead is hot iff its score >= the creator's threshold (core/rules.py). The hot filter now walks the score
indexes (like "score >= 70"), so the two indexes leading with sentiment serve no query.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SENTIMENT_INDEXES = {
    'ix_contacts_user_sentiment_last': ['user_id', 'sentiment', 'last_message_at', 'id'],
    'ix_contacts_user_sentiment_score': ['user_id', 'sentiment', 'lead_score', 'id'],
}


def upgrade() -> None:
    for name in SENTIMENT_INDEXES:
        op.drop_index(name, table_name='contacts')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('is_hot')


def downgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('is_hot', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    for name, columns in SENTIMENT_INDEXES.items():
        op.create_index(name, 'contacts', columns, unique=False)
