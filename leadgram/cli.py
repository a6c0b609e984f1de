"""`leadgram` console script: one entry point, one module per subcommand under leadgram/commands/."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Sequence

EXIT_INVALID = 1  # a setting that does not work (the README's exit code 1)
EXIT_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away

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
    "eval": "leadgram.commands.eval_cmd",
    "secrets": "leadgram.commands.secrets",
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
    from redis.exceptions import ConnectionError as RedisConnectionError

    from core.db.engine import DatabaseUnavailable

    try:
        return _exit_now_if_warming(int(asyncio.run(args._module.run(args)) or 0))
    except KeyboardInterrupt:
        return _exit_now_if_warming(130)
    except DatabaseUnavailable as exc:
        print(f"leadgram: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except RedisConnectionError as exc:  # REDIS_URL set but nothing answers there (the message has no password)
        print(f"leadgram: Redis (REDIS_URL) is unreachable: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:
        return _pipe_closed()


def _exit_now_if_warming(code: int) -> int:
    """A worker stopped while aiogram was still being imported in its warm-up thread (tens of seconds on a busy
    machine): everything of ours is closed, so leave without interpreter teardown, which would wait for the
    import or abort under it."""
    alerting = sys.modules.get("workers.alerting")
    if alerting is not None and alerting.warming():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _pipe_closed() -> int:
    """`leadgram contacts | head -3`: the reader left. Say so once; silence the flush at exit (it would fail too)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    print("leadgram: output closed early (broken pipe)", file=sys.stderr)
    return EXIT_PIPE


if __name__ == "__main__":
    sys.exit(main())
