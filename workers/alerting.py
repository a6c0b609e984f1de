"""What the arq worker needs for the scheduler's jobs: the functions to register and the ctx they read.

workers/settings.py adds `FUNCTIONS` to its list and calls `startup(ctx, settings)` /
`shutdown(ctx)` from its own on_startup / on_shutdown. ctx keys used: "sessions" (async_sessionmaker),
"settings", "redis" (arq sets it), "http" (shared httpx client), "notifier" or "make_notifier" (wired by
leadgram/wiring.py: workers never import bot/), and lazily "cipher".
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
import threading
from typing import Any

import httpx
from arq.worker import func

from core import jobs
from core.config import Settings
from core.db.engine import make_engine, make_sessionmaker
from workers.jobs.alerts import deliver_alerts
from workers.jobs.reminders import deliver_reminders
from workers.jobs.reply import send_reply
from workers.jobs.reply_window import scan_reply_windows
from workers.jobs.sync import rescore_contacts, sync_creator

# A sync reads one creator's inbox (bounded Graph retries inside); alerts wait for Telegram pacing.
FUNCTIONS = [
    func(sync_creator, name=jobs.SYNC, timeout=600, max_tries=3),
    func(deliver_alerts, name=jobs.ALERTS, timeout=300, max_tries=5),
    func(rescore_contacts, name=jobs.RESCORE, timeout=120, max_tries=3),
    # Sleeps out Instagram's throttle hints between attempts (bounded by reply.MAX_ATTEMPTS).
    func(send_reply, name=jobs.SEND_REPLY, timeout=900, max_tries=3),
    func(scan_reply_windows, name=jobs.WINDOW_SCAN, timeout=300, max_tries=2),
    # Up to reminders.CLAIM_BATCH pushes, paced ≈1/s per chat.
    func(deliver_reminders, name=jobs.REMINDERS, timeout=300, max_tries=3),
]


_warm: asyncio.Future[None] | None = None
_warm_thread: threading.Thread | None = None


def warming() -> bool:
    """True while the warm-up import still runs (the process should then exit without interpreter teardown:
    finalizing under a thread that is building aiogram's models aborts the process)."""
    return _warm_thread is not None and _warm_thread.is_alive()


def warm_up(module: str) -> asyncio.Future[None]:
    """Import `module` (the notifier the wiring chose: aiogram's models) off the event loop, once per process:
    the worker takes jobs at once, and its first push finds it loaded.

    A daemon thread, not the loop's executor: on a loaded machine the import takes tens of seconds, and
    asyncio.run() waits for executor threads at exit, so a Ctrl+C during it would hang the shutdown."""
    global _warm, _warm_thread
    loop = asyncio.get_running_loop()
    if _warm is None or _warm.get_loop() is not loop:
        done: asyncio.Future[None] = loop.create_future()

        def imported(error: BaseException | None) -> None:
            if not done.done():
                done.set_exception(error) if error else done.set_result(None)

        def work() -> None:
            error: BaseException | None = None
            try:
                importlib.import_module(module)
            except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits it
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
                loop.call_soon_threadsafe(imported, error)

        _warm_thread = threading.Thread(target=work, name="aiogram-warm-up", daemon=True)
        _warm_thread.start()
        _warm = done
    return _warm


async def module_ready(module: str) -> None:
    """Await before importing `module` in a job: importing it on the loop while the warm-up thread holds the
    import lock would freeze the loop (and its signal handling) until the import ends."""
    if module in sys.modules and (_warm is None or _warm.done()):
        return
    await asyncio.shield(warm_up(module))


async def startup(ctx: dict[str, Any], settings: Settings) -> None:
    ctx["settings"] = settings
    if ctx.get("warm_module"):
        warm_up(ctx["warm_module"])
    if "sessions" not in ctx:
        ctx["engine"] = make_engine(settings.database_url)
        ctx["sessions"] = make_sessionmaker(ctx["engine"])
    ctx.setdefault("http", httpx.AsyncClient(timeout=httpx.Timeout(30.0)))


async def shutdown(ctx: dict[str, Any]) -> None:
    if "http" in ctx:
        await ctx["http"].aclose()
    if ctx.get("owns_notifier") and "notifier" in ctx:
        await ctx["notifier"].aclose()
    if "engine" in ctx:
        await ctx["engine"].dispose()
