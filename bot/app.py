"""The Dispatcher with its middlewares and routers, and serving it: long polling or a webhook.

The Bot comes from bot/client.py (the one factory); leadgram/wiring.py assembles an App with its worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.utils.callback_answer import CallbackAnswerMiddleware

from bot.deps import Deps
from bot.handlers import routers
from bot.handlers.help import set_commands
from bot.middlewares import AccessMiddleware, DbSessionMiddleware
from core.config import Settings

log = logging.getLogger(__name__)


def build_dispatcher(deps: Deps) -> Dispatcher:
    dp = Dispatcher(deps=deps)
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(AccessMiddleware(deps.settings.allowed_telegram_ids, deps.queue))
        observer.outer_middleware(DbSessionMiddleware(deps))
    dp.callback_query.middleware(CallbackAnswerMiddleware())
    dp.include_routers(*routers())
    return dp


@dataclass
class App:
    bot: Bot
    dp: Dispatcher
    deps: Deps


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
    class SecretCheckedHandler(SimpleRequestHandler):
        def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
            # Compared as bytes: compare_digest raises on non-ASCII str, and a forged header must get 401,
            # not a 500 with a traceback.
            given = telegram_secret_token.encode("utf-8", "surrogateescape")
            return secrets.compare_digest(given, secret.encode())

    web_app = web.Application()
    SecretCheckedHandler(app.dp, app.bot, secret_token=secret).register(web_app, path=WEBHOOK_PATH)
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
