"""/find: contacts.search_text (accent- and case-folded name, username, tags, newest messages), users.last_find

Indexed for substring search at 100k contacts: PostgreSQL gets a pg_trgm GIN index (LIKE '%…%' uses it);
SQLite gets an external-content FTS5 table with the trigram tokenizer, kept by triggers on contacts. Both are
outside the ORM models (tests/test_migrations.py knows them). On SQLite a later migration that rebuilds
`contacts` (batch "move and copy") must run SQLITE_FTS again, as for contact_tags (0007).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5(search_text, content='contacts', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_ins AFTER INSERT ON contacts BEGIN "
    "INSERT INTO contacts_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_del AFTER DELETE ON contacts BEGIN "
    "INSERT INTO contacts_fts(contacts_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_upd AFTER UPDATE OF search_text ON contacts BEGIN "
    "INSERT INTO contacts_fts(contacts_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO contacts_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]


def upgrade() -> None:
    op.add_column('contacts', sa.Column('search_text', sa.Text(), server_default=sa.text("''"), nullable=False))
    op.add_column('users', sa.Column('last_find', sa.String(length=100), nullable=True))
    bind = op.get_bind()
    _backfill(bind)
    if bind.dialect.name == 'postgresql':
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_contacts_search_trgm ON contacts USING gin (search_text gin_trgm_ops)")
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)
        op.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")


def _backfill(bind: sa.engine.Connection) -> None:
    """search_text for the contacts that exist (the same function the app uses)."""
    from core.db.search import search_text

    contacts = sa.table('contacts', sa.column('id'), sa.column('name'), sa.column('username'), sa.column('tags'),
                        sa.column('search_text'))
    messages = sa.table('messages', sa.column('contact_id'), sa.column('text'), sa.column('created_at'))
    rows = bind.execute(sa.select(contacts.c.id, contacts.c.name, contacts.c.username, contacts.c.tags)).all()
    for cid, name, username, tags in rows:
        texts = bind.execute(sa.select(messages.c.text).where(messages.c.contact_id == cid)
                             .order_by(messages.c.created_at.desc()).limit(40)).scalars().all()
        tag_list = tags if isinstance(tags, list) else []
        bind.execute(sa.update(contacts).where(contacts.c.id == cid)
                     .values(search_text=search_text(name, username, tag_list, list(texts))))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_contacts_search_trgm")
    else:
        for name in ('contacts_fts_upd', 'contacts_fts_del', 'contacts_fts_ins'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS contacts_fts")
    op.drop_column('users', 'last_find')
    op.drop_column('contacts', 'search_text')
