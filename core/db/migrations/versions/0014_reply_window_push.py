"""The reply-window push: users.window_push_hours (hours before Instagram's 24 h window closes; 0 = off),
contacts.window_pushed_for (the lead message already pushed for) and an index for the scan

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import core.db.types

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: rebuilding `contacts` on SQLite would drop its contact_tags and FTS triggers (0007, 0010).
    op.add_column('users', sa.Column('window_push_hours', sa.Integer(), server_default=sa.text('4'),
                                     nullable=False))
    op.add_column('contacts', sa.Column('window_pushed_for', core.db.types.UTCDateTime(timezone=True),
                                        nullable=True))
    op.create_index('ix_contacts_user_lead_message', 'contacts', ['user_id', 'last_lead_message_at'])


def downgrade() -> None:
    op.drop_index('ix_contacts_user_lead_message', table_name='contacts')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('window_pushed_for')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('window_push_hours')
