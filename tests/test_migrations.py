"""The Alembic migrations produce exactly the schema the ORM models describe, on both dialects."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.db.models import Base

# /find's search indexes live outside the ORM (migration 0010): SQLite's FTS5 table (and its shadow tables),
# PostgreSQL's trigram GIN index. tests/test_search.py checks they exist and serve the search.
OUTSIDE_ORM = ("contacts_fts", "ix_contacts_search_trgm")


def _in_orm(obj, name, type_, reflected, compare_to) -> bool:
    return not (reflected and compare_to is None and str(name or "").startswith(OUTSIDE_ORM))


async def test_models_match_migrations(engine):
    def diff(conn):
        ctx = MigrationContext.configure(conn, opts={"compare_type": False, "include_object": _in_orm})
        return compare_metadata(ctx, Base.metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []
