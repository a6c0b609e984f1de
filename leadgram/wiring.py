"""Process wiring: the one place that imports both bot/ and workers/.

`runtime()` assembles the bot with (optionally) an in-process arq worker and the scheduler, for `leadgram run`,
`leadgram bot`, `leadgram console`, the tests and the benches. Workers reach Telegram through the Notifier
handed to them here (core/notifier.py; bot/notifier.py implements it); `WorkerSettings` / `worker_hooks()`
do the same for a worker process of its own (`leadgram worker`, or `arq leadgram.wiring.WorkerSettings`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
from arq.connections import RedisSettings
from arq.constants import default_queue_name
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings, get_settings
from core.crypto import TokenCipher
from core.db.engine import make_engine, make_sessionmaker, upgrade
from core.notifier import Notifier
from core.queue import create_queue, deserialize, make_worker, redis_settings, running, serialize
from core.services.sendrate import SendPacer
from core.timeutil import utcnow
from workers import settings as ws

if TYPE_CHECKING:
    from bot.app import App

# bot/ (aiogram) is imported inside the functions that need it: building aiogram's ~400 pydantic models costs
# seconds of CPU, which a worker or scheduler process should not pay at start.
NOTIFIER_MODULE = "bot.notifier"


@contextlib.asynccontextmanager
async def runtime(settings: Settings, *, worker: bool = True, scheduler: bool = True, token: str | None = None,
                  queue_name: str = default_queue_name,
                  sessions: async_sessionmaker[AsyncSession] | None = None) -> AsyncIterator[App]:
    """Bot + (optionally) an in-process arq worker and the scheduler, torn down in reverse order."""
    from bot import screens
    from bot.app import App, build_dispatcher
    from bot.client import make_bot
    from bot.deps import Deps
    from bot.notifier import TelegramNotifier
    from bot.progress import Watchers

    async with contextlib.AsyncExitStack() as stack:
        if sessions is None:
            await upgrade(settings.database_url)
            engine = make_engine(settings.database_url)
            stack.push_async_callback(engine.dispose)
            sessions = make_sessionmaker(engine)
        queue = await create_queue(settings.redis_url, queue_name)
        stack.push_async_callback(queue.aclose)
        pacer = SendPacer(queue)
        bot = make_bot(settings, token, pacer)
        stack.push_async_callback(bot.session.close)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(30.0)))
        watchers = Watchers(bot, sessions, queue)
        screens.POLICY.human_agent = settings.ig_human_agent  # every card's reply window line
        stack.push_async_callback(watchers.close)
        deps = Deps(settings=settings, sessions=sessions, queue=queue, http=http,
                    cipher=TokenCipher.from_settings(settings), watchers=watchers)
        if worker:
            notifier = TelegramNotifier(bot, pacer, sessions=sessions, human_agent=settings.ig_human_agent)
            ctx = {"settings": settings, "sessions": sessions, "notifier": notifier}
            await stack.enter_async_context(running(make_worker(
                queue, ws.FUNCTIONS, on_startup=ws.startup, on_shutdown=ws.shutdown, ctx=ctx, poll_delay=0.1)))
        if scheduler:
            from workers.scheduler import start_scheduler

            sched = start_scheduler(queue, sessions, settings.sync_interval_minutes,
                                    allowlist=settings.allowed_telegram_ids)
            stack.push_async_callback(_stop_scheduler, sched)
        yield App(bot, build_dispatcher(deps), deps)


async def _stop_scheduler(sched: Any, grace_s: float = 5.0) -> None:
    """No new ticks, let a running one finish (bounded), then shut down: shutting down mid-tick cancels it and
    APScheduler logs the CancelledError as a failed job, a traceback on every quick stop."""
    sched.pause()
    executor = getattr(sched, "_executors", {}).get("default")
    running_ticks = [f for f in getattr(executor, "_pending_futures", ()) if not f.done()]  # APScheduler 3.x
    if running_ticks:
        await asyncio.wait(running_ticks, timeout=grace_s)
    sched.shutdown(wait=False)


# ---------------------------------------------------------------- a worker process of its own


def telegram_notifier(ctx: dict[str, Any]) -> Notifier:
    """ctx["make_notifier"]: built on the first push, on the worker's Redis (shared pacing)."""
    from bot.notifier import TelegramNotifier

    return TelegramNotifier.from_settings(ctx["settings"], ctx["redis"], clock=ctx.get("clock", utcnow),
                                          sessions=ctx["sessions"])


async def worker_startup(ctx: dict[str, Any]) -> None:
    ctx.setdefault("make_notifier", telegram_notifier)
    # aiogram costs seconds of pydantic model building at import: workers.alerting imports this module in a
    # warm-up thread at startup, so the worker takes jobs at once and the first push finds it loaded.
    ctx.setdefault("warm_module", NOTIFIER_MODULE)
    await ws.startup(ctx)


def worker_hooks() -> dict[str, Any]:
    """make_worker(...) keyword arguments for a worker process: jobs, startup and shutdown."""
    return {"functions": ws.FUNCTIONS, "on_startup": worker_startup, "on_shutdown": ws.shutdown}


def _redis_settings() -> RedisSettings:
    url = get_settings().redis_url
    return redis_settings(url) if url else RedisSettings()


class WorkerSettings:
    """For `arq leadgram.wiring.WorkerSettings` (`leadgram worker` is the usual way)."""

    functions = ws.FUNCTIONS
    on_startup = worker_startup
    on_shutdown = ws.shutdown
    max_jobs = 20
    redis_settings = _redis_settings()
    job_serializer = staticmethod(serialize)  # JSON, never pickle (core.queue.serialize says why)
    job_deserializer = staticmethod(deserialize)
