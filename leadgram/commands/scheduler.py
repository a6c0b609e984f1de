"""`leadgram scheduler`: the periodic sync scheduler on its own (split deployment). It only enqueues jobs;
`leadgram worker` processes run them. Several replicas may run: job ids are deterministic per slot."""

from __future__ import annotations

import argparse
import asyncio
import logging

from core.config import fail, get_settings
from core.crypto import dev_key_refusal
from core.db.engine import make_engine, make_sessionmaker, upgrade

HELP = "run the sync scheduler alone (needs REDIS_URL; workers do the work)"
log = logging.getLogger(__name__)


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--interval", type=float, default=None, metavar="MINUTES",
                        help="override SYNC_INTERVAL_MINUTES (fractions allowed)")


async def run(args: argparse.Namespace) -> int:
    from core.queue import create_queue
    from workers.scheduler import start_scheduler

    settings = get_settings()
    refusal = dev_key_refusal(settings)
    if refusal:
        fail(refusal)
    if not settings.redis_url:
        fail("leadgram: the standalone scheduler needs REDIS_URL (shared with the workers)")
    interval = args.interval or settings.sync_interval_minutes
    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    redis = await create_queue(settings.redis_url)
    scheduler = start_scheduler(redis, make_sessionmaker(engine), interval, allowlist=settings.allowed_telegram_ids)
    log.info("scheduler started: sync every %s minutes", interval)
    try:
        await asyncio.Event().wait()  # until Ctrl+C / SIGTERM
    finally:
        scheduler.shutdown(wait=False)
        await redis.aclose()
        await engine.dispose()
    return 0
