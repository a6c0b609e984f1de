"""`leadgram bot`: the Telegram bot alone (split deployment). Its jobs go to REDIS_URL, where `leadgram worker`
processes run them and `leadgram scheduler` plans syncs; long polling, or webhook mode like `leadgram run`."""

from __future__ import annotations

import argparse
import sys

from arq.constants import default_queue_name

from core.config import get_settings
from leadgram.commands.run import EXIT_CONFIG, config_error, serve

HELP = "run the Telegram bot alone (needs REDIS_URL; `leadgram worker` runs its jobs)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", default=default_queue_name, help=argparse.SUPPRESS)  # tests isolate queues


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    problem = config_error(settings)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    if not settings.redis_url:
        # Without REDIS_URL the queue is in-process and this process has no worker: jobs would never run.
        print("leadgram: `leadgram bot` needs REDIS_URL (its jobs run in `leadgram worker` processes); "
              "for everything in one process use `leadgram run`", file=sys.stderr)
        return EXIT_CONFIG
    return await serve(settings, worker=False, scheduler=False, queue_name=args.queue)
