"""contacts list indexes: every /contacts filter x sort is an index-only walk (100k contacts per creator)

The two sort indexes gain `tags` and each other's sort column, so the tag, unscored and score >= 70 filters
are checked on the index entry while walking in list order; hot gets indexes that lead with sentiment;
(user_id, tags) serves the tag count and the creator's tag list without reading the wide rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OLD = {
    'ix_contacts_user_last': ['user_id', 'last_message_at', 'id'],
    'ix_contacts_user_score': ['user_id', 'lead_score', 'id'],
}
NEW = {
    'ix_contacts_user_last': ['user_id', 'last_message_at', 'id', 'lead_score', 'tags'],
    'ix_contacts_user_score': ['user_id', 'lead_score', 'id', 'last_message_at', 'tags'],
    'ix_contacts_user_sentiment_last': ['user_id', 'sentiment', 'last_message_at', 'id'],
    'ix_contacts_user_sentiment_score': ['user_id', 'sentiment', 'lead_score', 'id'],
    'ix_contacts_user_tags': ['user_id', 'tags'],
}


def upgrade() -> None:
    for name in OLD:
        op.drop_index(name, table_name='contacts')
    for name, columns in NEW.items():
        op.create_index(name, 'contacts', columns, unique=False)


def downgrade() -> None:
    for name in reversed(NEW):
        op.drop_index(name, table_name='contacts')
    for name, columns in OLD.items():
        op.create_index(name, 'contacts', columns, unique=False)
