"""Shared CLI plumbing: migrations at start, one engine per command, creator lookup, clear failures."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import repo
from core.db.engine import make_engine, make_sessionmaker, transaction, upgrade
from core.db.models import CLI_CREATOR_ID, User

EXIT_USAGE = 2
EXIT_NOT_CONNECTED = 3
EXIT_EXPIRED = 4
EXIT_SYNC_FAILED = 5


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def add_user_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", type=int, metavar="TELEGRAM_ID", default=None,
                        help="act on this Telegram creator (default: the CLI creator, IG_ACCESS_TOKEN's account)")


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Migrations run at every start, so a fresh clone needs no separate step (quietly: it is routine)."""
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger("alembic").level))
    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def resolve_user(sessions: async_sessionmaker[AsyncSession], telegram_id: int | None) -> User:
    """The named Telegram creator (must exist: they start the bot first) or the CLI creator (created on use)."""
    async with transaction(sessions) as session:
        if telegram_id is None or telegram_id == CLI_CREATOR_ID:
            return await repo.ensure_user(session, CLI_CREATOR_ID)
        user = await repo.get_user(session, telegram_id)
    if user is None:
        raise CliError(f"leadgram: no creator with Telegram id {telegram_id} (they must /start the bot first)")
    return user


def who(user: User) -> str:
    if user.telegram_id == CLI_CREATOR_ID:
        return "the CLI creator"
    return f"creator {user.telegram_id}"


def fail(error: CliError) -> int:
    print(error, file=sys.stderr)
    return error.code
