"""Enqueue helpers for alert delivery, importable by anyone (scheduler, scoring jobs) without aiogram."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from core.timeutil import utcnow
from workers.jobids import namespaced

ALERT_WINDOW_S = 2.0  # bursts within this window become one digest


def alert_job_id(user_id: int, now: datetime, window: float = ALERT_WINDOW_S) -> tuple[str, datetime]:
    """Job id and run time for the slot containing `now`: every enqueue in the slot maps to one job."""
    slot = math.floor(now.timestamp() / window)
    return f"alerts:{user_id}:{slot}", datetime.fromtimestamp((slot + 1) * window, UTC)


async def enqueue_alerts(redis: Any, user_id: int, now: datetime | None = None,
                         window: float = ALERT_WINDOW_S) -> bool:
    """Call after writing alert rows (scoring, sync). True when this call created the job."""
    job_id, run_at = alert_job_id(user_id, now or utcnow(), window)
    job = await redis.enqueue_job("deliver_alerts", user_id, _job_id=namespaced(redis, job_id),
                                  _defer_until=_future(run_at))
    return job is not None


async def enqueue_alerts_at(redis: Any, user_id: int, at: datetime) -> bool:
    """A look-again at a fixed time (end of quiet hours, end of a scoring hold): one job per creator and time."""
    job_id = f"alerts:{user_id}:at:{int(at.timestamp())}"
    job = await redis.enqueue_job("deliver_alerts", user_id, _job_id=namespaced(redis, job_id),
                                  _defer_until=_future(at))
    return job is not None


def _future(at: datetime) -> datetime | None:
    # arq schedules on Redis wall time; a time already past (an injected clock, a late worker) means "now".
    return at if at > datetime.now(UTC) else None


async def alerts_after_scoring(ctx: dict[str, Any], user_id: int) -> bool:
    """For jobs that just wrote alert rows (scoring): schedule delivery, coalescing a burst into a digest.
    `ctx["alert_window_s"]` overrides the window (benches, tests)."""
    clock = ctx.get("clock", utcnow)
    return await enqueue_alerts(ctx["redis"], user_id, clock(), ctx.get("alert_window_s", ALERT_WINDOW_S))
