"""The scheduler: every SYNC_INTERVAL_MINUTES, enqueue one sync job per connected creator. It only enqueues.

Job ids are deterministic per creator and time slot (`sync:{user_id}:{slot}`, slot = floor(epoch / interval)),
and arq refuses a second job with an id it already holds (queued, running, or finished and kept), so any
number of scheduler replicas on one Redis produce exactly one sync per creator per slot.
The tick is a plain function of `now`: tests drive it with an injected clock instead of sleeping.
Every REMINDER_TICK_S (core/jobs.py) `remind_tick` enqueues a delivery job for each creator with a reminder due
(one id per creator and slot; the job's claim keeps a reminder from being pushed twice).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import jobs
from core.db.models import User
from core.services import alerts, reminders
from core.services.tokens import sync_blocked
from core.timeutil import Clock, utcnow

log = logging.getLogger(__name__)

# Fire a moment after each slot boundary so replicas with slightly different clocks agree on the slot.
BOUNDARY_GRACE_S = 0.5
# The reply-window scan: a push comes at most this late after a lead becomes due (or after quiet hours end).
WINDOW_SCAN_EVERY_S = 300


@dataclass
class TickResult:
    slot: int
    enqueued: list[int] = field(default_factory=list)  # creators whose sync this tick enqueued
    skipped: dict[int, str] = field(default_factory=dict)  # creator -> why not
    alerts_kicked: list[int] = field(default_factory=list)


def slot_of(now: datetime, interval_s: float) -> int:
    return math.floor(now.timestamp() / interval_s)


async def _creators(sessions: async_sessionmaker[AsyncSession]) -> list[User]:
    async with sessions() as session:
        stmt = select(User).where(User.ig_source.is_not(None)).order_by(User.id)
        return list((await session.execute(stmt)).scalars())


async def tick(
    redis: Any, sessions: async_sessionmaker[AsyncSession], now: datetime, interval_minutes: float,
    allowlist: frozenset[int] = frozenset(),
) -> TickResult:
    """One scheduling pass at `now`: a sync job per connected creator (allowed, not blocking the bot), and a
    kick for held alerts."""
    interval_s = interval_minutes * 60
    result = TickResult(slot=slot_of(now, interval_s))
    for user in await _creators(sessions):
        reason = sync_blocked(user, now, allowlist)
        if reason is not None:
            result.skipped[user.id] = reason
            continue
        if await jobs.enqueue_scheduled_sync(redis, user.id, result.slot, interval_s):
            result.enqueued.append(user.id)
    # Alerts held by quiet hours (or orphaned by a crashed sender) are looked at again every tick.
    for user_id in await alerts.users_with_pending(sessions):
        if await jobs.enqueue_alerts(redis, user_id, now):
            result.alerts_kicked.append(user_id)
    return result


async def window_tick(redis: Any, now: datetime, interval_s: float = WINDOW_SCAN_EVERY_S) -> bool:
    """Enqueue the reply-window scan of the slot containing `now` (one per slot across replicas)."""
    return await jobs.enqueue_window_scan(redis, slot_of(now, interval_s), interval_s)


async def remind_tick(redis: Any, sessions: async_sessionmaker[AsyncSession], now: datetime,
                      allowlist: frozenset[int] = frozenset()) -> list[int]:
    """One reminders pass at `now`: a delivery job for each creator with a reminder due (core.jobs ids it per
    creator and REMINDER_TICK_S slot, so several schedulers enqueue it once). Returns the creators enqueued."""
    return [user_id for user_id in await reminders.due_users(sessions, now, allowlist)
            if await jobs.enqueue_reminders(redis, user_id, now)]


def start_scheduler(
    redis: Any, sessions: async_sessionmaker[AsyncSession], interval_minutes: float, clock: Clock = utcnow,
    allowlist: frozenset[int] = frozenset(),
) -> AsyncIOScheduler:
    """Start ticking on the running event loop (call from `leadgram run` or `leadgram scheduler`)."""
    interval_s = interval_minutes * 60

    async def _tick() -> None:
        try:
            res = await tick(redis, sessions, clock(), interval_minutes, allowlist)
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
    _add_window_scan(scheduler, redis, clock)
    _add_reminders(scheduler, redis, sessions, clock, allowlist)
    scheduler.start()
    return scheduler


def _add_window_scan(scheduler: AsyncIOScheduler, redis: Any, clock: Clock) -> None:
    """The reply-window scan every WINDOW_SCAN_EVERY_S (and once at start); it only enqueues the job."""

    async def _window() -> None:
        try:
            await window_tick(redis, clock())
        except Exception:  # one failed tick must not stop the schedule
            log.exception("reply-window tick failed")

    first = (slot_of(utcnow(), WINDOW_SCAN_EVERY_S) + 1) * WINDOW_SCAN_EVERY_S + BOUNDARY_GRACE_S
    trigger = IntervalTrigger(seconds=WINDOW_SCAN_EVERY_S, start_date=datetime.fromtimestamp(first, UTC), timezone=UTC)
    scheduler.add_job(_window, trigger, id="leadgram-window-tick", max_instances=1, coalesce=True,
                      misfire_grace_time=WINDOW_SCAN_EVERY_S)
    scheduler.add_job(_window, id="leadgram-window-now", next_run_time=utcnow(), misfire_grace_time=300)


def _add_reminders(scheduler: AsyncIOScheduler, redis: Any, sessions: async_sessionmaker[AsyncSession],
                   clock: Clock, allowlist: frozenset[int]) -> None:
    """The reminders pass every REMINDER_TICK_S, the first right away; it only enqueues delivery jobs."""

    async def _remind() -> None:
        try:
            await remind_tick(redis, sessions, clock(), allowlist)
        except Exception:  # one failed pass must not stop the schedule
            log.exception("reminders tick failed")

    scheduler.add_job(_remind, IntervalTrigger(seconds=jobs.REMINDER_TICK_S, timezone=UTC), id="leadgram-reminders",
                      next_run_time=utcnow(), max_instances=1, coalesce=True, misfire_grace_time=jobs.REMINDER_TICK_S)
