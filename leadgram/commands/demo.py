"""`leadgram demo [--user ID]`: connect the bundled demo Instagram account, sync it, show the table."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.ext.asyncio import AsyncSession

from core.clients.demo import demo_client
from core.config import get_settings
from core.crypto import DEV_KEY_NOTICE, uses_dev_key
from core.db.models import User
from core.services import account, onboarding
from core.services.sync import sync_user
from leadgram.commands._common import EXIT_SYNC_FAILED, CliError, add_user_arg, database, fail, resolve_user
from leadgram.commands.contacts import table
from leadgram.commands.sync import summary

HELP = "load the bundled demo Instagram account (no keys needed) and show its contacts"


def register(parser: argparse.ArgumentParser) -> None:
    add_user_arg(parser)
    parser.add_argument("--replace", action="store_true",
                        help="replace a connected Instagram account (its leads are removed: export them first)")


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if uses_dev_key(settings):
        print(DEV_KEY_NOTICE, file=sys.stderr)
    try:
        async with database(settings) as sessions:
            user = await resolve_user(sessions, args.user)
            async with sessions() as session:
                await _use_demo(session, user, args.replace)
            async with demo_client(user.niche, sessions=sessions, user_id=user.id) as ig:
                result = await sync_user(sessions, user.id, ig)
            print(summary(result))
            if not result.ok:
                raise CliError(f"leadgram: demo sync stopped: {result.detail}", EXIT_SYNC_FAILED)
            user = await resolve_user(sessions, args.user)
            print()
            print(await table(sessions, user, 1))
    except CliError as exc:
        return fail(exc)
    return 0


async def _use_demo(session: AsyncSession, detached: User, replace: bool) -> None:
    """The same rule as the bot's /demo: a real account is never replaced silently."""
    user = await session.merge(detached)  # resolve_user's session is closed: change this session's row
    real = account.demo_would_replace(user)
    if real is None:
        await onboarding.use_demo(session, user)
    elif replace:
        removed = await account.switch_to_demo(session, user)
        print(f"{real} disconnected, {removed} of its leads removed.", file=sys.stderr)
    else:
        raise CliError(f"leadgram: {real} is connected; the demo would replace it and remove its leads. "
                       "Export them first (the bot's /export), then run `leadgram demo --replace`.")
