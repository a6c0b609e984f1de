"""What the arq worker needs for the scheduler's jobs: the functions to register and the ctx they read.

WorkerSettings (workers/settings.py) adds `FUNCTIONS` to its list and calls `startup(ctx, settings)` /
`shutdown(ctx)` from its own on_startup / on_shutdown. ctx keys used: "sessions" (async_sessionmaker),
"settings", "redis" (arq sets it), "http" (shared httpx client), and lazily "bot", "send_pacer", "cipher".
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import httpx
from arq.worker import func

from core.config import Settings
from core.db.engine import make_engine, make_sessionmaker
from workers.jobs.alerts import deliver_alerts
from workers.jobs.sync import rescore_contacts, sync_creator

# A sync reads one creator's inbox (bounded Graph retries inside); alerts wait for Telegram pacing.
FUNCTIONS = [
    func(sync_creator, name="sync_creator", timeout=600, max_tries=3),
    func(deliver_alerts, name="deliver_alerts", timeout=300, max_tries=5),
    func(rescore_contacts, name="rescore_contacts", timeout=120, max_tries=3),
]


async def startup(ctx: dict[str, Any], settings: Settings) -> None:
    ctx["settings"] = settings
    # Warm aiogram up off the event loop: the worker takes jobs at once, the first alert finds it loaded.
    asyncio.get_running_loop().run_in_executor(None, importlib.import_module, "bot.notify")
    if "sessions" not in ctx:
        ctx["engine"] = make_engine(settings.database_url)
        ctx["sessions"] = make_sessionmaker(ctx["engine"])
    ctx.setdefault("http", httpx.AsyncClient(timeout=httpx.Timeout(30.0)))


async def shutdown(ctx: dict[str, Any]) -> None:
    if "http" in ctx:
        await ctx["http"].aclose()
    if ctx.get("owns_bot") and "bot" in ctx:
        await ctx["bot"].session.close()
    if "engine" in ctx:
        await ctx["engine"].dispose()
