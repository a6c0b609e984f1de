"""`leadgram db upgrade`: apply database migrations."""

from __future__ import annotations

import argparse

from core.config import get_settings
from core.db.engine import upgrade

HELP = "database maintenance"


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    sub.add_parser("upgrade", help="apply all migrations (also done at every start)")


async def run(args: argparse.Namespace) -> int:
    if args.db_command == "upgrade":
        settings = get_settings()
        await upgrade(settings.database_url)
        print("database is up to date")
    return 0
