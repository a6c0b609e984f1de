"""One manual /sync per creator in flight (issue 15.5): a second /sync while the first runs gets that one back
(no second job); the slot is free again once it finished or failed, or once arq no longer holds its job."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.constants import job_key_prefix
from arq.jobs import JobStatus

from core import jobs
from core.config import load_settings
from core.db import repo
from core.db.models import User
from core.queue import create_queue, job, make_worker, running
from core.scoring.offline import OfflineScorer
from core.services import onboarding, sync
from workers.settings import FUNCTIONS


async def _demo_creator(sessions: Any, telegram_id: int) -> User:
    async with sessions() as session:
        user = await repo.ensure_user(session, telegram_id)
        user.timezone = "Asia/Tokyo"
        await onboarding.use_demo(session, user)
        return user


async def _ask(sessions: Any, queue: Any, user: User, new_account: bool = False) -> Any:
    async with sessions() as session:
        return await sync.request_sync(session, queue, await session.merge(user), new_account=new_account)


async def _ended(queue: Any, job_id: str) -> None:
    async with asyncio.timeout(90):
        while True:
            if await job(job_id, queue).status() == JobStatus.complete:
                return
            await asyncio.sleep(0.1)


def _worker(queue: Any, sessions: Any, **ctx: Any) -> Any:
    return make_worker(queue, FUNCTIONS, ctx={"sessions": sessions, "scorer": OfflineScorer(),
                                              "alerts_after_scoring": False, **ctx})


async def test_a_second_sync_is_refused_while_the_first_runs_and_allowed_after(sessions, redis_url, unique):
    queue = await create_queue(redis_url, unique)
    user = await _demo_creator(sessions, 701)
    first = await _ask(sessions, queue, user)
    assert isinstance(first, sync.SyncRequested)
    second = await _ask(sessions, queue, user)
    assert isinstance(second, sync.SyncRunning) and second.job_id == first.job_id
    assert second.started_at.utcoffset() == timedelta(hours=9)  # told in the creator's time
    assert await queue.zcard(unique) == 1  # no second job
    async with running(_worker(queue, sessions, settings=load_settings())):
        await _ended(queue, first.job_id)
        assert (await job(first.job_id, queue).result(timeout=30))["new_contacts"] > 0  # it did sync
        third = await _ask(sessions, queue, user)
        assert isinstance(third, sync.SyncRequested) and third.job_id != first.job_id
        await _ended(queue, third.job_id)
    await queue.aclose()


async def test_a_failed_sync_frees_the_slot(sessions, redis_url, unique):
    queue = await create_queue(redis_url, unique)
    user = await _demo_creator(sessions, 702)
    first = await _ask(sessions, queue, user)
    async with running(_worker(queue, sessions)):  # no settings: the sync job crashes
        await _ended(queue, first.job_id)
    info = await job(first.job_id, queue).result_info()
    assert info is not None and not info.success
    again = await _ask(sessions, queue, user)
    assert isinstance(again, sync.SyncRequested) and again.job_id != first.job_id
    await queue.aclose()


async def test_a_claim_whose_job_is_gone_does_not_block_and_a_new_account_always_syncs(redis_url, unique):
    queue = await create_queue(redis_url, unique)
    t0 = datetime.now(UTC)
    first = await jobs.enqueue_manual_sync(queue, 703, "a", now=t0)
    assert first.enqueued
    await queue.delete(job_key_prefix + first.job_id)  # arq no longer holds it (lost, or ended without release)
    early = await jobs.enqueue_manual_sync(queue, 703, "b", now=t0 + timedelta(seconds=5))
    assert not early.enqueued and early.job_id == first.job_id  # just claimed: its job may not be visible yet
    late = await jobs.enqueue_manual_sync(queue, 703, "c", now=t0 + timedelta(seconds=jobs.MANUAL_SYNC_GRACE_S + 1))
    assert late.enqueued
    forced = await jobs.enqueue_manual_sync(queue, 703, "d", exclusive=False, now=t0 + timedelta(seconds=40))
    assert forced.enqueued  # /demo or a new connection: synced even while one is in flight
    held = await jobs.enqueue_manual_sync(queue, 703, "e", now=t0 + timedelta(seconds=40))
    assert not held.enqueued and held.job_id == forced.job_id  # ... and it holds the slot
    await queue.aclose()
