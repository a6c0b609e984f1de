"""The reply-window push end to end: the creator picks how early in /settings (stored, a forged value refused),
the scheduler's scan job runs in the bot's worker, and the push arrives through the Telegram stand-in with the
card's buttons; ✍️ Reply on it asks for the reply. Both dialects, real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ContactCb, SetCb
from core.db.engine import transaction
from core.db.models import Contact, User
from core.timeutil import utcnow
from tests.bot_harness import BotWorld, bot_world, onboard_demo
from workers.scheduler import window_tick

pytestmark = pytest.mark.timeout(180)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def world(db_url: str, sessions: Sessions, redis_url: str, unique: str) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w
        await w.tg.wait_idle()
        assert w.tg.errors == [], [(e.method, e.error) for e in w.tg.errors]


async def _me(sessions: Sessions, telegram_id: int) -> User:
    async with sessions() as s:
        return (await s.execute(select(User).where(User.telegram_id == telegram_id))).scalar_one()


async def test_settings_pick_how_early_and_the_push_arrives(world: BotWorld) -> None:
    ann = world.user(6201)
    await onboard_demo(world, ann)
    me = await _me(world.sessions, ann.id)
    assert me.window_push_hours == 4  # the default
    shown = await world.say(ann, "/settings", "Settings")
    assert ("✅ ⏳ 4 h", SetCb(a="win", v=4).pack()) in [b for row in shown.buttons for b in row]
    cb = await ann.press(shown.message_id, "⏳ 8 h")
    await ann.wait_answered(cb)
    assert (await _me(world.sessions, ann.id)).window_push_hours == 8
    await ann.wait_for(lambda: any(b[0] == "✅ ⏳ 8 h" for row in ann.message(shown.message_id).buttons
                                   for b in row))
    forged = await ann.press_raw(shown.message_id, SetCb(a="win", v=3).pack())  # no button offers 3 h
    assert (await ann.wait_answered(forged))["text"] == "Pick one of the buttons."
    assert (await _me(world.sessions, ann.id)).window_push_hours == 8

    # Quiet hours off for the test (they are local hours: the real clock decides otherwise); one demo lead
    # wrote 17 h ago and is unanswered: 7 h left, within the creator's 8 h. The other demo leads count as
    # pushed already: their real windows would otherwise be pushed first, paced, and crowd the wait.
    lead_at = utcnow() - timedelta(hours=17)
    async with transaction(world.sessions) as s:
        user = await s.get(User, me.id)
        assert user is not None
        user.quiet_start_hour = user.quiet_end_hour = 0
        await s.execute(update(Contact).where(Contact.user_id == me.id)
                        .values(window_pushed_for=Contact.last_lead_message_at))
        contact = (await s.execute(select(Contact).where(Contact.user_id == me.id).order_by(Contact.id)
                                   .limit(1))).scalar_one()
        contact.name, contact.sentiment, contact.lead_score, contact.stage, contact.shelf = (
            "Window Lead", "hot", 92, "talking", None)
        contact.last_message_from_creator, contact.last_lead_message_at = False, lead_at
        contact.window_pushed_for, cid = None, contact.id
    after = max(m.message_id for m in ann.chat)
    assert await window_tick(world.app.deps.queue, utcnow())
    push = await world.new_message(ann, after, "Window Lead")
    replies = [b for row in push.buttons for b in row if b[1].startswith("c:")]
    assert [ContactCb.unpack(data).a for _, data in replies] == ["reply", "aidraft"]
    assert {ContactCb.unpack(data).id for _, data in replies} == {cid}
    async with world.sessions() as s:
        stored = await s.get(Contact, cid)
        assert stored is not None and stored.window_pushed_for == lead_at
    # Answer from the push: the reply prompt comes (nothing is sent before Send).
    before = max(m.message_id for m in ann.chat)
    cb = await ann.press(push.message_id, "✍️ Reply")
    await ann.wait_answered(cb)
    prompt = await world.new_message(ann, before, "reply with your message")
    assert prompt.force_reply and "Window Lead" in prompt.text
