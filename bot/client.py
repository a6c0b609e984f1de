"""The one Bot factory, and the one answer to Telegram's 429 for every send path (replies, edits, pushes).

A 429 (TelegramRetryAfter) is waited out, bounded, never dropped. With a SendPacer, the wait is booked on the
chat in Redis first, so every process (bot replicas, workers) holds back from that chat, not just this send.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from core.config import Settings
from core.services.sendrate import SendPacer

log = logging.getLogger(__name__)
RETRY_AFTER_TRIES = 5


class RetryAfter(BaseRequestMiddleware):
    def __init__(self, pacer: SendPacer | None = None) -> None:
        self.pacer = pacer

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        for attempt in range(RETRY_AFTER_TRIES):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == RETRY_AFTER_TRIES - 1:  # bounded: a long ban must not hang a handler or a job
                    raise
                log.info("telegram 429 on %s: waiting %ss", type(method).__name__, exc.retry_after)
                await self._wait(getattr(method, "chat_id", None), float(exc.retry_after))
        raise AssertionError("unreachable")

    async def _wait(self, chat_id: object, seconds: float) -> None:
        if self.pacer is not None and isinstance(chat_id, int):
            await self.pacer.hold_chat(chat_id, seconds)
            await self.pacer.wait(chat_id)  # sleeps out the hold (the pacer's clock and sleep: tests inject them)
        else:
            await asyncio.sleep(seconds)


def make_bot(settings: Settings, token: str | None = None, pacer: SendPacer | None = None) -> Bot:
    """A Bot on TELEGRAM_API_BASE (Telegram, or a stand-in), HTML by default, 429s waited out."""
    secret = token or (settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else None)
    if not secret:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(RetryAfter(pacer))
    return Bot(secret, session=session, default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True))
