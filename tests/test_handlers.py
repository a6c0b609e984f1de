"""A few handler tests: updates fed straight into the real Dispatcher (replies go to the Telegram stand-in);
they check what a handler decides (stored state, buttons' callback data), not its wording."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import Chat, Message, Update
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App
from bot.callbacks import StartCb
from core.config import load_settings
from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, User
from leadgram.wiring import runtime
from standins.telegram import TelegramStandin

ANN = 4242
_ids = itertools.count(1)


@pytest.fixture
async def app(db_url: str, sessions: async_sessionmaker[AsyncSession], unique: str) -> AsyncIterator[Any]:
    async with TelegramStandin() as tg:
        tg.user(ANN)
        settings = load_settings(database_url=db_url, telegram_bot_token=tg.token, telegram_api_base=tg.base_url)
        async with runtime(settings, worker=False, scheduler=False, queue_name=unique, sessions=sessions) as built:
            yield built, tg


def _message(text: str, reply_to: Message | None = None) -> Message:
    user = TgUser(id=ANN, is_bot=False, first_name="Ann")
    return Message(message_id=next(_ids), date=datetime.now(UTC), chat=Chat(id=ANN, type="private"),
                   from_user=user, text=text, reply_to_message=reply_to)


async def feed(app: App, message: Message) -> None:
    await app.dp.feed_update(app.bot, Update(update_id=next(_ids), message=message))


async def _me(sessions: async_sessionmaker[AsyncSession]) -> User:
    async with sessions() as s:
        user = await repo.get_user(s, ANN)
        assert user is not None
        return user


async def test_onboarding_answers_move_the_creator_along(app: Any, sessions: async_sessionmaker[AsyncSession]) -> None:
    built, tg = app
    await feed(built, _message("/start"))
    assert (await _me(sessions)).onboarding_step == "niche"
    await feed(built, _message("fitness coach"))
    assert ((await _me(sessions)).niche, (await _me(sessions)).onboarding_step) == ("fitness coach", "goal")
    await feed(built, _message("sell my program"))
    assert (await _me(sessions)).onboarding_step == "connect"
    offered = [b["callback_data"] for b in tg.user(ANN).chat[-1].button_list()]
    assert StartCb(a="demo").pack() in offered


async def test_a_typed_score_out_of_range_changes_nothing(app: Any, sessions: async_sessionmaker[AsyncSession]) -> None:
    built, _ = app
    await feed(built, _message("/start"))
    async with transaction(sessions) as s:
        me = await repo.get_user(s, ANN)
        assert me is not None
        contact = Contact(user_id=me.id, instagram_id="ig1", name="Lead", tags=[], lead_score=40, score_source="ai")
        s.add(contact)
        await s.flush()
        cid = contact.id
    bot_user = TgUser(id=1, is_bot=True, first_name="Leadgram")
    prompt = Message(message_id=next(_ids), date=datetime.now(UTC), chat=Chat(id=ANN, type="private"),
                     from_user=bot_user, text=f"🎯 #{cid} · reply with a score from 0 to 100 for Lead")
    for typed, stored in (("150", (40, "ai")), ("85", (85, "manual"))):
        await feed(built, _message(typed, reply_to=prompt))
        async with sessions() as s:
            c = await repo.get_contact(s, me.id, cid)
            assert c is not None and (c.lead_score, c.score_source) == stored, typed
