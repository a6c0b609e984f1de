"""contacts.last_message_kind: the attachment kind of the last message (image, video, …), so the list and the card
read an attachment the way the chat does ("[video]") without reading the messages

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): SQLite's contact_tags triggers on contacts stay as they are.
    op.add_column('contacts', sa.Column('last_message_kind', sa.String(length=32), nullable=True))
    op.execute("UPDATE contacts SET last_message_kind = (SELECT m.attachment_kind FROM messages m "
               "WHERE m.contact_id = contacts.id ORDER BY m.created_at DESC, m.id DESC LIMIT 1)")


def downgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('last_message_kind')
