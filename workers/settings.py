"""What an arq worker runs: FUNCTIONS (every job) and the startup / shutdown that fill and clear its ctx.

The process wiring (leadgram/wiring.py: `leadgram worker`, `leadgram run`) adds the Notifier and builds the
Worker; extra startup/shutdown callables go to STARTUP / SHUTDOWN, each receives the worker ctx.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from core import jobs
from core.config import Settings, get_settings
from core.ratelimit import RateLimiter
from core.scoring import make_scorer
from workers import alerting
from workers.jobs.scoring import FUNCTIONS as SCORING_FUNCTIONS

Hook = Callable[[dict[str, Any]], Awaitable[None]]

FUNCTIONS: list[Any] = [*SCORING_FUNCTIONS, *alerting.FUNCTIONS]
STARTUP: list[Hook] = []
SHUTDOWN: list[Hook] = []


def limiter_for(redis: Any, settings: Settings) -> RateLimiter:
    """The Gemini limiter: one Redis key per queue namespace, shared by all workers on it."""
    return RateLimiter(redis, jobs.gemini_limiter_key(redis), settings.gemini_rpm)


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or get_settings()
    await alerting.startup(ctx, settings)  # settings, engine/sessions, http
    ctx.setdefault("scorer", make_scorer(settings))
    if settings.gemini_api_key:  # the offline rules cost nothing: only Gemini calls are paced
        ctx.setdefault("limiter", limiter_for(ctx["redis"], settings))
    for hook in STARTUP:
        await hook(ctx)
    from core.services.scoring import resume_runs

    await resume_runs(ctx["sessions"], ctx["redis"])


async def shutdown(ctx: dict[str, Any]) -> None:
    for hook in SHUTDOWN:
        await hook(ctx)
    await alerting.shutdown(ctx)
