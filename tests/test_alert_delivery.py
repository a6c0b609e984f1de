"""Alert delivery through the Telegram stand-in: one push per alert, a digest for many, exactly once,
held by quiet hours, Telegram's RetryAfter waited out (on an injected clock), HTML escaped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import AlertOpen
from bot.client import make_bot
from bot.notifier import TelegramNotifier
from bot.rendering import MAX_TEXT
from core.config import load_settings
from core.db import repo
from core.db.engine import transaction
from core.db.models import Alert, Contact, User
from core.queue import create_queue
from core.services import alerts
from core.services.sendrate import SendPacer
from standins.telegram import TelegramStandin
from workers.jobs.alerts import deliver_alerts
from workers.scheduler import tick

CHAT = 5001
NOON = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)


class FakeTime:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def ctx(sessions: async_sessionmaker[AsyncSession], redis_url: str, unique: str
              ) -> AsyncIterator[dict[str, Any]]:
    async with TelegramStandin() as tg:
        tg.user(CHAT)
        pool = await create_queue(redis_url, unique)
        clock = FakeTime(NOON)
        pacer = SendPacer(pool, prefix=unique, clock=clock, sleep=clock.sleep)
        bot = make_bot(load_settings(telegram_api_base=tg.base_url), tg.token, pacer)
        yield {"sessions": sessions, "redis": pool, "notifier": TelegramNotifier(bot, pacer), "clock": clock, "tg": tg}
        await bot.session.close()
        keys = [k async for k in pool.scan_iter(match=f"*{unique}*")]
        if keys:
            await pool.delete(*keys)
        await pool.aclose()


async def _hot_leads(ctx: dict[str, Any], n: int, **user_fields: Any) -> int:
    sessions = ctx["sessions"]
    async with transaction(sessions) as s:
        user = await repo.ensure_user(s, telegram_id=CHAT, chat_id=CHAT)
        user.quiet_start_hour, user.quiet_end_hour = 0, 0
        for key, value in user_fields.items():
            setattr(user, key, value)
        await s.flush()
        for i in range(n):
            contact = Contact(user_id=user.id, instagram_id=f"ig{i}", name=f"<b>Lead {i}</b> & co",
                              username=f"lead_{i}", tags=[], sentiment="hot", lead_score=80 + i % 20,
                              score_reason="Asked for the price twice", next_action="Send the price list",
                              last_message="how much is it? <script>", last_message_at=NOON)
            s.add(contact)
            await s.flush()
            await alerts.on_scored(s, user, contact, None)
        return user.id


async def _statuses(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as s:
        return sorted((await s.execute(select(Alert.status))).scalars())


async def test_one_hot_lead_one_push_with_buttons(ctx: dict[str, Any]) -> None:
    uid = await _hot_leads(ctx, 1)
    assert (await deliver_alerts(ctx, uid))["sent"] == 1
    assert await deliver_alerts(ctx, uid) == {"sent": 0}  # a second run (replica, retry) sends nothing
    tg: TelegramStandin = ctx["tg"]
    [msg] = tg.user(CHAT).chat
    assert "<b>Lead 0</b> & co" in msg.text and "80/100" in msg.text  # escaped: shown literally
    assert "Asked for the price twice" in msg.text and "Send the price list" in msg.text
    assert "how much is it? <script>" in msg.text
    card, chat = (AlertOpen.unpack(b["callback_data"]) for b in msg.button_list() if "callback_data" in b)
    assert (card.what, chat.what) == ("card", "chat") and card.contact_id == chat.contact_id > 0
    links = [b["url"] for b in msg.button_list() if "url" in b]  # the thread in Instagram, for media and voice
    assert links == ["https://ig.me/m/lead_0"]
    assert tg.errors == []
    assert await _statuses(ctx["sessions"]) == ["sent"]


async def test_many_at_once_become_one_digest(ctx: dict[str, Any]) -> None:
    uid = await _hot_leads(ctx, 15)
    assert (await deliver_alerts(ctx, uid))["sent"] == 15
    tg: TelegramStandin = ctx["tg"]
    [msg] = tg.user(CHAT).chat
    assert msg.text.startswith("🔥 15 hot leads") and len(msg.text) <= MAX_TEXT
    named = [i for i in range(15) if f"<b>Lead {i}</b> & co" in msg.text]
    assert named == [12, 13, 14] and "+ 12 more hot leads" in msg.text and tg.errors == []  # grouped: the best three
    opens = [AlertOpen.unpack(b["callback_data"]) for b in msg.button_list()]
    assert [o.what for o in opens] == ["card"] * 3 + ["hot"]  # three cards, then all hot leads
    assert await _statuses(ctx["sessions"]) == ["sent"] * 15


async def test_quiet_hours_hold_then_release_in_the_morning(ctx: dict[str, Any]) -> None:
    uid = await _hot_leads(ctx, 2, timezone="Asia/Tokyo", quiet_start_hour=22, quiet_end_hour=8)
    ctx["clock"].now = datetime(2031, 6, 1, 15, 0, tzinfo=UTC)  # midnight in Tokyo
    held = await deliver_alerts(ctx, uid)
    morning = datetime(2031, 6, 1, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo
    assert held == {"held_until": morning.isoformat()}
    assert ctx["tg"].user(CHAT).chat == [] and await _statuses(ctx["sessions"]) == ["pending", "pending"]
    queued = [m.decode() for m in await ctx["redis"].zrange(ctx["redis"].default_queue_name, 0, -1)]
    assert queued == [f"{ctx['redis'].default_queue_name}:alerts:{uid}:at:{int(morning.timestamp())}"]
    ctx["clock"].now = morning
    assert (await deliver_alerts(ctx, uid))["sent"] == 2
    assert len(ctx["tg"].user(CHAT).chat) == 1


async def test_retry_after_is_waited_out_not_hammered(ctx: dict[str, Any]) -> None:
    uid = await _hot_leads(ctx, 1)
    tg: TelegramStandin = ctx["tg"]
    tg.fail_next("sendMessage", retry_after=3)
    assert (await deliver_alerts(ctx, uid))["sent"] == 1
    assert ctx["clock"].slept == [3.0] and len(tg.user(CHAT).chat) == 1


async def test_blocked_bot_drops_instead_of_retrying_forever(ctx: dict[str, Any]) -> None:
    uid = await _hot_leads(ctx, 1)
    async with transaction(ctx["sessions"]) as s:
        user = await s.get(User, uid)
        assert user is not None
        user.chat_id = 999_999  # a chat the bot cannot write to
    assert await deliver_alerts(ctx, uid) == {"dropped": 1}
    ctx["tg"].pop_errors()
    assert await _statuses(ctx["sessions"]) == ["dropped"]


async def test_a_creator_removed_from_the_allowlist_gets_no_push(ctx: dict[str, Any]) -> None:
    uid = await _hot_leads(ctx, 2)
    ctx["settings"] = load_settings(allowed_telegram_ids=frozenset({CHAT + 1}))
    assert await deliver_alerts(ctx, uid) == {"dropped": 2, "why": "not_allowed"}
    assert ctx["tg"].user(CHAT).chat == [] and await _statuses(ctx["sessions"]) == ["dropped", "dropped"]


async def test_a_403_means_blocked_no_more_syncs_until_they_come_back(ctx: dict[str, Any]) -> None:
    uid = await _hot_leads(ctx, 1, ig_source="demo")
    ctx["tg"].user(CHAT).block(True)  # Telegram now answers 403 to every send to this chat
    assert await deliver_alerts(ctx, uid) == {"dropped": 1}
    async with ctx["sessions"]() as s:
        user = await s.get(User, uid)
        assert user is not None and user.bot_blocked_at is not None
    ticked = await tick(ctx["redis"], ctx["sessions"], NOON, interval_minutes=10)
    assert ticked.skipped == {uid: "bot_blocked"} and ticked.enqueued == []
