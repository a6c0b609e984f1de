"""`leadgram contacts [--page N] [--user ID]`: the creator's contacts, 10 per page, newest activity first."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import get_settings
from core.db.models import User
from core.services import contacts
from leadgram.commands._common import CliError, add_user_arg, database, fail, resolve_user
from leadgram.commands._table import render

HELP = "show the contacts table (10 per page, like the bot)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page", type=int, default=1, metavar="N", help="page number (default 1)")
    add_user_arg(parser)


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        async with database(settings) as sessions:
            user = await resolve_user(sessions, args.user)
            print(await table(sessions, user, args.page))
    except CliError as exc:
        return fail(exc)
    return 0


async def table(sessions: async_sessionmaker[AsyncSession], user: User, page_no: int) -> str:
    async with sessions() as session:
        shown = await contacts.list_page(session, user, page_no, contacts.query_for(user), in_visit=False)
    page, rows = shown.page, shown.rows
    if page_no != page.page:  # list_contacts clamps: a page that does not exist is the operator's mistake
        raise CliError(f"leadgram: page {page_no} is out of range: there "
                       f"{'is 1 page' if page.pages == 1 else f'are {page.pages} pages'} (--page 1 to {page.pages})")
    account = f"@{user.ig_username}" if user.ig_username else "Instagram"
    source = " (demo)" if user.ig_source == "demo" else ""
    return render(rows, page, f"Leadgram · {account}{source}")
