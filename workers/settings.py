"""arq WorkerSettings for `arq workers.settings.WorkerSettings` and `leadgram worker`.

Engineers append their job functions to FUNCTIONS and extra startup/shutdown callables (e.g. a Telegram
bot for progress and alert messages) to STARTUP / SHUTDOWN; each receives the worker ctx.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from arq.connections import RedisSettings
from arq.constants import default_queue_name

from core.clients.gemini import make_scorer
from core.config import Settings, get_settings
from core.ratelimit import RateLimiter
from workers import alerting
from workers.jobs.scoring import FUNCTIONS as SCORING_FUNCTIONS

Hook = Callable[[dict[str, Any]], Awaitable[None]]

FUNCTIONS: list[Any] = [*SCORING_FUNCTIONS, *alerting.FUNCTIONS]
STARTUP: list[Hook] = []
SHUTDOWN: list[Hook] = []


def limiter_for(redis: Any, settings: Settings) -> RateLimiter:
    """The Gemini limiter: one Redis key per queue namespace, shared by all workers on it."""
    name = getattr(redis, "default_queue_name", default_queue_name)
    return RateLimiter(redis, f"{name}:ratelimit:gemini", settings.gemini_rpm)


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


def _redis_settings() -> RedisSettings:
    url = get_settings().redis_url
    return RedisSettings.from_dsn(url) if url else RedisSettings()


class WorkerSettings:
    functions = FUNCTIONS
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 20
    redis_settings = _redis_settings()
