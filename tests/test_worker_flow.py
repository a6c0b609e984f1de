"""Real arq workers (two, in-process, one Redis queue) running the scheduler's sync jobs and alert delivery:
two schedulers' ticks make one sync; alert kicks from two places make one Telegram message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from arq.worker import Worker, func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.client import make_bot
from bot.notifier import TelegramNotifier
from core.clients.instagram import IgAccount
from core.config import load_settings
from core.crypto import TokenCipher
from core.db import repo
from core.db.engine import transaction
from core.db.models import Alert, Contact, User
from core.jobs import enqueue_alerts
from core.queue import create_queue, make_worker
from core.services import alerts
from core.services.connect import connect_token
from core.services.sendrate import SendPacer
from standins.ig_data import synthetic
from standins.instagram import InstagramStandin
from standins.telegram import TelegramStandin
from workers.jobs.alerts import deliver_alerts
from workers.jobs.sync import sync_creator
from workers.scheduler import tick

CHAT = 9001
SECRET = "worker-flow-secret"


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], redis_url: str, unique: str
                ) -> AsyncIterator[dict[str, Any]]:
    async with InstagramStandin(synthetic(2, 2)) as ig, TelegramStandin() as tg, httpx.AsyncClient() as http:
        tg.user(CHAT)
        pools = [await create_queue(redis_url, unique) for _ in range(2)]
        settings = load_settings(ig_api_base=ig.base_url, secret_key=SECRET, telegram_api_base=tg.base_url)
        pacers = [SendPacer(pool) for pool in pools]
        bots = [make_bot(settings, tg.token, pacer) for pacer in pacers]
        notifiers = [TelegramNotifier(bot, pacer) for bot, pacer in zip(bots, pacers, strict=True)]
        yield {"ig": ig, "tg": tg, "http": http, "pools": pools, "settings": settings, "bots": bots,
               "notifiers": notifiers, "sessions": sessions, "queue": unique}
        for bot in bots:
            await bot.session.close()
        keys = [k async for k in pools[0].scan_iter(match=f"*{unique}*")]
        if keys:
            await pools[0].delete(*keys)
        for pool in pools:
            await pool.aclose()


def _worker(world: dict[str, Any], n: int) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        ctx.update(sessions=world["sessions"], settings=world["settings"], notifier=world["notifiers"][n],
                   http=world["http"])

    pool: ArqRedis = world["pools"][n]
    return make_worker(pool, [func(sync_creator, name="sync_creator"), func(deliver_alerts, name="deliver_alerts")],
                       burst=True, on_startup=startup, poll_delay=0.05, max_jobs=4)


async def _run_workers(world: dict[str, Any]) -> list[Worker]:
    """Both workers until the queue is empty (burst); the pools stay ours to close."""
    workers = [_worker(world, 0), _worker(world, 1)]
    await asyncio.gather(*(w.async_run() for w in workers))
    return workers


async def _creator(world: dict[str, Any]) -> int:
    ig: InstagramStandin = world["ig"]
    async with transaction(world["sessions"]) as s:
        user = await repo.ensure_user(s, telegram_id=CHAT, chat_id=CHAT)
        user.quiet_start_hour = user.quiet_end_hour = 0
        await connect_token(s, user.id, IgAccount(ig.data.account_id, ig.data.username), ig.token,
                            TokenCipher(SECRET))
        return user.id


async def test_two_schedulers_two_workers_one_sync_then_one_alert(world: dict[str, Any]) -> None:
    uid = await _creator(world)
    ig: InstagramStandin = world["ig"]
    ig.expired = True  # the sync ends in "reconnect": a Telegram message we can count, once
    now = datetime.now(UTC)
    results = [await tick(pool, world["sessions"], now, interval_minutes=10) for pool in world["pools"]]
    assert [len(r.enqueued) for r in results] == [1, 0]
    workers = await _run_workers(world)
    assert sum(w.jobs_complete for w in workers) == 1  # one sync ran, on one of the two workers
    assert sum(w.jobs_failed + w.jobs_retried for w in workers) == 0
    tg: TelegramStandin = world["tg"]
    assert len(tg.user(CHAT).chat) == 1  # the reconnect notice, once

    # A hot transition (as scoring writes it) kicked from both "replicas": one alert message.
    async with transaction(world["sessions"]) as s:
        user = await s.get(User, uid)
        assert user is not None
        contact = Contact(user_id=uid, instagram_id="x1", name="Buyer", tags=[], sentiment="hot", lead_score=93,
                          score_reason="Asked the price", next_action="Send prices", last_message="how much?")
        s.add(contact)
        await s.flush()
        assert await alerts.on_scored(s, user, contact, None)
    now = datetime.now(UTC)
    created = [await enqueue_alerts(pool, uid, now, window=0.5) for pool in world["pools"]]
    assert created == [True, False]  # the same creator and slot: one job
    for pool in world["pools"]:
        await pool.enqueue_job("deliver_alerts", uid)  # stray extra runs (a retry, a restart): still one send
    workers = await _run_workers(world)
    assert sum(w.jobs_complete for w in workers) == 3 and sum(w.jobs_failed for w in workers) == 0
    assert len(tg.user(CHAT).chat) == 2 and "Buyer" in tg.user(CHAT).chat[-1].text
    async with world["sessions"]() as s:
        assert list((await s.execute(select(Alert.status))).scalars()) == ["sent"]
    assert tg.errors == []
