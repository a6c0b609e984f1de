"""Scheduler tick: one sync job per connected creator per slot, even with two schedulers on one Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import repo
from core.db.engine import transaction
from core.queue import create_queue
from workers.scheduler import WINDOW_SCAN_EVERY_S, slot_of, tick

T0 = datetime(2026, 6, 1, 12, 0, 3, tzinfo=UTC)


@pytest.fixture
async def pools(redis_url: str, unique: str) -> AsyncIterator[tuple[ArqRedis, ArqRedis]]:
    """Two schedulers' own connections to the same Redis and queue."""
    a = await create_queue(redis_url, unique)
    b = await create_queue(redis_url, unique)
    yield a, b
    keys = [k async for k in a.scan_iter(match=f"arq:*{unique}*")]
    if keys:
        await a.delete(*keys)
    await a.aclose()
    await b.aclose()


async def _creators(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with transaction(sessions) as s:
        for tg, name, fields in (
            (1, "graph", {"ig_source": "graph", "ig_status": "ok"}),
            (2, "demo", {"ig_source": "demo"}),
            (3, "expired", {"ig_source": "graph", "ig_status": "expired"}),
            (4, "backed_off", {"ig_source": "graph", "ig_backoff_until": now + timedelta(minutes=5)}),
            (5, "not_connected", {}),
        ):
            user = await repo.ensure_user(s, telegram_id=tg, chat_id=tg)
            for key, value in fields.items():
                setattr(user, key, value)
            await s.flush()
            ids[name] = user.id
    return ids


async def _queued(pool: ArqRedis, queue: str) -> list[str]:
    return sorted(m.decode() for m in await pool.zrange(queue, 0, -1))


async def test_two_schedulers_enqueue_each_sync_once(
    sessions: async_sessionmaker[AsyncSession], pools: tuple[ArqRedis, ArqRedis], unique: str
) -> None:
    a, b = pools
    ids = await _creators(sessions, T0)
    first = await tick(a, sessions, T0, interval_minutes=10)
    second = await tick(b, sessions, T0 + timedelta(seconds=2), interval_minutes=10)  # the replica, same slot
    assert sorted(first.enqueued) == sorted([ids["graph"], ids["demo"]]) and second.enqueued == []
    assert first.skipped == {ids["expired"]: "stopped", ids["backed_off"]: "backed_off"}
    slot = slot_of(T0, 600)
    assert await _queued(a, unique) == sorted(f"{unique}:sync:{ids[n]}:{slot}" for n in ("graph", "demo"))
    # Next slot: one more job per creator (the backed-off creator's backoff has passed by now).
    third = await tick(b, sessions, T0 + timedelta(minutes=10), interval_minutes=10)
    assert sorted(third.enqueued) == sorted([ids["graph"], ids["demo"], ids["backed_off"]])
    assert len(await _queued(a, unique)) == 5


async def test_fractional_interval_slots(
    sessions: async_sessionmaker[AsyncSession], pools: tuple[ArqRedis, ArqRedis]
) -> None:
    a, _ = pools
    await _creators(sessions, T0)
    counts = []
    for step in range(6):  # 0.2 min = 12 s slots, ticks every 6 s: a new job every other tick
        res = await tick(a, sessions, T0 + timedelta(seconds=6 * step), interval_minutes=0.2)
        counts.append(len(res.enqueued))
    assert sum(counts) == 2 * len({slot_of(T0 + timedelta(seconds=6 * s), 12) for s in range(6)})


async def test_start_scheduler_ticks_at_once_then_on_the_interval(
    sessions: async_sessionmaker[AsyncSession], pools: tuple[ArqRedis, ArqRedis], unique: str
) -> None:
    import asyncio

    from workers.scheduler import start_scheduler

    a, _ = pools
    ids = await _creators(sessions, T0)
    scheduler = start_scheduler(a, sessions, interval_minutes=10, clock=lambda: T0)
    try:
        for _ in range(750):  # the first ticks run on the loop right away (real loop; up to 15 s on a busy box)
            if len(await _queued(a, unique)) == 3:  # two syncs and the reply-window scan
                break
            await asyncio.sleep(0.02)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert jobs["leadgram-sync-tick"].trigger.interval.total_seconds() == 600
        assert jobs["leadgram-window-tick"].trigger.interval.total_seconds() == WINDOW_SCAN_EVERY_S
    finally:
        scheduler.shutdown(wait=False)
    syncs = sorted(f"{unique}:sync:{ids[n]}:{slot_of(T0, 600)}" for n in ("graph", "demo"))
    assert await _queued(a, unique) == sorted([*syncs, f"{unique}:window:{slot_of(T0, WINDOW_SCAN_EVERY_S)}"])
