"""`leadgram run`: everything in one process: the bot (long polling, or a webhook server when
TELEGRAM_WEBHOOK_URL is set), an arq worker (REDIS_URL, or in-process without it) and the sync scheduler."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import signal
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from arq.constants import default_queue_name

from core.config import Settings, get_settings
from core.crypto import dev_key_refusal

if TYPE_CHECKING:
    pass

HELP = "run the Telegram bot with its worker and scheduler in one process"
log = logging.getLogger(__name__)
EXIT_CONFIG = 2


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", default=default_queue_name, help=argparse.SUPPRESS)  # tests isolate queues


async def run(args: argparse.Namespace) -> int:
    return await serve(get_settings(), worker=True, scheduler=True, queue_name=args.queue)


def config_error(settings: Settings) -> str | None:
    """One clear line for a setting the bot cannot start without, or None."""
    if not settings.telegram_bot_token or not settings.telegram_bot_token.get_secret_value():
        return ("leadgram: TELEGRAM_BOT_TOKEN is not set (create a bot with @BotFather); "
                "to try Leadgram without Telegram, run `leadgram console`")
    refusal = dev_key_refusal(settings)
    if refusal:
        return refusal
    if settings.telegram_webhook_url and not settings.telegram_webhook_secret:
        return ("leadgram: TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not "
                "(webhook mode refuses requests without the secret; set it, or unset the URL for long polling)")
    return None


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Ctrl+C and SIGTERM set `stop` (a clean shutdown) instead of killing the process mid-write; a second
    one is not caught any more (Ctrl+C twice stops a shutdown that hangs)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []

    def release() -> None:
        while installed:
            loop.remove_signal_handler(installed.pop())

    def on_signal() -> None:
        stop.set()
        release()

    # Windows event loops have no signal handlers (KeyboardInterrupt still stops it there).
    for sig in (signal.SIGINT, signal.SIGTERM) if sys.platform != "win32" else ():
        with contextlib.suppress(RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    try:
        yield
    finally:
        release()


async def serve(settings: Settings, *, worker: bool, scheduler: bool, queue_name: str) -> int:
    """The bot until Ctrl+C / SIGTERM: polling, or webhook mode when TELEGRAM_WEBHOOK_URL is set."""
    from aiogram.exceptions import TelegramUnauthorizedError

    problem = config_error(settings)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    try:
        await check_token(settings)
        return await _serve(settings, worker=worker, scheduler=scheduler, queue_name=queue_name)
    except TelegramUnauthorizedError:
        print("leadgram: Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized): check the token", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        if settings.telegram_webhook_url and exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            print(f"leadgram: cannot listen on {settings.webhook_host}:{settings.webhook_port} for the webhook: "
                  f"{exc.strerror}", file=sys.stderr)
            return EXIT_CONFIG
        raise


async def check_token(settings: Settings) -> None:
    """getMe before anything starts: a wrong token fails in a second, not after migrations and a worker.
    Telegram unreachable is only a warning: polling keeps retrying until it is back."""
    from aiogram.exceptions import TelegramNetworkError

    from bot.client import make_bot

    bot = make_bot(settings)
    try:
        me = await bot.get_me()
        log.info("Telegram bot @%s", me.username)
    except TelegramNetworkError as exc:
        log.warning("cannot reach Telegram at %s yet (%s); starting anyway", settings.telegram_api_base,
                    type(exc).__name__)
    finally:
        await bot.session.close()


async def _serve(settings: Settings, *, worker: bool, scheduler: bool, queue_name: str) -> int:
    from bot.app import poll, serve_webhook, stop_serving
    from leadgram.wiring import runtime

    stop = asyncio.Event()
    with stop_on_signals(stop):
        async with runtime(settings, worker=worker, scheduler=scheduler, queue_name=queue_name) as app:
            if stop.is_set():
                return 0
            mode = "webhook" if settings.telegram_webhook_url else "long polling"
            serving = asyncio.create_task(serve_webhook(app, settings) if settings.telegram_webhook_url
                                          else poll(app))
            stopping = asyncio.create_task(stop.wait())
            log.info("bot started (%s; worker %s, scheduler %s)", mode, "on" if worker else "off",
                     "on" if scheduler else "off")
            try:
                await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                await stop_serving(app, serving)
            if not serving.cancelled():
                serving.result()  # a failure of the bot itself (bad token, port in use) propagates
            log.info("bot stopped")
    return 0
