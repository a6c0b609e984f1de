"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.db.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('niche', sa.String(length=200), nullable=True),
    sa.Column('goal', sa.String(length=300), nullable=True),
    sa.Column('onboarding_step', sa.String(length=16), nullable=False),
    sa.Column('ig_source', sa.String(length=16), nullable=True),
    sa.Column('ig_token_encrypted', sa.Text(), nullable=True),
    sa.Column('ig_account_id', sa.String(length=64), nullable=True),
    sa.Column('ig_username', sa.String(length=100), nullable=True),
    sa.Column('ig_token_expires_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ig_token_refreshed_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ig_status', sa.String(length=16), nullable=True),
    sa.Column('ig_status_detail', sa.String(length=500), nullable=True),
    sa.Column('ig_backoff_until', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ig_reconnect_notified', sa.Boolean(), nullable=False),
    sa.Column('last_sync_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sync_error', sa.String(length=500), nullable=True),
    sa.Column('last_contacts_view_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('alerts_enabled', sa.Boolean(), nullable=False),
    sa.Column('alert_threshold', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('quiet_start_hour', sa.Integer(), nullable=False),
    sa.Column('quiet_end_hour', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('telegram_id', name=op.f('uq_users_telegram_id'))
    )
    op.create_table('contacts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('instagram_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('username', sa.String(length=100), nullable=True),
    sa.Column('avatar_url', sa.Text(), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tags_source', sa.String(length=8), nullable=True),
    sa.Column('sentiment', sa.String(length=8), nullable=True),
    sa.Column('lead_score', sa.Integer(), nullable=True),
    sa.Column('score_source', sa.String(length=8), nullable=True),
    sa.Column('scored_by', sa.String(length=64), nullable=True),
    sa.Column('next_action', sa.Text(), nullable=True),
    sa.Column('score_reason', sa.Text(), nullable=True),
    sa.Column('scored_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('scored_through', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_message', sa.Text(), nullable=True),
    sa.Column('last_message_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_message_from_creator', sa.Boolean(), nullable=True),
    sa.Column('message_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('is_hot', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('hot_episode', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_contacts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('user_id', 'instagram_id', name='uq_contacts_user_instagram')
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_contacts_user_last', ['user_id', 'last_message_at', 'id'], unique=False)
        batch_op.create_index('ix_contacts_user_score', ['user_id', 'lead_score', 'id'], unique=False)

    op.create_table('scoring_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('tokens_in', sa.Integer(), nullable=False),
    sa.Column('tokens_out', sa.Integer(), nullable=False),
    sa.Column('hot_found', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('started_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('progress_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('progress_message_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_scoring_runs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_runs'))
    )
    with op.batch_alter_table('scoring_runs', schema=None) as batch_op:
        batch_op.create_index('ix_scoring_runs_user_status', ['user_id', 'status'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('episode', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_alerts_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alerts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('contact_id', 'episode', name='uq_alerts_contact_episode')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_user_status', ['user_id', 'status'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('instagram_message_id', sa.String(length=200), nullable=False),
    sa.Column('from_creator', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attachment_kind', sa.String(length=32), nullable=True),
    sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_messages_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_messages_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('user_id', 'instagram_message_id', name='uq_messages_user_igmid')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_contact_time', ['contact_id', 'created_at'], unique=False)

    op.create_table('scoring_items',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('became_hot', sa.Boolean(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('finished_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_scoring_items_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['scoring_runs.id'], name=op.f('fk_scoring_items_run_id_scoring_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'contact_id', name=op.f('pk_scoring_items'))
    )



def downgrade() -> None:

    op.drop_table('scoring_items')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_contact_time')

    op.drop_table('messages')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_user_status')

    op.drop_table('alerts')
    with op.batch_alter_table('scoring_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_scoring_runs_user_status')

    op.drop_table('scoring_runs')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_user_score')
        batch_op.drop_index('ix_contacts_user_last')
        batch_op.drop_index(batch_op.f('ix_contacts_user_id'))

    op.drop_table('contacts')
    op.drop_table('users')

