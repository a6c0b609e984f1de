"""arq pool factory: real Redis when REDIS_URL is set, an in-process fakeredis server otherwise.

Both paths hand out an `ArqRedis`, so the same jobs run through the same code. With fakeredis the pool and
an in-process arq Worker share one FakeServer (see `run_worker`): jobs work within the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import arq.worker
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import default_queue_name, in_progress_key_prefix
from arq.jobs import Job
from arq.worker import Worker
from fakeredis import FakeServer
from fakeredis.aioredis import FakeAsyncRedisMixin

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_S = 5.0  # a stopping worker waits at most this long for cancelled jobs and for its own cleanup
_original_log_redis_info = arq.worker.log_redis_info  # type: ignore[attr-defined]


async def _log_redis_info(redis: Any, log_func: Callable[[str], Any]) -> None:
    # fakeredis has no INFO: the worker's startup banner must not stop it from running.
    try:
        await _original_log_redis_info(redis, log_func)
    except Exception:  # noqa: BLE001 - a banner is not worth a crash
        log_func("redis info unavailable (in-process fakeredis)")


arq.worker.log_redis_info = _log_redis_info  # type: ignore[attr-defined]


def serialize(data: dict[str, Any]) -> bytes:
    """arq's job and result payloads as JSON. arq pickles by default, and unpickling runs code: anyone able to
    write to Redis could then run code in every worker (which holds SECRET_KEY, the database and the Gemini key).
    A failed job's exception is stored as its "Type: message" text."""
    return json.dumps(data, default=_jsonable, separators=(",", ":")).encode()


def deserialize(payload: bytes) -> dict[str, Any]:
    """The reverse of `serialize`; anything else (a pickle) raises, so arq fails that job without running it."""
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("job payload is not a JSON object")
    return data


def _jsonable(value: object) -> object:
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


SERIALIZERS: dict[str, Any] = {"job_serializer": serialize, "job_deserializer": deserialize}


def job(job_id: str, redis: ArqRedis) -> Job:
    """A handle on a job's result, read with the JSON deserializer."""
    return Job(job_id, redis, _queue_name=redis.default_queue_name, _deserializer=deserialize)


class _FakeArqRedis(FakeAsyncRedisMixin, ArqRedis):  # type: ignore[misc]
    """ArqRedis speaking to an in-process fakeredis server."""


_FAKE_SERVER: FakeServer | None = None


def fake_server() -> FakeServer:
    """One fakeredis server per process, shared by every pool and worker that has no REDIS_URL."""
    global _FAKE_SERVER
    if _FAKE_SERVER is None:
        _FAKE_SERVER = FakeServer()
    return _FAKE_SERVER


def redis_settings(redis_url: str) -> RedisSettings:
    """arq's settings from REDIS_URL: `redis://` or `rediss://` (TLS, server certificate verified), user and
    password from the URL; `?ssl_ca_certs=/path/ca.pem` trusts a private CA."""
    settings = RedisSettings.from_dsn(redis_url)
    ca = parse_qs(urlsplit(redis_url).query).get("ssl_ca_certs")
    if ca:
        settings.ssl_ca_certs = ca[0]
    return settings


async def create_queue(redis_url: str | None, queue_name: str = default_queue_name) -> ArqRedis:
    """An arq pool. `queue_name` is also the job-id namespace (core.jobs.namespaced)."""
    if redis_url:
        return await create_pool(redis_settings(redis_url), default_queue_name=queue_name, **SERIALIZERS)
    pool = _FakeArqRedis(server=fake_server())
    pool.default_queue_name = queue_name
    pool.job_serializer, pool.job_deserializer = serialize, deserialize
    return pool


def is_fake(redis: ArqRedis) -> bool:
    return isinstance(redis, _FakeArqRedis)


# How long a job's in-progress marker outlives its worker. arq sets it to the longest job timeout + 10 s (610 s
# with the 600 s sync job), so a job held by a worker killed with kill -9 waited ten minutes before anyone ran it
# again. Instead the marker is a short lease that the live worker renews every JOB_LEASE_S / 4 for each job it
# runs: a dead worker's jobs are taken again within JOB_LEASE_S. A worker stalled longer than that may see a job
# run twice, which every job tolerates (they are idempotent).
JOB_LEASE_S = 20.0


class LeasedWorker(Worker):
    """An arq Worker whose in-progress markers are renewed leases (see JOB_LEASE_S)."""

    def __init__(self, *args: Any, lease_s: float = JOB_LEASE_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_progress_timeout_s = lease_s
        self._renewed_at = 0.0

    async def heart_beat(self) -> None:
        await super().heart_beat()
        now = asyncio.get_running_loop().time()
        if now - self._renewed_at >= self.in_progress_timeout_s / 4:
            self._renewed_at = now
            await self.renew_leases()

    async def renew_leases(self) -> None:
        running = [job_id for job_id, task in self.tasks.items() if not task.done()]
        if not running:
            return
        ttl_ms = int(self.in_progress_timeout_s * 1000)
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in running:  # PEXPIRE never recreates a marker the job already removed
                pipe.pexpire(in_progress_key_prefix + job_id, ttl_ms)
            await pipe.execute()


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
    return LeasedWorker(
        functions, redis_pool=redis, queue_name=redis.default_queue_name, on_startup=on_startup,
        on_shutdown=on_shutdown, ctx=ctx, max_jobs=max_jobs, burst=burst, poll_delay=poll_delay,
        handle_signals=False, lease_s=in_progress_ttl_s or JOB_LEASE_S, **SERIALIZERS,
    )


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
        # Running jobs are abandoned, not awaited: every job is idempotent and arq runs it again (on this or
        # another worker). They get a short grace to unwind (arq re-queues a cancelled job), never longer.
        jobs = [job for job in worker.tasks.values() if not job.done()]
        for job in jobs:
            job.cancel()
        if jobs:
            _, stuck = await asyncio.wait(jobs, timeout=SHUTDOWN_GRACE_S)
            if stuck:
                log.warning("%d job(s) still unwinding at shutdown: left to be run again", len(stuck))
        if worker.on_shutdown:
            try:
                await asyncio.wait_for(worker.on_shutdown(worker.ctx), SHUTDOWN_GRACE_S)
            except TimeoutError:
                log.warning("worker cleanup took over %.0f s: left unfinished", SHUTDOWN_GRACE_S)
