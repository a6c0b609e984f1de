"""The real bot (aiogram Dispatcher, long polling over HTTP) against the Telegram stand-in, with an
in-process arq worker on the real Redis (a private queue per test) and the test's database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App, polling, runtime
from core.config import Settings, load_settings
from standins.telegram import Message, SimUser, TelegramStandin


@dataclass
class BotWorld:
    tg: TelegramStandin
    app: App
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]

    def user(self, telegram_id: int, name: str = "Ann") -> SimUser:
        return self.tg.user(telegram_id, name)

    async def say(self, user: SimUser, text: str, expect: str = "", timeout: float = 15.0) -> Message:  # noqa: ASYNC109
        """Send text; return the bot's first new message containing `expect` (pushes like alerts may interleave)."""
        after = max((m.message_id for m in user.state.messages.values()), default=0)
        await user.send(text)
        return await self.new_message(user, after, expect, timeout)

    async def new_message(self, user: SimUser, after: int, expect: str = "",
                          timeout: float = 15.0) -> Message:  # noqa: ASYNC109
        def found() -> Message | None:
            return next((m for m in user.chat if m.message_id > after and expect in m.text), None)

        msg: Message = await user.wait_for(found, timeout)
        return msg


async def onboard_demo(world: BotWorld, user: SimUser, niche: str = "fitness coach") -> None:
    """/start → niche → goal → demo; returns when the demo sync reported."""
    await world.say(user, "/start", "niche")
    await world.say(user, niche, "goal")
    prompt = await world.say(user, "sell my 12-week program", "connect Instagram")
    await user.press(prompt.message_id, "🎬 Try the demo account")
    status = await world.new_message(user, prompt.message_id, "demo account")
    await user.wait_for(lambda: "✅" in user.message(status.message_id).text, timeout=30)


@contextlib.asynccontextmanager
async def bot_world(db_url: str, sessions: async_sessionmaker[AsyncSession], redis_url: str, queue: str,
                    **overrides: Any) -> AsyncIterator[BotWorld]:
    async with TelegramStandin() as tg:
        settings = load_settings(database_url=db_url, redis_url=redis_url, telegram_bot_token=tg.token,
                                 telegram_api_base=tg.base_url, **overrides)
        async with runtime(settings, scheduler=False, queue_name=queue, sessions=sessions) as app:
            async with polling(app):
                yield BotWorld(tg, app, settings, sessions)
            keys = [k async for k in app.deps.queue.scan_iter(match=f"*{queue}*")]
            if keys:
                await app.deps.queue.delete(*keys)
