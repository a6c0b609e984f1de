"""The scheduler: every SYNC_INTERVAL_MINUTES, enqueue one sync job per connected creator. It only enqueues.

Job ids are deterministic per creator and time slot (`sync:{user_id}:{slot}`, slot = floor(epoch / interval)),
and arq refuses a second job with an id it already holds (queued, running, or finished and kept), so any
number of scheduler replicas on one Redis produce exactly one sync per creator per slot.
The tick is a plain function of `now`: tests drive it with an injected clock instead of sleeping.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import User
from core.services import alerts
from core.services.tokens import sync_blocked
from core.timeutil import Clock, utcnow
from workers.enqueue import enqueue_alerts
from workers.jobids import namespaced

log = logging.getLogger(__name__)

# Fire a moment after each slot boundary so replicas with slightly different clocks agree on the slot.
BOUNDARY_GRACE_S = 0.5


@dataclass
class TickResult:
    slot: int
    enqueued: list[int] = field(default_factory=list)  # creators whose sync this tick enqueued
    skipped: dict[int, str] = field(default_factory=dict)  # creator -> why not
    alerts_kicked: list[int] = field(default_factory=list)


def slot_of(now: datetime, interval_s: float) -> int:
    return math.floor(now.timestamp() / interval_s)


def sync_job_id(user_id: int, slot: int) -> str:
    return f"sync:{user_id}:{slot}"


async def _creators(sessions: async_sessionmaker[AsyncSession]) -> list[User]:
    async with sessions() as session:
        stmt = select(User).where(User.ig_source.is_not(None)).order_by(User.id)
        return list((await session.execute(stmt)).scalars())


async def tick(
    redis: Any, sessions: async_sessionmaker[AsyncSession], now: datetime, interval_minutes: float
) -> TickResult:
    """One scheduling pass at `now`: a sync job per connected creator, and a kick for held alerts."""
    interval_s = interval_minutes * 60
    result = TickResult(slot=slot_of(now, interval_s))
    for user in await _creators(sessions):
        reason = sync_blocked(user, now)
        if reason is not None:
            result.skipped[user.id] = reason
            continue
        if await _enqueue_sync(redis, user.id, result.slot, interval_s):
            result.enqueued.append(user.id)
    # Alerts held by quiet hours (or orphaned by a crashed sender) are looked at again every tick.
    for user_id in await alerts.users_with_pending(sessions):
        if await enqueue_alerts(redis, user_id, now):
            result.alerts_kicked.append(user_id)
    return result


async def _enqueue_sync(redis: Any, user_id: int, slot: int, interval_s: float) -> bool:
    job_id = namespaced(redis, sync_job_id(user_id, slot))
    # arq dedupes ids only while it keeps the job or its result (keep_result); this marker holds the slot
    # for two intervals whatever the worker settings, so a late replica cannot re-run a finished sync.
    ttl = max(2, math.ceil(2 * interval_s))
    if not await redis.set(f"leadgram:slot:{job_id}", b"1", nx=True, ex=ttl):
        return False
    job = await redis.enqueue_job(
        "sync_creator", user_id, _job_id=job_id,
        # A sync nobody started soon is superseded by a later slot's (with slack for busy workers).
        _expires=timedelta(seconds=max(2 * interval_s, 30)),
    )
    return job is not None


def start_scheduler(
    redis: Any, sessions: async_sessionmaker[AsyncSession], interval_minutes: float, clock: Clock = utcnow,
) -> AsyncIOScheduler:
    """Start ticking on the running event loop (call from `leadgram run` or `leadgram scheduler`)."""
    interval_s = interval_minutes * 60

    async def _tick() -> None:
        try:
            res = await tick(redis, sessions, clock(), interval_minutes)
            log.info("scheduler slot %s: %d sync jobs enqueued, %d skipped", res.slot, len(res.enqueued),
                     len(res.skipped))
        except Exception:  # one failed tick must not stop the schedule
            log.exception("scheduler tick failed")

    # APScheduler runs on the real clock; `clock` only stamps each tick (tests pin it).
    first = (slot_of(utcnow(), interval_s) + 1) * interval_s + BOUNDARY_GRACE_S
    scheduler = AsyncIOScheduler(timezone=UTC)
    trigger = IntervalTrigger(seconds=interval_s, start_date=datetime.fromtimestamp(first, UTC), timezone=UTC)
    scheduler.add_job(_tick, trigger, id="leadgram-sync-tick", max_instances=1, coalesce=True,
                      misfire_grace_time=max(1, int(interval_s)))
    # And once right away, so a fresh start does not wait a whole interval (same slot id: still deduplicated).
    scheduler.add_job(_tick, id="leadgram-sync-now", next_run_time=utcnow(), misfire_grace_time=300)
    scheduler.start()
    return scheduler
