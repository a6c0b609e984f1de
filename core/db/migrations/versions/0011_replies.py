"""replies: drafts and sent replies (the send's idempotency key), saved replies, the creator's link,
contacts.last_lead_message_at (the reply window's start) and contacts.reply_unavailable_at

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import core.db.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: rebuilding `contacts` on SQLite would drop its contact_tags triggers (see 0007).
    op.add_column('users', sa.Column('reply_link', sa.String(length=500), nullable=True))
    op.add_column('contacts', sa.Column('last_lead_message_at', core.db.types.UTCDateTime(timezone=True),
                                        nullable=True))
    op.add_column('contacts', sa.Column('reply_unavailable_at', core.db.types.UTCDateTime(timezone=True),
                                        nullable=True))
    # The window of contacts synced before this revision: their lead's newest stored message.
    op.execute(sa.text(
        "UPDATE contacts SET last_lead_message_at = (SELECT max(m.created_at) FROM messages m "
        "WHERE m.contact_id = contacts.id AND m.from_creator = :no)").bindparams(no=False))
    op.create_table('replies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('human_agent', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=32), nullable=True),
    sa.Column('instagram_message_id', sa.String(length=200), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_replies_contact_id_contacts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_replies_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replies')),
    sa.UniqueConstraint('user_id', 'instagram_message_id', name='uq_replies_user_igmid')
    )
    op.create_index('ix_replies_user_contact', 'replies', ['user_id', 'contact_id'], unique=False)
    op.create_table('saved_replies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_replies_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_replies'))
    )
    op.create_index(op.f('ix_saved_replies_user_id'), 'saved_replies', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_saved_replies_user_id'), table_name='saved_replies')
    op.drop_table('saved_replies')
    op.drop_index('ix_replies_user_contact', table_name='replies')
    op.drop_table('replies')
    # Plain DROP COLUMN (SQLite >= 3.35): no table rebuild, the contact_tags triggers stay.
    for table, column in (('contacts', 'reply_unavailable_at'), ('contacts', 'last_lead_message_at'),
                          ('users', 'reply_link')):
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
