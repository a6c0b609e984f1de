"""Engine, sessions and migrations. One engine per process; one session per unit of work."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"
CONNECT_TIMEOUT_S = 15.0


def _json(value: Any) -> str:
    # Unicode kept as-is so tag filters match the same text on both dialects.
    return json.dumps(value, ensure_ascii=False)


def create_private_sqlite(url: str) -> None:
    """A new SQLite file is created readable by its owner only (it holds DMs and encrypted tokens); SQLite gives
    its -wal and -shm files the same mode. An existing file keeps the mode its owner chose."""
    if not url.startswith("sqlite"):
        return
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    with contextlib.suppress(FileExistsError, FileNotFoundError):  # exists, or its folder does not (SQLite says)
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    kwargs.setdefault("json_serializer", _json)
    if url.startswith("sqlite"):
        create_private_sqlite(url)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the bot read while a worker writes; foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session that commits on success and rolls back on error."""
    async with sessions() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade_sync(url: str) -> None:
    create_private_sqlite(url)
    command.upgrade(alembic_config(url), "head")


class DatabaseUnavailable(Exception):
    """The database of DATABASE_URL cannot be opened; the message is one line for the operator (no password)."""


async def check_database(url: str) -> None:
    """Open one connection, so a wrong DATABASE_URL is one clear line instead of a driver traceback."""
    where = _where(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = await asyncio.to_thread(_missing_folder, parsed.database)
        if folder is not None:
            raise DatabaseUnavailable(f"cannot open the SQLite database {where}: the folder {folder} does not exist")
    await asyncio.to_thread(create_private_sqlite, url)  # this first connection would create it world-readable
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S), engine.connect():
            pass
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        raise DatabaseUnavailable(f"cannot connect to the database {where}: {_cause(exc)}") from None
    finally:
        await engine.dispose()


def _missing_folder(path: str) -> Path | None:
    folder = Path(path).expanduser().absolute().parent
    return None if folder.is_dir() else folder


def _where(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"at {parsed.database} (DATABASE_URL)"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''} (DATABASE_URL)"


def _cause(exc: BaseException) -> str:
    """The driver's own words, first line only (never the URL: it may carry a password)."""
    root: BaseException = exc
    while isinstance(root, SQLAlchemyError) and root.__cause__ is not None:
        root = root.__cause__
    if isinstance(root, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_S:.0f} s"
    if isinstance(root, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    text = str(getattr(root, "orig", None) or root).strip().splitlines()
    return (text[0] if text else type(root).__name__)[:200]


async def upgrade(url: str) -> None:
    """Apply migrations. Alembic's async env runs its own loop, so run it in a thread."""
    await check_database(url)
    await asyncio.to_thread(upgrade_sync, url)
