"""The real bot (aiogram Dispatcher, long polling over HTTP) against the Telegram stand-in, with an
in-process arq worker on the real Redis (a private queue per test) and the test's database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App, polling
from core.config import Settings, load_settings
from core.db.engine import transaction
from core.db.models import ScoringRun, User
from leadgram.wiring import runtime
from standins.telegram import WAIT_S, Message, SimUser, TelegramStandin


@dataclass
class BotWorld:
    tg: TelegramStandin
    app: App
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]

    def user(self, telegram_id: int, name: str = "Ann") -> SimUser:
        return self.tg.user(telegram_id, name)

    async def say(self, user: SimUser, text: str, expect: str = "", timeout: float = WAIT_S) -> Message:  # noqa: ASYNC109
        """Send text; return the bot's first new message containing `expect` (pushes like alerts may interleave)."""
        after = max((m.message_id for m in user.state.messages.values()), default=0)
        await user.send(text)
        return await self.new_message(user, after, expect, timeout)

    async def new_message(self, user: SimUser, after: int, expect: str = "",
                          timeout: float = WAIT_S) -> Message:  # noqa: ASYNC109
        def found() -> Message | None:
            return next((m for m in user.chat if m.message_id > after and expect in m.text), None)

        msg: Message = await user.wait_for(found, timeout)
        return msg


async def no_run_in_progress(world: BotWorld, tries: int = 600) -> None:
    """Wait (0.1 s a try) until no scoring run is running, e.g. the demo's first one writing AI tags."""
    for _ in range(tries):
        async with world.sessions() as session:
            running = (await session.execute(select(func.count()).select_from(ScoringRun).where(
                ScoringRun.status == "running"))).scalar_one()
        if not running:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("scoring did not finish")


async def onboard_demo(world: BotWorld, user: SimUser, niche: str = "fitness coach") -> None:
    """/start → niche → goal → demo; returns when the demo sync reported.

    The creator gets no quiet hours: the default 22:00-08:00 (UTC) would hold the demo's hot-lead pushes
    when CI runs at night, so a test would see a different story depending on the hour."""
    await world.say(user, "/start", "niche")
    async with transaction(world.sessions) as session:
        await session.execute(update(User).where(User.telegram_id == user.id)
                              .values(quiet_start_hour=0, quiet_end_hour=0))
    await world.say(user, niche, "goal")
    prompt = await world.say(user, "sell my 12-week program", "connect Instagram")
    await user.press(prompt.message_id, "🎬 Try the demo account")
    status = await world.new_message(user, prompt.message_id, "demo account")
    await user.wait_for(lambda: "✅" in user.message(status.message_id).text)


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
