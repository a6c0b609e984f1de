"""`leadgram sync [--user ID]`: read new Instagram conversations into the database (incremental)."""

from __future__ import annotations

import argparse

import httpx

from core.clients.source import NotConnected, instagram_source, uses_env_token
from core.config import get_settings
from core.crypto import TokenCipher
from core.db.engine import transaction
from core.services.connect import connect_env
from core.services.listing import plural
from core.services.sync import SyncResult, sync_user
from leadgram.commands._common import (
    EXIT_EXPIRED,
    EXIT_NOT_CONNECTED,
    EXIT_SYNC_FAILED,
    CliError,
    add_user_arg,
    database,
    fail,
    resolve_user,
    who,
)

HELP = "sync Instagram conversations (IG_ACCESS_TOKEN's account, or --user's)"
HINT = "set IG_ACCESS_TOKEN (see README), connect Instagram in the bot, or run `leadgram demo`"


def register(parser: argparse.ArgumentParser) -> None:
    add_user_arg(parser)


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        async with database(settings) as sessions:
            user = await resolve_user(sessions, args.user)
            if uses_env_token(user, settings) and (user.ig_source != "graph" or user.ig_token_encrypted):
                async with transaction(sessions) as session:  # switching from demo: forget the demo account
                    await connect_env(session, user.id)
            async with httpx.AsyncClient(timeout=30.0) as http:
                try:
                    cipher = TokenCipher.from_settings(settings)
                    async with instagram_source(user, settings, cipher, http, sessions=sessions) as ig:
                        result = await sync_user(sessions, user.id, ig)
                except NotConnected as exc:
                    raise CliError(f"leadgram: {who(user)}: {exc}; {HINT}", EXIT_NOT_CONNECTED) from None
            print(summary(result))
            check(result)
    except CliError as exc:
        return fail(exc)
    return 0


def summary(result: SyncResult) -> str:
    text = (f"synced: {plural(result.new_contacts, 'new contact')}, {result.updated_contacts} with new messages, "
            f"{plural(result.new_messages, 'new message')} ({plural(result.graph_calls, 'Graph call')})")
    return text if result.ok else f"{text}; stopped: {result.stopped_reason}"


def check(result: SyncResult) -> None:
    """Turn a stopped sync into a clear message and a non-zero exit (rows already synced are kept)."""
    if result.stopped_reason == "expired":
        raise CliError("leadgram: the Instagram token is expired or invalid: create a new one and set "
                       f"IG_ACCESS_TOKEN (or reconnect in the bot). Graph said: {result.detail}", EXIT_EXPIRED)
    if result.stopped_reason is not None:
        raise CliError(f"leadgram: sync stopped ({result.stopped_reason}): {result.detail}", EXIT_SYNC_FAILED)
