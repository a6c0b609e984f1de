"""arq pool factory: real Redis when REDIS_URL is set, an in-process fakeredis server otherwise.

Both paths hand out an `ArqRedis`, so the same jobs run through the same code. With fakeredis the pool and
an in-process arq Worker share one FakeServer (see `run_worker`): jobs work within the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import arq.worker
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import default_queue_name
from arq.worker import Worker
from fakeredis import FakeServer
from fakeredis.aioredis import FakeAsyncRedisMixin

log = logging.getLogger(__name__)
_original_log_redis_info = arq.worker.log_redis_info  # type: ignore[attr-defined]


async def _log_redis_info(redis: Any, log_func: Callable[[str], Any]) -> None:
    # fakeredis has no INFO: the worker's startup banner must not stop it from running.
    try:
        await _original_log_redis_info(redis, log_func)
    except Exception:  # noqa: BLE001 - a banner is not worth a crash
        log_func("redis info unavailable (in-process fakeredis)")


arq.worker.log_redis_info = _log_redis_info  # type: ignore[attr-defined]


class _FakeArqRedis(FakeAsyncRedisMixin, ArqRedis):  # type: ignore[misc]
    """ArqRedis speaking to an in-process fakeredis server."""


_FAKE_SERVER: FakeServer | None = None


def fake_server() -> FakeServer:
    """One fakeredis server per process, shared by every pool and worker that has no REDIS_URL."""
    global _FAKE_SERVER
    if _FAKE_SERVER is None:
        _FAKE_SERVER = FakeServer()
    return _FAKE_SERVER


async def create_queue(redis_url: str | None, queue_name: str = default_queue_name) -> ArqRedis:
    """An arq pool. `queue_name` is also the job-id namespace (workers.jobids.namespaced)."""
    if redis_url:
        return await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=queue_name)
    pool = _FakeArqRedis(server=fake_server())
    pool.default_queue_name = queue_name
    return pool


def is_fake(redis: ArqRedis) -> bool:
    return isinstance(redis, _FakeArqRedis)


def make_worker(
    redis: ArqRedis,
    functions: Sequence[Any],
    *,
    on_startup: Any = None,
    on_shutdown: Any = None,
    ctx: dict[str, Any] | None = None,
    max_jobs: int = 20,
    burst: bool = False,
    poll_delay: float = 0.05,
    in_progress_ttl_s: float | None = None,
) -> Worker:
    """An arq Worker on an existing pool (no signal handlers: it lives inside our own event loop)."""
    worker = Worker(
        functions, redis_pool=redis, queue_name=redis.default_queue_name, on_startup=on_startup,
        on_shutdown=on_shutdown, ctx=ctx, max_jobs=max_jobs, burst=burst, poll_delay=poll_delay,
        handle_signals=False,
    )
    if in_progress_ttl_s is not None:
        # arq keeps a job's in-progress marker for the longest timeout + 10 s; after a kill -9 that is how
        # long a restarted worker waits before it takes the job again. Tests shorten it (jobs are idempotent).
        worker.in_progress_timeout_s = in_progress_ttl_s
    return worker


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    """Run a worker as a task of the current loop for the duration of the block."""
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        for job in list(worker.tasks.values()):
            job.cancel()
        if worker.on_shutdown:
            await worker.on_shutdown(worker.ctx)
