"""The split deployment on this machine: N `leadgram worker` + M `leadgram scheduler` processes on the real
Redis and a private PostgreSQL database, talking to Instagram/Gemini/Telegram stand-ins over HTTP.

Used by tests/test_split_deployment.py and bench/alerts.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from core.db.engine import upgrade

PG_ADMIN = os.environ.get("LEADGRAM_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LEADGRAM_TEST_REDIS", "redis://127.0.0.1:6379/0")
LEADGRAM = str(Path(sys.executable).with_name("leadgram"))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def private_database() -> AsyncIterator[str]:
    """A PostgreSQL database of our own, created from the admin URL, migrated, dropped afterwards."""
    name = f"lg_split_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    try:
        await upgrade(url)
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def command(kind: str) -> list[str]:
    """`leadgram worker` / `leadgram scheduler`; arq on workers.settings if the worker command is missing."""
    from leadgram.cli import COMMANDS

    if kind == "worker" and "worker" not in COMMANDS:
        return [str(Path(sys.executable).with_name("arq")), "leadgram.wiring.WorkerSettings"]
    return [LEADGRAM, kind]


@asynccontextmanager
async def processes(env: dict[str, str], log_dir: Path, workers: int = 2, schedulers: int = 2
                    ) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Start the workers and schedulers; stop them (SIGINT, then SIGKILL) on the way out."""
    full_env = {**os.environ, **env}
    procs: list[asyncio.subprocess.Process] = []
    try:
        for kind, count in (("worker", workers), ("scheduler", schedulers)):
            for n in range(count):
                log = open(log_dir / f"{kind}{n}.log", "wb")  # noqa: ASYNC230, SIM115 - local file, closed below
                procs.append(await asyncio.create_subprocess_exec(
                    *command(kind), env=full_env, stdout=log, stderr=asyncio.subprocess.STDOUT))
                log.close()
        yield procs
    finally:
        await stop(procs)


async def stop(procs: list[asyncio.subprocess.Process]) -> None:
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float, what: str,  # noqa: ASYNC109
                   procs: list[asyncio.subprocess.Process] | None = None, step: float = 0.1) -> float:
    """Poll `check` until true (real processes: no clock to inject); returns the seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not await check():
        dead = [p.returncode for p in procs or [] if p.returncode is not None]
        if dead:
            raise RuntimeError(f"a process exited ({dead}) while waiting for {what}")
        if loop.time() - start > timeout:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(step)
    return loop.time() - start
