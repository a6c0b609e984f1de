"""The reply-window push on both databases, through the Telegram stand-in, on an injected clock: one push when a
hot or unsure lead's unanswered message has Instagram's 24 h window closing within N hours; once per lead
message (two scans at once included); never in quiet hours; off, cold, closed, answered or blocked: none."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import AlertOpen, ContactCb
from bot.client import make_bot
from bot.notifier import TelegramNotifier
from core.config import load_settings
from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, User
from core.notifier import Notifier
from core.queue import create_queue
from core.services import reply_window
from core.services.sendrate import SendPacer
from standins.telegram import TelegramStandin
from standins.telegram.errors import ApiError
from workers.scheduler import slot_of, window_tick

CHAT = 5101
LEAD_AT = datetime(2031, 6, 1, 9, 0, tzinfo=UTC)  # the lead's message; the window closes 24 h later
H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], redis_url: str, unique: str
                ) -> AsyncIterator[dict[str, Any]]:
    async with TelegramStandin() as tg:
        tg.user(CHAT)
        pool = await create_queue(redis_url, unique)
        pacer = SendPacer(pool, prefix=unique)
        bot = make_bot(load_settings(telegram_api_base=tg.base_url), tg.token, pacer)
        yield {"sessions": sessions, "notifier": TelegramNotifier(bot, pacer), "tg": tg, "redis": pool}
        await bot.session.close()
        keys = [k async for k in pool.scan_iter(match=f"*{unique}*")]
        if keys:
            await pool.delete(*keys)
        await pool.aclose()


async def _lead(world: dict[str, Any], lead_at: datetime = LEAD_AT, *, user: dict[str, Any] | None = None,
                **fields: Any) -> tuple[int, int]:
    """A creator (no quiet hours unless given) and one unanswered hot lead who wrote at `lead_at`."""
    async with transaction(world["sessions"]) as s:
        creator = await repo.ensure_user(s, telegram_id=CHAT, chat_id=CHAT)
        creator.ig_source, creator.quiet_start_hour, creator.quiet_end_hour = "demo", 0, 0
        for key, value in (user or {}).items():
            setattr(creator, key, value)
        values: dict[str, Any] = {"name": "Mia <b>", "username": "mia.fit", "sentiment": "hot", "lead_score": 88,
                                  "last_message": "how much is it?", "last_message_at": lead_at,
                                  "last_message_from_creator": False, "last_lead_message_at": lead_at}
        values.update(fields)
        contact = Contact(user_id=creator.id, instagram_id=f"ig{values['username']}", tags=[], **values)
        s.add(contact)
        await s.flush()
        return creator.id, contact.id


async def _scan(world: dict[str, Any], at: datetime) -> reply_window.ScanResult:
    notifier: Notifier = world["notifier"]

    async def get() -> Notifier:
        return notifier

    return await reply_window.scan(world["sessions"], get, at)


def _pushes(world: dict[str, Any]) -> list[Any]:
    return list(world["tg"].user(CHAT).chat)


async def _contact(world: dict[str, Any], contact_id: int) -> Contact:
    async with world["sessions"]() as s:
        return (await s.execute(select(Contact).where(Contact.id == contact_id))).scalar_one()


async def test_boundaries_once_per_lead_message_and_again_for_a_new_one(world: dict[str, Any]) -> None:
    _, cid = await _lead(world)
    assert (await _scan(world, LEAD_AT + 19 * H + 59 * M)).pushed == []  # 4 h 01 min left: not yet
    assert (await _scan(world, LEAD_AT + 20 * H + 1 * M)).pushed == [cid]  # 3 h 59 min left
    assert (await _scan(world, LEAD_AT + 20 * H + 2 * M)).pushed == []  # a re-scan: still one
    assert (await _scan(world, LEAD_AT + 23 * H + 59 * M)).pushed == []
    [push] = _pushes(world)
    assert "3 h 59 min" in push.text and "Mia <b>" in push.text and "how much is it?" in push.text
    data = [b["callback_data"] for b in push.button_list() if "callback_data" in b]
    actions = [ContactCb.unpack(d).a for d in data if d.startswith("c:")]
    opens = [AlertOpen.unpack(d).what for d in data if d.startswith(AlertOpen.__prefix__)]
    assert actions == ["reply", "aidraft"] and opens == ["card", "chat"]
    assert all(ContactCb.unpack(d).id == cid for d in data if d.startswith("c:"))
    assert [b["url"] for b in push.button_list() if "url" in b] == ["https://ig.me/m/mia.fit"]
    assert (await _contact(world, cid)).window_pushed_for == LEAD_AT
    # The lead writes again the next morning: a new window, pushed once more when it closes within 4 h.
    later = LEAD_AT + 22 * H
    async with transaction(world["sessions"]) as s:
        contact = await s.get(Contact, cid)
        assert contact is not None
        contact.last_lead_message_at = contact.last_message_at = later
    assert (await _scan(world, later + 19 * H + 59 * M)).pushed == []
    assert (await _scan(world, later + 20 * H + 1 * M)).pushed == [cid]
    assert len(_pushes(world)) == 2 and world["tg"].errors == []


async def test_answered_closed_cold_off_blocked_get_nothing(world: dict[str, Any]) -> None:
    at = LEAD_AT + 21 * H
    cases = {
        "answered": {"last_message_from_creator": True},
        "cold": {"sentiment": "cold", "lead_score": 20},
        "won": {"stage": "won"},
        "spam": {"shelf": "spam"},
        "unscored": {"sentiment": None, "lead_score": None},
        "unavailable": {"reply_unavailable_at": LEAD_AT + H},
    }
    for username, fields in cases.items():
        await _lead(world, username=username, **fields)
    assert (await _scan(world, at)).pushed == []
    _, unsure = await _lead(world, username="unsure", sentiment="unsure", lead_score=55)
    _, below = await _lead(world, username="below", sentiment="hot", lead_score=60)  # AI hot under 80: unsure
    assert sorted((await _scan(world, at)).pushed) == sorted([unsure, below])
    # Off in settings, or the bot blocked: nothing, and nothing claimed (on again later, it still comes).
    _, fresh = await _lead(world, username="fresh", user={"window_push_hours": 0})
    assert (await _scan(world, at)).pushed == []
    await _set_user(world, window_push_hours=4, bot_blocked_at=at)
    assert (await _scan(world, at)).pushed == []
    assert (await _contact(world, fresh)).window_pushed_for is None
    await _set_user(world, bot_blocked_at=None)
    assert (await _scan(world, at)).pushed == [fresh]


async def _set_user(world: dict[str, Any], **fields: Any) -> None:
    async with transaction(world["sessions"]) as s:
        creator = await repo.ensure_user(s, telegram_id=CHAT, chat_id=CHAT)
        for key, value in fields.items():
            setattr(creator, key, value)


async def test_the_setting_sets_how_early(world: dict[str, Any]) -> None:
    _, cid = await _lead(world, user={"window_push_hours": 8})
    assert (await _scan(world, LEAD_AT + 15 * H + 59 * M)).pushed == []
    assert (await _scan(world, LEAD_AT + 16 * H + 1 * M)).pushed == [cid]
    assert "7 h 59 min" in _pushes(world)[0].text


async def test_quiet_hours_never_pushed_into(world: dict[str, Any]) -> None:
    # Berlin (UTC+2 in June), quiet 22:00-08:00 local = 20:00-06:00 UTC.
    quiet = {"timezone": "Europe/Berlin", "quiet_start_hour": 22, "quiet_end_hour": 8}
    # Due from 04:00 UTC (06:00 local, quiet), open until 08:00 UTC: the push comes at quiet end, 2 h left.
    lead_at = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)
    _, cid = await _lead(world, lead_at, user=quiet)
    next_day = lead_at + 24 * H
    assert (await _scan(world, next_day - 4 * H + M)).quiet != []
    assert (await _scan(world, next_day - 2 * H - M)).pushed == []  # 07:59 local
    assert (await _scan(world, next_day - 2 * H)).pushed == [cid]  # 08:00 local: quiet hours over
    assert "2 h 0 min" in _pushes(world)[0].text


async def test_a_slot_quiet_hours_would_swallow_comes_at_their_start(world: dict[str, Any]) -> None:
    quiet = {"timezone": "Europe/Berlin", "quiet_start_hour": 22, "quiet_end_hour": 8}
    # Window closes 03:00 UTC (05:00 local): the whole 4 h slot is inside quiet hours (20:00-06:00 UTC).
    lead_at = datetime(2031, 6, 1, 3, 0, tzinfo=UTC)
    _, cid = await _lead(world, lead_at, user=quiet)
    assert (await _scan(world, lead_at + 16 * H + 29 * M)).pushed == []  # 21:29 local: not yet
    assert (await _scan(world, lead_at + 16 * H + 45 * M)).pushed == [cid]  # 21:45 local: before they begin
    assert "7 h 15 min" in _pushes(world)[0].text
    for at in (lead_at + 16 * H + 50 * M, lead_at + 20 * H + M, lead_at + 27 * H):
        assert (await _scan(world, at)).pushed == []  # once, never in quiet hours, never late
    assert len(_pushes(world)) == 1


async def test_a_slot_swallowed_without_a_scan_before_quiet_hours_is_never_pushed_late(
        world: dict[str, Any]) -> None:
    quiet = {"timezone": "Europe/Berlin", "quiet_start_hour": 22, "quiet_end_hour": 8}
    lead_at = datetime(2031, 6, 1, 3, 0, tzinfo=UTC)  # as above, but no scan ran before quiet hours (down)
    _, cid = await _lead(world, lead_at, user=quiet)
    for at in (lead_at + 20 * H + M, lead_at + 23 * H, lead_at + 27 * H, lead_at + 30 * H):
        assert (await _scan(world, at)).pushed == []  # at their end the window is closed
    assert _pushes(world) == [] and (await _contact(world, cid)).window_pushed_for is None


async def test_two_scans_at_once_push_once(world: dict[str, Any], db_url: str) -> None:
    from core.db.engine import make_engine, make_sessionmaker

    ids = [(await _lead(world, username=f"lead{i}"))[1] for i in range(5)]
    other = make_engine(db_url)  # the second scheduler's worker: its own engine and connections
    try:
        second = {**world, "sessions": make_sessionmaker(other)}
        at = LEAD_AT + 21 * H
        a, b = await asyncio.gather(_scan(world, at), _scan(second, at))
    finally:
        await other.dispose()
    assert sorted(a.pushed + b.pushed) == sorted(ids)
    assert len(_pushes(world)) == 5


async def test_two_schedulers_enqueue_one_scan_per_slot(world: dict[str, Any], redis_url: str, unique: str) -> None:
    other = await create_queue(redis_url, unique)
    try:
        at = LEAD_AT + 21 * H
        assert await window_tick(world["redis"], at) is True
        assert await window_tick(other, at + timedelta(seconds=3)) is False  # the replica, same slot
    finally:
        await other.aclose()
    queued = sorted(m.decode() for m in await world["redis"].zrange(unique, 0, -1))
    assert queued == [f"{unique}:window:{slot_of(at, 300)}"]


async def test_blocked_bot_keeps_the_claim_and_marks_the_creator(world: dict[str, Any]) -> None:
    uid, cid = await _lead(world)
    world["tg"].user(CHAT).block()
    at = LEAD_AT + 21 * H
    assert (await _scan(world, at)).pushed == []
    async with world["sessions"]() as s:
        assert (await s.get(User, uid)).bot_blocked_at is not None  # type: ignore[union-attr]
    assert (await _contact(world, cid)).window_pushed_for == LEAD_AT  # not pushed again when they return


async def test_a_failed_push_is_released_for_the_next_scan(world: dict[str, Any]) -> None:
    _, cid = await _lead(world)
    world["tg"].fail_next("sendMessage", error=ApiError(500, "Internal Server Error"))
    at = LEAD_AT + 21 * H
    result = await _scan(world, at)
    assert result.pushed == [] and result.failed == [cid]
    assert (await _contact(world, cid)).window_pushed_for is None
    assert (await _scan(world, at + 5 * M)).pushed == [cid]


async def test_the_setting_takes_only_the_offered_values(sessions: async_sessionmaker[AsyncSession]) -> None:
    from core.rules import WINDOW_PUSH_HOURS
    from core.services import settings as settings_service
    from core.services.settings import Saved, SettingRefused

    async with sessions() as s:
        user = await repo.ensure_user(s, telegram_id=CHAT, chat_id=CHAT)
        await s.commit()
        assert user.window_push_hours == 4
        for hours in (*WINDOW_PUSH_HOURS, 0):
            assert isinstance(await settings_service.set_window_push(s, user, hours), Saved)
        for forged in (3, -4, 24, 10**9):
            assert await settings_service.set_window_push(s, user, forged) is SettingRefused.NOT_OFFERED
    async with sessions() as s:
        assert (await s.execute(select(User.window_push_hours))).scalar_one() == 0  # the last offered value


async def test_leads_that_cannot_be_pushed_never_fill_the_batch(world: dict[str, Any]) -> None:
    # More unreachable leads (Instagram said they cannot receive messages) than one scan's batch, closing first:
    # the query leaves them out, so the one due lead behind them is still pushed.
    for i in range(reply_window.BATCH + 5):
        await _lead(world, LEAD_AT - i * M, username=f"gone{i}", reply_unavailable_at=LEAD_AT)
    _, due = await _lead(world, LEAD_AT + 30 * M, username="due")
    assert (await _scan(world, LEAD_AT + 21 * H)).pushed == [due]
