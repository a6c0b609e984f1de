"""A worker stops promptly: running jobs are abandoned (idempotent, run again later), never waited for, and the
aiogram warm-up import (tens of seconds on a loaded machine) never holds the exit."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import repo
from core.db.engine import transaction
from core.db.models import ScoringItem
from core.queue import create_queue
from core.services import scoring
from core.services.sync import sync_user
from standins.gemini import GeminiStandin
from standins.ig_data import synthetic
from standins.instagram import InstagramStandin
from tests.test_cli_run import START, clean_env, drop_queue, exit_code, killed_on_failure, spawn
from tests.test_sync import client_for

pytestmark = pytest.mark.timeout(300)

SLOW_IMPORT = textwrap.dedent("""
    import asyncio, importlib.abc, importlib.machinery, sys, time

    class SlowNotify(importlib.abc.MetaPathFinder):  # a loaded machine: executing aiogram's modules takes a minute
        def find_spec(self, name, path=None, target=None):
            if name != "bot.notifier":
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            run = spec.loader.exec_module
            spec.loader.exec_module = lambda module: (time.sleep(60), run(module))
            return spec

    sys.meta_path.insert(0, SlowNotify())
    from core.config import load_settings
    from workers import alerting

    async def main():
        ctx = {"sessions": object(), "warm_module": "bot.notifier"}
        await alerting.startup(ctx, load_settings())
        await asyncio.sleep(0.5)
        await alerting.shutdown(ctx)

    asyncio.run(main())
    print("exited")
""")


async def test_the_aiogram_warm_up_never_holds_the_exit(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SLOW_IMPORT, cwd=Path(__file__).parent.parent, env=clean_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with killed_on_failure(proc):
        out, err = await asyncio.wait_for(proc.communicate(), 55)  # under the import's 60 s
    assert proc.returncode == 0 and b"exited" in out, err.decode()
    assert time.monotonic() - started < 55


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # the worker process shares the database
async def test_sigint_stops_a_worker_with_jobs_in_flight_promptly(
    tmp_path: Path, db_url: str, sessions: async_sessionmaker[AsyncSession], redis_url: str, unique: str,
) -> None:
    async with transaction(sessions) as session:
        user_id = (await repo.ensure_user(session, 5151)).id
    async with InstagramStandin(synthetic(4, 2)) as ig, httpx.AsyncClient() as http:
        await sync_user(sessions, user_id, client_for(ig, http))
    queue = await create_queue(redis_url, unique)  # JSON jobs, as the worker reads them (it refuses pickles)
    async with GeminiStandin(latency_s=600) as gem:  # every model call hangs: the jobs are mid-flight
        env = clean_env(tmp_path, DATABASE_URL=db_url, REDIS_URL=redis_url, GEMINI_API_KEY="test-key",
                        GEMINI_BASE_URL=gem.base_url, GEMINI_TIMEOUT_S="60", GEMINI_RPM="6000",
                        SECRET_KEY="worker-shutdown-test-0123456789abcdef0123456789",
                        LOG_LEVEL="WARNING")
        worker = await spawn(tmp_path, env, "worker", "--queue", unique)
        try:
            async with killed_on_failure(worker):
                await scoring.start_run(sessions, queue, user_id, scope="all")
                deadline = time.monotonic() + START
                while not gem.requests:  # a job is waiting on the model (bulk pacing may hold the others back)
                    if time.monotonic() > deadline or worker.returncode is not None:
                        _, err = await worker.communicate() if worker.returncode is not None else (b"", b"")
                        raise AssertionError(f"the worker never called the model: {err.decode()[-1500:]}")
                    await asyncio.sleep(0.2)
                worker.send_signal(signal.SIGINT)
                code = await exit_code(worker, 30)
                _, err = await worker.communicate()
            assert code == 0 and "Traceback" not in err.decode(), err.decode()
        finally:
            await queue.aclose()
            await drop_queue(redis_url, unique)
    async with sessions() as session:  # nothing was lost: the abandoned items are still pending (run again later)
        states = (await session.execute(select(ScoringItem.status))).scalars().all()
    assert sorted(states) == ["pending"] * 4  # none was lost or half-written
