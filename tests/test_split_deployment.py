"""The split deployment, for real: 2 `leadgram worker` + 2 `leadgram scheduler` processes on the real Redis and
a private PostgreSQL database; Instagram, Gemini and Telegram stand-ins over HTTP. A new "how much is it?" DM
goes sync -> rescore -> alert; a dead token gets one notice. Every job ran once (sync slots counted at Graph,
model calls at Gemini) and every alert was sent once (counted at Telegram)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from arq.jobs import deserialize_result
from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clients.instagram import IgAccount, InstagramClient
from core.crypto import TokenCipher
from core.db import repo
from core.db.engine import make_engine, make_sessionmaker, transaction
from core.db.models import Alert, Contact, Message, ScoringItem, User
from core.queue import deserialize
from core.services.connect import connect_token
from core.services.sync import sync_user
from standins.gemini import GeminiStandin
from standins.ig_data import synthetic
from standins.instagram import InstagramStandin
from standins.telegram import TelegramStandin
from tests.split_harness import REDIS_URL, private_database, processes, stop, wait_for

CHAT_A, CHAT_B = 7001, 7002
SECRET = "split-secret"
INTERVAL_MIN = 0.05  # 3 s slots
# Generous waits (returned as soon as met): 4 fresh processes import aiogram/SQLAlchemy, slow on a busy 2-core box.
STARTUP_S, STEP_S = 180, 90


async def _creator(sessions: async_sessionmaker[AsyncSession], ig: InstagramStandin, chat: int, token: str) -> int:
    async with transaction(sessions) as s:
        user = await repo.ensure_user(s, telegram_id=chat, chat_id=chat)
        user.onboarding_step, user.quiet_start_hour, user.quiet_end_hour = "done", 0, 0
        await connect_token(s, user.id, IgAccount(ig.data.account_id, ig.data.username), token, TokenCipher(SECRET))
        return user.id


async def _count(sessions: async_sessionmaker[AsyncSession], stmt: object) -> int:
    async with sessions() as s:
        return int((await s.execute(stmt)).scalar_one())  # type: ignore[call-overload]


@pytest.mark.timeout(600)
async def test_two_workers_two_schedulers_every_job_once(tmp_path: Path) -> None:
    redis_url = REDIS_URL.rsplit("/", 1)[0] + f"/{random.randint(3, 15)}"  # arq's default names, our own DB
    redis = Redis.from_url(redis_url)
    async with (private_database() as db_url, InstagramStandin(synthetic(3, 3)) as ig, TelegramStandin() as tg,
                GeminiStandin(latency_s=0.2) as gemini):
        tg.user(CHAT_A), tg.user(CHAT_B)
        engine = make_engine(db_url)
        sessions = make_sessionmaker(engine)
        a = await _creator(sessions, ig, CHAT_A, ig.token)
        b = await _creator(sessions, ig, CHAT_B, "IGAA-revoked-token")
        async with InstagramClient_(ig) as client:  # an earlier sync and scoring: everything is current
            await sync_user(sessions, a, client)
        async with transaction(sessions) as s:
            await s.execute(update(Contact).values(scored_at=datetime.now(UTC), lead_score=10, sentiment="cold",
                                                   scored_through=Contact.last_message_at))
        graph_calls_before = ig.calls["conversations"]
        env = {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET, "IG_API_BASE": ig.base_url,
               "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE": tg.base_url,
               "GEMINI_API_KEY": "standin-key", "GEMINI_BASE_URL": gemini.base_url, "GEMINI_RPM": "600",
               "SYNC_INTERVAL_MINUTES": str(INTERVAL_MIN), "LOG_LEVEL": "INFO"}
        try:
            async with processes(env, tmp_path, workers=2, schedulers=2) as procs:
                # The creator's own reply: synced, nothing to rescore (no model call).
                reply = ig.add_message("c0", "thanks! the link is in my bio", from_id=ig.data.account_id)
                await wait_for(lambda: _has_message(sessions, reply.id), STARTUP_S, "the scheduled sync", procs)
                await wait_for(lambda: _notified(tg, CHAT_B), STEP_S, "the reconnect notice", procs)
                # A buyer's DM: sync -> rescore (one model call) -> hot -> one alert.
                ig.add_message("c1", "how much is it? I want to buy today")
                await wait_for(lambda: _notified(tg, CHAT_A), STEP_S, "the alert", procs)
                await asyncio.sleep(3 * INTERVAL_MIN * 60)  # more slots: nothing may be sent twice
                await stop(procs[2:])  # schedulers first, then let the workers drain the queue
                await wait_for(lambda: _drained(redis), STEP_S, "the queue to drain", procs[:2])
            # One arq result per sync slot that ran (keyed by `sync:{user}:{slot}`), and exactly one Graph
            # conversations call per slot: a slot run twice (two schedulers, two workers) would show more calls.
            keys = [k async for k in redis.scan_iter(match=f"arq:result:sync:{a}:*")]
            runs = [deserialize_result(await redis.get(k), deserializer=deserialize) for k in keys]  # type: ignore[arg-type]
            slots = [r for r in runs if r.success and isinstance(r.result, dict) and "new_messages" in r.result]
            assert len(slots) >= 3 and all(r.job_try == 1 for r in runs)
            assert ig.calls["conversations"] - graph_calls_before == len(slots)
            assert len(tg.user(CHAT_B).chat) == 1 and "disconnected" in tg.user(CHAT_B).chat[0].text
            assert len(tg.user(CHAT_A).chat) == 1
            assert "Hot lead" in tg.user(CHAT_A).chat[0].text and "how much is it" in tg.user(CHAT_A).chat[0].text
            assert tg.errors == []
            assert await _count(sessions, select(func.count()).where(Alert.status == "sent")) == 1
            assert await _count(sessions, select(func.count()).select_from(Alert)) == 1
            # One model call per scoring item, and only the buyer's contact was rescored.
            assert len(gemini.requests) == await _count(sessions, select(func.count()).select_from(ScoringItem)) == 1
            async with sessions() as s:
                user_b = await s.get(User, b)
                assert user_b is not None and user_b.ig_status == "expired" and user_b.ig_reconnect_notified
        finally:
            await engine.dispose()
            keys = [k async for k in redis.scan_iter(match="arq:*")] + \
                [k async for k in redis.scan_iter(match="leadgram:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()


class InstagramClient_:
    """A plain client for the test's own first sync."""

    def __init__(self, ig: InstagramStandin) -> None:
        import httpx

        self._http = httpx.AsyncClient()
        self.client = InstagramClient(self._http, ig.token, base=ig.base_url, version="v21.0")

    async def __aenter__(self) -> InstagramClient:
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()


async def _has_message(sessions: async_sessionmaker[AsyncSession], igmid: str) -> bool:
    return await _count(sessions, select(func.count()).where(Message.instagram_message_id == igmid)) == 1


async def _notified(tg: TelegramStandin, chat: int) -> bool:
    return bool(tg.user(chat).chat)


async def _drained(redis: Redis) -> bool:
    queued = await redis.zcard("arq:queue")
    running = [k async for k in redis.scan_iter(match="arq:in-progress:*")]
    return queued == 0 and not running
