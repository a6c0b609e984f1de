"""Fairness (issue 15.5): scoring of new messages (the alert path) goes ahead of another creator's bulk run, and
two creators' bulk runs share the model calls."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from core.db import repo
from core.db.models import Contact, Message, ScoringItem, ScoringRun
from core.queue import create_queue
from core.ratelimit import RateLimiter
from core.services import scoring
from core.timeutil import utcnow
from standins.gemini import GeminiStandin
from tests.test_scoring import pipeline, wait_done


async def _creator(sessions: Any, telegram_id: int, n: int, text: str) -> tuple[int, list[int]]:
    now = utcnow()
    async with sessions() as session, session.begin():
        user = await repo.ensure_user(session, telegram_id)
        user.niche, user.goal = "fitness coaching", "sell 1:1 programs"
        ids = []
        for i in range(n):
            c = Contact(user_id=user.id, instagram_id=f"{telegram_id}:{i}", name=f"Lead {i}", tags=[],
                        message_count=1, last_message=text, last_message_at=now - timedelta(minutes=i),
                        hot_episode=0)
            session.add(c)
            await session.flush()
            session.add(Message(user_id=user.id, contact_id=c.id, instagram_message_id=f"{telegram_id}:m{i}",
                                from_creator=False, text=text, created_at=now - timedelta(minutes=i)))
            ids.append(c.id)
        return user.id, ids


async def _done(sessions: Any, user_id: int, run_id: int) -> int:
    async with sessions() as session:
        run = await scoring.get_run(session, user_id, run_id)
    assert run is not None
    return run.done


async def test_a_new_message_is_scored_ahead_of_another_creators_bulk_run(sessions, redis_url, unique):
    a_id, _ = await _creator(sessions, 501, 80, "tell me more about your coaching")
    b_id, b_contacts = await _creator(sessions, 502, 1, "how much is the program? I want to start")
    # 30 calls a minute: one model-call slot every 2 s, shared by both creators (one GEMINI_RPM).
    async with GeminiStandin() as gem, pipeline(sessions, redis_url, unique, gem, rpm=30) as queue:
        bulk = await scoring.start_run(sessions, queue, a_id, scope="all")
        await wait_done_count(sessions, a_id, bulk.id, 3)  # A's run is flowing and has booked the pace ahead
        before = await _done(sessions, a_id, bulk.id)
        alert_path = await scoring.start_run(sessions, queue, b_id, scope="ids", contact_ids=b_contacts)
        done = await wait_done(sessions, b_id, alert_path.id, limit_s=120)
        after = await _done(sessions, a_id, bulk.id)
    assert done.done == 1
    # Counted in model-call slots, not seconds (the machine is busy): B's lead waited for at most a couple of
    # A's calls, not for the ~10 slots (20 s) that A's items had booked ahead on the shared pace.
    assert after - before <= 3, f"{after - before} of A's leads were scored while B's new message waited"


async def wait_done_count(sessions: Any, user_id: int, run_id: int, count: int) -> None:
    async with asyncio.timeout(120):
        while True:
            if await _done(sessions, user_id, run_id) >= count:
                return
            await asyncio.sleep(0.1)


async def test_daily_token_budget_per_creator_stops_only_that_creator(sessions, redis_url, unique):
    from sqlalchemy import select

    from core.db.models import ScoringItem

    a_id, a_leads = await _creator(sessions, 511, 3, "how much is the program?")
    b_id, b_leads = await _creator(sessions, 512, 1, "how much is the program?")
    async with GeminiStandin() as gem, pipeline(sessions, redis_url, unique, gem,
                                                settings={"gemini_daily_tokens_per_creator": 100}) as queue:
        first = await scoring.start_run(sessions, queue, a_id, scope="ids", contact_ids=a_leads[:1])
        assert (await wait_done(sessions, a_id, first.id, limit_s=60)).done == 1  # spends > 100 tokens
        calls = len(gem.requests)
        over = await scoring.start_run(sessions, queue, a_id, scope="ids", contact_ids=a_leads[1:])
        run = await wait_done(sessions, a_id, over.id, limit_s=60)
        other = await scoring.start_run(sessions, queue, b_id, scope="ids", contact_ids=b_leads)
        b_run = await wait_done(sessions, b_id, other.id, limit_s=60)
    assert (run.done, run.failed, run.status) == (0, 2, "done") and "daily Gemini budget" in (run.last_error or "")
    assert len(gem.requests) == calls + 1  # A's leads over budget made no model call; B's lead did
    assert b_run.done == 1
    async with sessions() as session:
        errors = (await session.execute(select(ScoringItem.error).where(ScoringItem.run_id == over.id))).scalars()
        assert all("GEMINI_DAILY_TOKENS_PER_CREATOR" in (e or "") for e in errors)


async def test_a_priority_call_does_not_wait_behind_slots_bulk_items_booked(redis_url, unique):
    queue = await create_queue(redis_url, unique)
    now = [1000.0]
    limiter = RateLimiter(queue, f"{unique}:rl", rpm=600, clock=lambda: now[0])  # a slot every 0.1 s
    booked = [await limiter.reserve(max_wait_s=0.5) for _ in range(5)]  # bulk items booked 0.5 s ahead
    assert booked == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert await limiter.reserve(max_wait_s=20, priority=True) == 0.0  # the alert path goes now
    assert await limiter.reserve(max_wait_s=20, priority=True) == pytest.approx(0.1)  # behind the other one only
    # ... and the shared pace repays the borrowed slots: the next bulk item comes after both.
    assert await limiter.reserve(max_wait_s=20) == pytest.approx(0.7)
    await limiter.hold(5.0)  # a 429's retryDelay holds both lanes
    assert await limiter.reserve(max_wait_s=20, priority=True) == pytest.approx(5.0)
    await queue.aclose()


async def test_a_bulk_run_queues_a_window_of_its_items_not_all_of_them(sessions, redis_url, unique):
    a_id, _ = await _creator(sessions, 521, scoring.BULK_QUEUED + 30, "tell me more about your coaching")
    c_id, _ = await _creator(sessions, 522, scoring.BULK_QUEUED + 30, "what does the program cost")
    queue = await create_queue(redis_url, unique)  # no worker: what is queued stays there
    await scoring.start_run(sessions, queue, a_id, scope="all")
    assert await queue.zcard(unique) == scoring.BULK_QUEUED
    await scoring.start_run(sessions, queue, c_id, scope="all")  # two bulk runs: half the window each
    assert await queue.zcard(unique) == scoring.BULK_QUEUED + scoring.bulk_window(2)
    await queue.aclose()


async def test_a_large_sync_run_and_a_retry_share_like_bulk_runs(sessions, redis_url, unique):
    """A first sync of many conversations (an `ids` run over PRIORITY_MAX_ITEMS) and a retry of a run's failures
    are bulk: a window of their items is queued, not all of them ahead of everyone's alerts."""
    many = scoring.PRIORITY_MAX_ITEMS + 30
    a_id, a_leads = await _creator(sessions, 541, many, "tell me more about your coaching")
    b_id, b_leads = await _creator(sessions, 542, 3, "how much is the program?")
    queue = await create_queue(redis_url, unique)  # no worker: what is queued stays there
    first_sync = await scoring.start_run(sessions, queue, a_id, scope="ids", contact_ids=a_leads)
    assert not scoring.is_priority(first_sync.run) and await queue.zcard(unique) == scoring.BULK_QUEUED
    alert = await scoring.start_run(sessions, queue, b_id, scope="ids", contact_ids=b_leads)
    assert scoring.is_priority(alert.run) and await queue.zcard(unique) == scoring.BULK_QUEUED + 3
    async with sessions() as session, session.begin():  # every item of A's run failed (a model outage, say)
        await session.execute(update(ScoringItem).where(ScoringItem.run_id == first_sync.run.id)
                              .values(status="failed"))
        await session.execute(update(ScoringRun).where(ScoringRun.id == first_sync.run.id)
                              .values(status="done"))
    retry = await scoring.retry_failed(sessions, queue, a_id, first_sync.run.id)
    assert retry is not None and retry.run.scope == "retry" and retry.run.total == many
    assert not scoring.is_priority(retry.run)
    async with sessions() as session:
        assert await scoring._bulk_runs(session) == 1  # the retry; B's small alert-path run is not bulk
    await queue.aclose()


async def test_a_lead_who_writes_during_the_creators_own_bulk_run_goes_to_the_head_of_the_queue(
        sessions, redis_url, unique):
    """One run per creator: a new DM joins the creator's running bulk run instead of waiting hours for its end,
    first in the queue and on the alert path (the limiter's priority lane, pushed even if the run is watched)."""
    a_id, _ = await _creator(sessions, 551, scoring.BULK_QUEUED + 30, "tell me more about your coaching")
    queue = await create_queue(redis_url, unique)  # no worker: what is queued stays there
    bulk = await scoring.start_run(sessions, queue, a_id, scope="all")
    async with sessions() as session, session.begin():
        user = await repo.get_user_by_id(session, a_id)
        assert user is not None
        later = utcnow() + timedelta(seconds=5)
        new = Contact(user_id=a_id, instagram_id="551:new", name="New lead", tags=[], message_count=1,
                      last_message="how much? I want to start", last_message_at=later, last_lead_message_at=later,
                      hot_episode=0)
        session.add(new)
    joined = await scoring.start_run(sessions, queue, a_id, scope="ids", contact_ids=[new.id])
    assert not joined.created and joined.id == bulk.id
    async with sessions() as session:
        run = await scoring.get_run(session, a_id, bulk.id)
        item = await session.get(ScoringItem, (bulk.id, new.id))
        contact = await repo.get_contact(session, a_id, new.id)
    assert run is not None and run.total == scoring.BULK_QUEUED + 31 and item is not None and item.status == "pending"
    assert contact is not None and scoring.wrote_during(run, contact)
    head = (await queue.zrange(unique, 0, 0))[0]
    assert (head.decode() if isinstance(head, bytes) else head).endswith(f"score:{bulk.id}:{new.id}")
    assert await queue.zcard(unique) == scoring.BULK_QUEUED + 1
    await queue.aclose()


async def test_two_creators_bulk_runs_share_the_model_calls(sessions, redis_url, unique):
    n = 150
    a_id, _ = await _creator(sessions, 531, n, "tell me more about the zumba class")
    c_id, _ = await _creator(sessions, 532, n, "what does the program cost")
    async with GeminiStandin() as gem, pipeline(sessions, redis_url, unique, gem) as queue:
        first = await scoring.start_run(sessions, queue, a_id, scope="all")  # A starts first ...
        second = await scoring.start_run(sessions, queue, c_id, scope="all")  # ... C a moment later
        assert (await wait_done(sessions, a_id, first.id, limit_s=300)).done == n
        assert (await wait_done(sessions, c_id, second.id, limit_s=300)).done == n
    order = ["A" if "zumba" in json.dumps(r["body"]) else "C" for r in gem.requests]
    assert order.count("A") == order.count("C") == n
    # Counted in calls, not seconds: C's run did not wait for A's to end. By A's last call C had made most of
    # its own (A's head start is only the window it queued before C came; after that they alternate).
    last_a = len(order) - 1 - order[::-1].index("A")
    assert order[:last_a].count("C") >= n // 2, "".join(order)
    # Once both are queued, each gets about half of the calls.
    middle = order[scoring.BULK_QUEUED:last_a]
    assert 0.3 <= middle.count("C") / len(middle) <= 0.7, "".join(order)
