"""`leadgram worker`: the arq worker alone (scoring, sync and alert jobs), on REDIS_URL or in-process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from arq.constants import default_queue_name

from core.config import get_settings
from core.crypto import dev_key_refusal
from core.db.engine import upgrade
from core.queue import create_queue, is_fake, make_worker, running
from leadgram.commands._common import EXIT_USAGE
from leadgram.commands.run import stop_on_signals

HELP = "run the background worker (scoring, sync, alerts)"
log = logging.getLogger(__name__)


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", default=default_queue_name, help=argparse.SUPPRESS)  # tests isolate queues
    parser.add_argument("--max-jobs", type=int, default=20, help="jobs run at once by this worker")
    parser.add_argument("--in-progress-ttl", type=float, default=None, help=argparse.SUPPRESS)


async def run(args: argparse.Namespace) -> int:
    from leadgram.wiring import worker_hooks

    settings = get_settings()
    refusal = dev_key_refusal(settings)
    if refusal:
        print(refusal, file=sys.stderr)
        return EXIT_USAGE
    await upgrade(settings.database_url)
    queue = await create_queue(settings.redis_url, args.queue)
    if is_fake(queue):
        log.warning("REDIS_URL is unset: this worker only sees jobs enqueued inside its own process")
    hooks = worker_hooks()
    worker = make_worker(queue, hooks["functions"], on_startup=hooks["on_startup"], on_shutdown=hooks["on_shutdown"],
                         ctx={"settings": settings}, max_jobs=args.max_jobs, poll_delay=0.1,
                         in_progress_ttl_s=args.in_progress_ttl)
    stop = asyncio.Event()
    with stop_on_signals(stop):  # Ctrl+C / SIGTERM: stop taking jobs, abandon running ones, exit promptly
        async with running(worker):
            log.info("worker started on queue %s", args.queue)
            await stop.wait()
    return 0
