"""The bundled demo account keeps one timeline per creator: re-syncing it later (a scheduled sync, or
`leadgram demo` again) finds no new messages, moves no last_message_at and leaves scored contacts scored.
Real demo stand-in over HTTP, real scoring pipeline (offline scorer) on real Redis, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clients.demo import demo_anchor, demo_client
from core.clients.source import instagram_source
from core.config import load_settings
from core.crypto import TokenCipher
from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, Message, User
from core.queue import create_queue, make_worker, running
from core.ratelimit import RateLimiter
from core.scoring import OfflineScorer
from core.services import scoring
from core.services.connect import connect_demo
from core.services.sync import sync_user
from core.timeutil import ago, utcnow
from workers.jobs.scoring import FUNCTIONS
from workers.jobs.sync import sync_creator

Sessions = async_sessionmaker[AsyncSession]
T0 = utcnow().replace(microsecond=0)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@contextlib.asynccontextmanager
async def scoring_worker(sessions: Sessions, redis_url: str, unique: str) -> AsyncIterator[Any]:
    """The real scoring jobs in-process, offline scorer, on a unique queue of the real Redis."""
    queue = await create_queue(redis_url, unique)
    ctx = {"sessions": sessions, "scorer": OfflineScorer(), "score_max_tries": 3, "alerts_after_scoring": False,
           "limiter": RateLimiter(queue, f"{unique}:rl", 6000)}
    try:
        async with running(make_worker(queue, FUNCTIONS, ctx=ctx, max_jobs=20)):
            yield queue
    finally:
        keys = [k async for k in queue.scan_iter(match=f"*{unique}*")]
        if keys:
            await queue.delete(*keys)
        await queue.aclose()


async def wait_done(sessions: Sessions, user_id: int, run_id: int) -> None:
    async with asyncio.timeout(60):
        while True:
            async with sessions() as session:
                run = await scoring.get_run(session, user_id, run_id)
            if run is not None and run.status == "done":
                assert run.failed == 0 and run.done == run.total
                return
            await asyncio.sleep(0.05)


async def demo_creator(sessions: Sessions, telegram_id: int = 4242) -> User:
    async with transaction(sessions) as session:
        user = await repo.ensure_user(session, telegram_id, chat_id=telegram_id)
        user.niche, user.goal = "online fitness coach", "sell 12-week programs"
        await session.flush()
        await connect_demo(session, user.id)
    return await user_row(sessions, user.id)


async def user_row(sessions: Sessions, user_id: int) -> User:
    async with sessions() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user


async def snapshot(sessions: Sessions, user_id: int) -> tuple[dict[str, Any], dict[str, datetime]]:
    """{lead: (last_message_at, last_message, message_count)} and {message id: created_at}."""
    async with sessions() as session:
        contacts = (await session.execute(select(Contact).where(Contact.user_id == user_id))).scalars().all()
        msgs = (await session.execute(select(Message.instagram_message_id, Message.created_at)
                                      .where(Message.user_id == user_id))).all()
    return ({c.instagram_id: (c.last_message_at, c.last_message, c.message_count) for c in contacts},
            {mid: created for mid, created in msgs})


async def needing_scoring(sessions: Sessions, user_id: int) -> int:
    async with sessions() as session:
        stmt = select(func.count()).where(Contact.user_id == user_id, repo.needs_scoring())
        return int((await session.execute(stmt)).scalar_one())


async def test_resyncing_an_unchanged_demo_later_changes_nothing(
    sessions: Sessions, http: httpx.AsyncClient, redis_url: str, unique: str,
) -> None:
    settings, cipher = load_settings(ig_access_token=None), TokenCipher("k")
    user = await demo_creator(sessions)
    async with instagram_source(user, settings, cipher, http, sessions=sessions, now=T0) as client:
        first = await sync_user(sessions, user.id, client, now=lambda: T0)
    assert first.ok and (first.new_contacts, first.new_messages) == (120, 284)
    contacts, messages = await snapshot(sessions, user.id)
    newest = max(at for at, _, _ in contacts.values())
    assert ago(newest, T0) == "8m ago"  # a fresh demo looks recent: anchored at the first sync
    async with scoring_worker(sessions, redis_url, unique) as queue:
        run = await scoring.start_run(sessions, queue, user.id, scope="all")
        await wait_done(sessions, user.id, run.id)
    assert await needing_scoring(sessions, user.id) == 0

    # The scheduled sync three hours later builds a new demo client with a later clock.
    later = T0 + timedelta(hours=3)
    async with instagram_source(await user_row(sessions, user.id), settings, cipher, http, sessions=sessions,
                                now=later) as client:
        again = await sync_user(sessions, user.id, client, now=lambda: later)
    assert again.ok and (again.new_contacts, again.updated_contacts, again.new_messages) == (0, 0, 0)
    assert again.changed_contact_ids == []
    assert await snapshot(sessions, user.id) == (contacts, messages)
    assert await needing_scoring(sessions, user.id) == 0

    # `leadgram demo` / the bot's demo button two days later: reconnecting resets the cursor, so this sync
    # re-reads every thread; the same ids and times come back.
    much_later = T0 + timedelta(days=2)
    async with transaction(sessions) as session:
        await connect_demo(session, user.id, now=much_later)
    async with demo_client(user.niche, now=much_later, sessions=sessions, user_id=user.id) as client:
        full = await sync_user(sessions, user.id, client, now=lambda: much_later)
    assert full.ok and full.pages >= 1 and (full.new_contacts, full.new_messages) == (0, 0)
    assert full.changed_contact_ids == []
    assert await snapshot(sessions, user.id) == (contacts, messages)
    assert await needing_scoring(sessions, user.id) == 0
    assert ago(newest, much_later) == "2d ago"  # the demo ages like a real account would


async def test_scheduled_demo_sync_job_does_not_rescore_an_unchanged_account(
    sessions: Sessions, http: httpx.AsyncClient, redis_url: str, unique: str,
) -> None:
    user = await demo_creator(sessions, 4343)
    clock = {"now": T0}
    async with scoring_worker(sessions, redis_url, unique) as queue:
        ctx: dict[str, Any] = {"sessions": sessions, "redis": queue, "http": http, "clock": lambda: clock["now"],
                               "settings": load_settings(ig_access_token=None, secret_key="demo-stable")}
        first = await sync_creator(ctx, user.id)
        assert first["new_messages"] == 284 and first["changed"] == 120 and first["run_id"] is not None
        await wait_done(sessions, user.id, first["run_id"])
        assert await needing_scoring(sessions, user.id) == 0
        before = await snapshot(sessions, user.id)
        for hours in (1, 6, 30):  # later scheduler slots
            clock["now"] = T0 + timedelta(hours=hours)
            result = await sync_creator(ctx, user.id)
            assert (result["new_messages"], result["changed"], result["run_id"]) == (0, 0, None)
            assert result["stopped"] is None
            assert await snapshot(sessions, user.id) == before
            assert await needing_scoring(sessions, user.id) == 0
    assert (await user_row(sessions, user.id)).last_sync_at == T0 + timedelta(hours=30)


async def test_demo_anchor_is_the_first_sync_and_per_niche(sessions: Sessions, http: httpx.AsyncClient) -> None:
    user = await demo_creator(sessions, 4444)
    async with sessions() as session:  # nothing stored yet: a new demo starts now (whole seconds)
        assert await demo_anchor(session, user.id, user.niche, now=T0 + timedelta(microseconds=7)) == T0
    async with demo_client(user.niche, now=T0, sessions=sessions, user_id=user.id) as client:
        assert (await sync_user(sessions, user.id, client, now=lambda: T0)).new_messages == 284
    other = await demo_creator(sessions, 4545)
    async with sessions() as session:
        assert await demo_anchor(session, user.id, user.niche, now=T0 + timedelta(days=9)) == T0
        # another niche's demo shares no messages with this one: it starts fresh
        assert await demo_anchor(session, user.id, "tattoo studio", now=T0 + timedelta(days=9)) == \
            T0 + timedelta(days=9)
        # another creator's stored demo never anchors this one
        assert await demo_anchor(session, other.id, other.niche, now=T0 + timedelta(hours=1)) == \
            T0 + timedelta(hours=1)
