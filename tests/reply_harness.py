"""Shared setup for the reply tests: a Graph stand-in whose leads last wrote at chosen ages, a creator connected
to it through the real bot, and helpers to open a card and make a draft."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.callbacks import ContactCb
from core.db.models import Contact, Reply, User
from standins.instagram import Dataset, InstagramStandin, SConversation, SMessage
from standins.telegram import Message, SimUser
from tests.bot_harness import BotWorld, bot_world

ACCOUNT = "17841400000000042"
AGES = {"fresh": timedelta(hours=1), "h23": timedelta(hours=23), "h25": timedelta(hours=25),
        "d6": timedelta(days=6), "d8": timedelta(days=8)}
NOW = datetime.now(UTC).replace(microsecond=0)


def reply_data(now: datetime = NOW) -> Dataset:
    me = {"id": ACCOUNT, "username": "coach.test"}
    ds = Dataset(account_id=ACCOUNT, username="coach.test")
    for i, (name, age) in enumerate(AGES.items()):
        lead = {"id": f"6900000000{i:05d}", "username": f"lead_{name}", "name": f"Lead {name.upper()}"}
        conv = SConversation(id=f"c_{name}", participants=[me, lead], updated=now - age)
        conv.messages = [SMessage(id=f"m_{name}_2", from_id=lead["id"], text="how much is the program?",
                                  created=now - age),
                         SMessage(id=f"m_{name}_1", from_id=ACCOUNT, text="hi! thanks for writing",
                                  created=now - age - timedelta(minutes=5))]
        ds.conversations.append(conv)
    return ds


@contextlib.asynccontextmanager
async def reply_world(db_url: str, sessions: Any, redis_url: str, unique: str,
                      **overrides: Any) -> AsyncIterator[tuple[BotWorld, InstagramStandin]]:
    """A world whose bot and Instagram stand-in share one injected clock (NOW)."""
    async with InstagramStandin(reply_data(), clock=lambda: NOW) as ig, bot_world(
        db_url, sessions, redis_url, unique, ig_api_base=ig.base_url, secret_key="r" * 32, **overrides,
    ) as world:
        world.app.deps.clock = lambda: NOW
        yield world, ig
        await world.tg.wait_idle()
        assert world.tg.errors == [], [(e.method, e.error) for e in world.tg.errors]


async def connect(world: BotWorld, ig: InstagramStandin, telegram_id: int) -> SimUser:
    user = world.user(telegram_id, "Mia")
    await world.say(user, "/start", "niche")
    await world.say(user, "fitness coach", "goal")
    await world.say(user, "sell my program", "connect")
    sent = await user.send(f"/connect {ig.token}")
    status = await world.new_message(user, sent.message_id, "Connected")
    await user.wait_for(lambda: "✅" in user.message(status.message_id).text)
    return user


async def contact_of(world: BotWorld, telegram_id: int, name: str) -> Contact:
    async with world.sessions() as session:
        user = (await session.execute(select(User).where(User.telegram_id == telegram_id))).scalar_one()
        return (await session.execute(select(Contact).where(
            Contact.user_id == user.id, Contact.username == f"lead_{name}"))).scalar_one()


async def open_card(world: BotWorld, user: SimUser, contact_id: int) -> int:
    listing = await world.say(user, "/contacts", "📇")
    await user.press_raw(listing.message_id, ContactCb(a="card", id=contact_id).pack())
    await user.wait_for(lambda: "✍️" in user.message(listing.message_id).text)
    return listing.message_id


async def draft(world: BotWorld, user: SimUser, card_id: int, text: str) -> Message:
    """✍️ Reply on the card, answer the prompt: the bot shows the draft."""
    await user.press(card_id, "✍️ Reply")
    prompt = await world.new_message(user, card_id, "reply with your message")
    assert prompt.force_reply
    await user.reply(prompt.message_id, text)
    return await world.new_message(user, prompt.message_id, "Draft to")


async def replies_of(world: BotWorld, contact_id: int) -> list[Reply]:
    async with world.sessions() as session:
        return list((await session.execute(select(Reply).where(Reply.contact_id == contact_id)
                                           .order_by(Reply.id))).scalars())


def buttons(message: Message) -> list[str]:
    return [text for row in message.buttons for text, _ in row]
