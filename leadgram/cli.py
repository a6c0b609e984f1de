"""`leadgram` console script: one entry point, one module per subcommand under leadgram/commands/."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Sequence

# Subcommand name -> module. Each module defines `register(parser)` and `async def run(args) -> int`.
COMMANDS: dict[str, str] = {
    "db": "leadgram.commands.db",
    "sync": "leadgram.commands.sync",
    "contacts": "leadgram.commands.contacts",
    "demo": "leadgram.commands.demo",
    "scheduler": "leadgram.commands.scheduler",
    "score": "leadgram.commands.score",
    "worker": "leadgram.commands.worker",
    "run": "leadgram.commands.run",
    "bot": "leadgram.commands.bot_cmd",
    "console": "leadgram.commands.console",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadgram", description="Instagram DM leads, scored by AI, run from Telegram."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        child = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.register(child)
        child.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from core.config import get_settings

    settings = get_settings()  # fails with one clear line on a bad setting
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(asyncio.run(args._module.run(args)) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
