"""⏰ Reminder delivery through the job and the Telegram stand-in: two workers running the job at once push each
reminder once; a creator who blocked the bot is marked, their reminders wait (no retry loop) and come when
they are back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ReminderCb
from bot.client import make_bot
from bot.notifier import TelegramNotifier
from core.config import load_settings
from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, Reminder, User
from core.queue import create_queue
from core.services import account, reminders
from core.services.sendrate import SendPacer
from standins.telegram import TelegramStandin
from workers.jobs.reminders import deliver_reminders

CHAT = 5101
NOON = datetime(2031, 6, 4, 12, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def world(sessions: Sessions, redis_url: str, unique: str) -> AsyncIterator[dict[str, Any]]:
    """Two workers' ctx (each its own Bot and notifier) on one database, Redis and Telegram."""
    async with TelegramStandin() as tg:
        tg.user(CHAT)
        pool = await create_queue(redis_url, unique)
        ctxs, bots = [], []
        for _ in range(2):
            pacer = SendPacer(pool, prefix=unique)
            bot = make_bot(load_settings(telegram_api_base=tg.base_url), tg.token, pacer)
            bots.append(bot)
            ctxs.append({"sessions": sessions, "redis": pool, "clock": lambda: NOON,
                         "notifier": TelegramNotifier(bot, pacer, sessions=sessions)})
        yield {"ctxs": ctxs, "tg": tg, "sessions": sessions}
        for bot in bots:
            await bot.session.close()
        keys = [k async for k in pool.scan_iter(match=f"*{unique}*")]
        if keys:
            await pool.delete(*keys)
        await pool.aclose()


async def _due(sessions: Sessions, n: int) -> tuple[int, list[int]]:
    async with transaction(sessions) as s:
        user = await repo.ensure_user(s, telegram_id=CHAT, chat_id=CHAT)
        user.quiet_start_hour, user.quiet_end_hour = 0, 0
        contact = Contact(user_id=user.id, instagram_id="ig1", name="Lea <b>", username="lea", tags=[])
        s.add(contact)
        await s.flush()
        rows = [Reminder(user_id=user.id, contact_id=contact.id, due_at=NOON - timedelta(minutes=i), status="pending",
                         snoozes=0, created_at=NOON - timedelta(days=1)) for i in range(n)]
        s.add_all(rows)
        await s.flush()
        return user.id, [r.id for r in rows]


def _pushed_ids(tg: TelegramStandin) -> list[int]:
    return [ReminderCb.unpack(b["callback_data"]).id for m in tg.user(CHAT).chat for b in m.button_list()
            if b.get("callback_data", "").startswith("rm:done")]


async def test_two_workers_push_each_reminder_once(world: dict[str, Any]) -> None:
    uid, ids = await _due(world["sessions"], 5)
    at = NOON.isoformat()
    results = await asyncio.gather(*(deliver_reminders(ctx, uid, at) for ctx in world["ctxs"]))
    assert sum(r["sent"] for r in results) == 5
    assert sorted(_pushed_ids(world["tg"])) == sorted(ids)  # each once, whichever worker took it
    assert all("Lea <b>" in m.text for m in world["tg"].user(CHAT).chat)  # the name shown literally
    assert (await deliver_reminders(world["ctxs"][0], uid, at)) == {"sent": 0}  # a retried job: nothing
    assert world["tg"].errors == []


async def test_a_blocked_bot_is_marked_and_its_reminders_wait(world: dict[str, Any]) -> None:
    sessions, tg = world["sessions"], world["tg"]
    uid, ids = await _due(sessions, 2)
    tg.user(CHAT).block()
    assert await deliver_reminders(world["ctxs"][0], uid, NOON.isoformat()) == {"sent": 0, "undeliverable": 2}
    tg.pop_errors()
    async with sessions() as s:
        user = await s.get(User, uid)
        assert user is not None and user.bot_blocked_at is not None
        assert set((await s.execute(select(Reminder.status))).scalars()) == {"pending"}  # kept, not lost
    later = NOON + timedelta(minutes=5)
    assert await reminders.due_users(sessions, later) == []  # no retry loop while blocked
    assert await deliver_reminders(world["ctxs"][1], uid, later.isoformat()) == {"sent": 0, "why": "bot_blocked"}
    tg.user(CHAT).block(False)
    async with transaction(sessions) as s:  # any update from them clears the mark (bot/middlewares.py)
        await account.chat_blocked(s, CHAT, blocked=False)
    assert await reminders.due_users(sessions, later) == [uid]
    assert (await deliver_reminders(world["ctxs"][1], uid, later.isoformat()))["sent"] == 2
    assert sorted(_pushed_ids(tg)) == sorted(ids)


async def test_two_schedulers_enqueue_one_delivery_job_per_slot(sessions: Sessions, redis_url: str,
                                                               unique: str) -> None:
    from core import jobs
    from workers.scheduler import remind_tick, start_scheduler

    uid, _ = await _due(sessions, 3)
    a, b = await create_queue(redis_url, unique), await create_queue(redis_url, unique)
    try:
        assert await remind_tick(a, sessions, NOON) == [uid]
        assert await remind_tick(b, sessions, NOON + timedelta(seconds=1)) == []  # same slot: already queued
        queued = sorted(m.decode() for m in await a.zrange(unique, 0, -1))
        assert queued == [f"{unique}:{jobs.reminder_job_id(uid, NOON)}"]
        scheduler = start_scheduler(a, sessions, interval_minutes=10, clock=lambda: NOON)
        try:  # the reminders pass runs on its own, shorter interval
            found = {job.id: job for job in scheduler.get_jobs()}
            assert found["leadgram-reminders"].trigger.interval.total_seconds() == jobs.REMINDER_TICK_S
        finally:
            scheduler.shutdown(wait=False)
    finally:
        keys = [k async for k in a.scan_iter(match=f"*{unique}*")]
        if keys:
            await a.delete(*keys)
        await a.aclose()
        await b.aclose()


async def test_a_lead_deleted_after_the_claim_is_skipped_not_fatal(world: dict[str, Any]) -> None:
    uid, ids = await _due(world["sessions"], 1)
    item = reminders.ReminderItem(ids[0], uid, 2**31 - 1, NOON, 0)  # a lead that is no longer there
    assert await world["ctxs"][0]["notifier"].reminder(CHAT, item) == 0
    assert world["tg"].user(CHAT).chat == []
