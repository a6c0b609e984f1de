"""`leadgram demo [--user ID]`: connect the bundled demo Instagram account, sync it, show the table."""

from __future__ import annotations

import argparse

from core.clients.demo import demo_client
from core.config import get_settings
from core.db.engine import transaction
from core.services.connect import connect_demo
from core.services.sync import sync_user
from leadgram.commands._common import EXIT_SYNC_FAILED, CliError, add_user_arg, database, fail, resolve_user
from leadgram.commands.contacts import table
from leadgram.commands.sync import summary

HELP = "load the bundled demo Instagram account (no keys needed) and show its contacts"


def register(parser: argparse.ArgumentParser) -> None:
    add_user_arg(parser)


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        async with database(settings) as sessions:
            user = await resolve_user(sessions, args.user)
            async with transaction(sessions) as session:
                await connect_demo(session, user.id)
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
