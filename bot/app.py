"""Wiring: the Bot (Telegram or a stand-in, by TELEGRAM_API_BASE), the Dispatcher with its middlewares and
routers, and the runtime that `leadgram run`, `leadgram bot`, `leadgram console` and the tests share."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from arq.constants import default_queue_name
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deps import Deps
from bot.handlers import routers
from bot.handlers.help import set_commands
from bot.middlewares import AccessMiddleware, DbSessionMiddleware
from bot.progress import Watchers
from core.config import Settings
from core.crypto import TokenCipher
from core.db.engine import make_engine, make_sessionmaker, upgrade
from core.queue import create_queue, make_worker, running

log = logging.getLogger(__name__)
RETRY_AFTER_TRIES = 5


class RetryAfter(BaseRequestMiddleware):
    """Telegram's 429 is waited out (retry_after seconds), not dropped; bounded so a ban cannot hang us."""

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        for attempt in range(RETRY_AFTER_TRIES):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == RETRY_AFTER_TRIES - 1:
                    raise
                log.info("telegram 429 on %s: waiting %ss", type(method).__name__, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")


def make_bot(settings: Settings, token: str | None = None) -> Bot:
    secret = token or (settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else None)
    if not secret:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(RetryAfter())
    return Bot(secret, session=session, default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True))


def build_dispatcher(deps: Deps) -> Dispatcher:
    dp = Dispatcher(deps=deps)
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(AccessMiddleware(deps.settings.allowed_telegram_ids))
        observer.outer_middleware(DbSessionMiddleware(deps))
    dp.callback_query.middleware(CallbackAnswerMiddleware())
    dp.include_routers(*routers())
    return dp


@dataclass
class App:
    bot: Bot
    dp: Dispatcher
    deps: Deps


@contextlib.asynccontextmanager
async def runtime(settings: Settings, *, worker: bool = True, scheduler: bool = True, token: str | None = None,
                  queue_name: str = default_queue_name,
                  sessions: async_sessionmaker[AsyncSession] | None = None) -> AsyncIterator[App]:
    """Bot + (optionally) an in-process arq worker and the scheduler, torn down in reverse order."""
    async with contextlib.AsyncExitStack() as stack:
        if sessions is None:
            await upgrade(settings.database_url)
            engine = make_engine(settings.database_url)
            stack.push_async_callback(engine.dispose)
            sessions = make_sessionmaker(engine)
        queue = await create_queue(settings.redis_url, queue_name)
        stack.push_async_callback(queue.aclose)
        bot = make_bot(settings, token)
        stack.push_async_callback(bot.session.close)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(30.0)))
        watchers = Watchers(bot, sessions, queue)
        stack.push_async_callback(watchers.close)
        deps = Deps(settings=settings, sessions=sessions, queue=queue, http=http,
                    cipher=TokenCipher.from_settings(settings), watchers=watchers)
        if worker:
            await stack.enter_async_context(running(_worker(settings, sessions, queue, bot)))
        if scheduler:
            from workers.scheduler import start_scheduler

            sched = start_scheduler(queue, sessions, settings.sync_interval_minutes)
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


def _worker(settings: Settings, sessions: async_sessionmaker[AsyncSession], queue: Any, bot: Bot) -> Any:
    from workers import settings as ws

    ctx = {"settings": settings, "sessions": sessions, "bot": bot}
    return make_worker(queue, ws.FUNCTIONS, on_startup=ws.startup, on_shutdown=ws.shutdown, ctx=ctx,
                       poll_delay=0.1)


async def prepare(app: App) -> None:
    """Before taking updates: the command menu, and progress messages of runs a previous process left."""
    await set_commands(app.bot)
    await app.deps.watchers.resume()


async def poll(app: App) -> None:
    """Long polling until cancelled (one poller per token: a webhook, if any, is removed first)."""
    await app.bot.delete_webhook(drop_pending_updates=False)
    await prepare(app)
    await app.dp.start_polling(app.bot, handle_signals=False, close_bot_session=False, polling_timeout=10,
                               allowed_updates=app.dp.resolve_used_update_types())


STOP_TIMEOUT_S = 10.0


async def stop_serving(app: App, serving: asyncio.Task[None]) -> None:
    """Stop polling the aiogram way (cancelling start_polling would leave its poller task running) or cancel
    the webhook server; returns when `serving` is done (its own failure, if any, is left in the task)."""
    if not serving.done():
        with contextlib.suppress(RuntimeError, TimeoutError):  # RuntimeError: polling not started yet
            await asyncio.wait_for(app.dp.stop_polling(), STOP_TIMEOUT_S)
    if not serving.done():
        serving.cancel()
    await asyncio.wait({serving})


@contextlib.asynccontextmanager
async def polling(app: App) -> AsyncIterator[asyncio.Task[None]]:
    """Long polling as a task for the duration of the block (tests, benches), stopped cleanly on exit."""
    task = asyncio.create_task(poll(app))
    try:
        yield task
    finally:
        await stop_serving(app, task)


async def serve_webhook(app: App, settings: Settings) -> None:
    """Webhook mode for several replicas behind a load balancer; every request must carry the secret."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    if not settings.telegram_webhook_url or not settings.telegram_webhook_secret:
        raise ValueError("webhook mode needs TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET")
    secret = settings.telegram_webhook_secret.get_secret_value()
    web_app = web.Application()
    SimpleRequestHandler(app.dp, app.bot, secret_token=secret).register(web_app, path=WEBHOOK_PATH)
    setup_application(web_app, app.dp, bot=app.bot)
    runner = web.AppRunner(web_app)
    await runner.setup()
    try:
        # Listening before setWebhook: Telegram's first delivery must not hit a closed port (it would back
        # off), and a replica that cannot bind never points Telegram at itself.
        await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
        await prepare(app)
        await app.bot.set_webhook(settings.telegram_webhook_url, secret_token=secret,
                                  allowed_updates=app.dp.resolve_used_update_types())
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


WEBHOOK_PATH = "/telegram/webhook"
