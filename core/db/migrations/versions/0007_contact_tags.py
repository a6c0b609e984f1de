"""contact_tags: one row per (listed contact, tag) with the contact's sort keys, kept by triggers; backfilled

A tag-filtered /contacts page walks (user_id, tag, sort key, contact_id) in list order instead of scanning
every tag list of the creator, and the creator's tag counts read one narrow index. Only contacts in the list
have rows (shelf IS NULL: spam and archived leads show under their own filters, not under a tag). The rows
are written only by triggers on `contacts` (insert; update of tags, user_id, shelf, last_message_at or
lead_score), so every writer keeps them exact in its own transaction. (user_id, tags) on contacts served the
old tag counts: dropped.

On SQLite a table rebuild drops its triggers: a later migration that recreates `contacts` (batch mode
"move and copy") must run SQLITE_TRIGGERS again (tests/test_contact_tags.py fails if it does not).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import core.db.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

COLUMNS = "contact_id, tag, user_id, last_message_at, lead_score"

# SQLite: json_each over the list (a non-array or invalid value counts as no tags; only strings are tags).
_SQLITE_ROWS = (
    "SELECT {c}.id, j.value, {c}.user_id, {c}.last_message_at, {c}.lead_score FROM json_each(CASE WHEN"
    " json_valid({c}.tags) AND json_type({c}.tags) = 'array' THEN {c}.tags ELSE '[]' END) AS j WHERE j.type = 'text'"
    " AND {c}.shelf IS NULL"
)
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER contact_tags_insert AFTER INSERT ON contacts
    WHEN NEW.tags IS NOT NULL AND NEW.tags <> '[]' AND NEW.shelf IS NULL
    BEGIN
      INSERT OR IGNORE INTO contact_tags ({COLUMNS}) {_SQLITE_ROWS.format(c='NEW')};
    END""",
    f"""CREATE TRIGGER contact_tags_retag AFTER UPDATE OF tags, user_id, shelf ON contacts
    WHEN NEW.tags IS NOT OLD.tags OR NEW.user_id IS NOT OLD.user_id OR NEW.shelf IS NOT OLD.shelf
    BEGIN
      DELETE FROM contact_tags WHERE contact_id = OLD.id;
      INSERT OR IGNORE INTO contact_tags ({COLUMNS}) {_SQLITE_ROWS.format(c='NEW')};
    END""",
    """CREATE TRIGGER contact_tags_resort AFTER UPDATE OF last_message_at, lead_score ON contacts
    WHEN NEW.last_message_at IS NOT OLD.last_message_at OR NEW.lead_score IS NOT OLD.lead_score
    BEGIN
      UPDATE contact_tags SET last_message_at = NEW.last_message_at, lead_score = NEW.lead_score
       WHERE contact_id = NEW.id;
    END""",
]

_PG_ROWS = (
    "SELECT {c}.id, e #>> '{{}}', {c}.user_id, {c}.last_message_at, {c}.lead_score FROM jsonb_array_elements("
    "CASE WHEN jsonb_typeof({c}.tags) = 'array' THEN {c}.tags ELSE '[]'::jsonb END) AS e"
    " WHERE jsonb_typeof(e) = 'string' AND {c}.shelf IS NULL"
)
PG_FUNCTION = f"""CREATE FUNCTION contact_tags_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.tags IS NOT DISTINCT FROM OLD.tags AND NEW.user_id = OLD.user_id
       AND NEW.shelf IS NOT DISTINCT FROM OLD.shelf THEN
      UPDATE contact_tags SET last_message_at = NEW.last_message_at, lead_score = NEW.lead_score
       WHERE contact_id = NEW.id;
      RETURN NULL;
    END IF;
    DELETE FROM contact_tags WHERE contact_id = OLD.id;
  END IF;
  INSERT INTO contact_tags ({COLUMNS}) {_PG_ROWS.format(c='NEW')} ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$"""
PG_TRIGGERS = [
    """CREATE TRIGGER contact_tags_insert AFTER INSERT ON contacts FOR EACH ROW
    WHEN (NEW.tags IS NOT NULL AND NEW.tags <> '[]'::jsonb AND NEW.shelf IS NULL)
    EXECUTE FUNCTION contact_tags_write()""",
    """CREATE TRIGGER contact_tags_update AFTER UPDATE ON contacts FOR EACH ROW
    WHEN (NEW.tags IS DISTINCT FROM OLD.tags OR NEW.user_id IS DISTINCT FROM OLD.user_id
          OR NEW.shelf IS DISTINCT FROM OLD.shelf
          OR NEW.last_message_at IS DISTINCT FROM OLD.last_message_at OR NEW.lead_score IS DISTINCT FROM OLD.lead_score)
    EXECUTE FUNCTION contact_tags_write()""",
]

SQLITE_BACKFILL = (
    f"INSERT OR IGNORE INTO contact_tags ({COLUMNS}) SELECT c.id, j.value, c.user_id, c.last_message_at, c.lead_score"
    " FROM contacts AS c, json_each(CASE WHEN json_valid(c.tags) AND json_type(c.tags) = 'array' THEN c.tags"
    " ELSE '[]' END) AS j WHERE j.type = 'text' AND c.shelf IS NULL"
)
PG_BACKFILL = (
    f"INSERT INTO contact_tags ({COLUMNS}) SELECT c.id, e #>> '{{}}', c.user_id, c.last_message_at, c.lead_score"
    " FROM contacts AS c CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(c.tags) = 'array'"
    " THEN c.tags ELSE '[]'::jsonb END) AS e WHERE jsonb_typeof(e) = 'string' AND c.shelf IS NULL"
    " ON CONFLICT DO NOTHING"
)


def upgrade() -> None:
    op.create_table(
        'contact_tags',
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('tag', sa.Text(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('last_message_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('lead_score', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_tags_contact_id_contacts'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('contact_id', 'tag', name=op.f('pk_contact_tags')),
    )
    op.create_index('ix_contact_tags_user_tag_last', 'contact_tags',
                    ['user_id', 'tag', 'last_message_at', 'contact_id'], unique=False)
    op.create_index('ix_contact_tags_user_tag_score', 'contact_tags',
                    ['user_id', 'tag', 'lead_score', 'contact_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        for ddl in PG_TRIGGERS:
            op.execute(ddl)
        op.execute(PG_BACKFILL)
    else:
        for ddl in SQLITE_TRIGGERS:
            op.execute(ddl)
        op.execute(SQLITE_BACKFILL)
    op.drop_index('ix_contacts_user_tags', table_name='contacts')


def downgrade() -> None:
    op.create_index('ix_contacts_user_tags', 'contacts', ['user_id', 'tags'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS contact_tags_insert ON contacts")
        op.execute("DROP TRIGGER IF EXISTS contact_tags_update ON contacts")
        op.execute("DROP FUNCTION IF EXISTS contact_tags_write()")
    else:
        for name in ('contact_tags_insert', 'contact_tags_retag', 'contact_tags_resort'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_contact_tags_user_tag_score', table_name='contact_tags')
    op.drop_index('ix_contact_tags_user_tag_last', table_name='contact_tags')
    op.drop_table('contact_tags')
