"""How fast does a buyer's DM become a push alert? Prints ONE JSON object.

The split deployment on this machine (2 `leadgram worker` + 1 `leadgram scheduler`, real Redis, a private
PostgreSQL database) with SYNC_INTERVAL_MINUTES = 10 s and the Gemini stand-in answering in 1 s. For each
trial a new "how much is it?" DM appears in the Instagram stand-in at a random point of the sync interval;
we time until the alert reaches the Telegram stand-in. Also: alert messages per hot transition (must be 1.0).

    .venv/bin/python bench/alerts.py [--trials 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from sqlalchemy import (  # noqa: E402
    func,
    select,
    update,  # noqa: E402
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from core.clients.instagram import (
    IgAccount,  # noqa: E402
    InstagramClient,  # noqa: E402
)
from core.crypto import TokenCipher  # noqa: E402
from core.db import repo  # noqa: E402
from core.db.engine import make_engine, make_sessionmaker, transaction  # noqa: E402
from core.db.models import Alert, Contact, Message, User  # noqa: E402
from core.jobs import enqueue_alerts  # noqa: E402
from core.queue import create_queue  # noqa: E402
from core.rules import is_hot  # noqa: E402
from core.services import alerts  # noqa: E402
from core.services.connect import connect_token  # noqa: E402
from core.services.sync import sync_user  # noqa: E402
from standins.ig_data import synthetic  # noqa: E402
from standins.instagram import InstagramStandin  # noqa: E402
from standins.telegram import TelegramStandin  # noqa: E402
from tests.split_harness import REDIS_URL, private_database, processes, wait_for  # noqa: E402

CHAT = 8001
SECRET = "bench-secret"
INTERVAL_S = 10.0
GEMINI_LATENCY_S = 1.0
TARGET_S = 15.0


async def bench_full(trials: int) -> dict[str, object]:
    from standins.gemini import GeminiStandin

    redis_url = REDIS_URL.rsplit("/", 1)[0] + f"/{random.randint(3, 15)}"
    redis = Redis.from_url(redis_url)
    async with (private_database() as db_url, InstagramStandin(synthetic(trials + 2, 3)) as ig,
                TelegramStandin() as tg, GeminiStandin(latency_s=GEMINI_LATENCY_S) as gemini):
        tg.user(CHAT)
        engine = make_engine(db_url)
        sessions = make_sessionmaker(engine)
        async with transaction(sessions) as s:
            user = await repo.ensure_user(s, telegram_id=CHAT, chat_id=CHAT)
            user.onboarding_step, uid = "done", user.id
            await connect_token(s, user.id, IgAccount(ig.data.account_id, ig.data.username), ig.token,
                                TokenCipher(SECRET))
        env = {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET, "IG_API_BASE": ig.base_url,
               "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE": tg.base_url, "GEMINI_API_KEY": "standin",
               "GEMINI_BASE_URL": gemini.base_url, "GEMINI_RPM": "600",
               "SYNC_INTERVAL_MINUTES": str(INTERVAL_S / 60), "LOG_LEVEL": "WARNING"}

        async def all_scored() -> bool:
            async with sessions() as s:
                n = await s.execute(select(func.count()).where(Contact.user_id == uid, Contact.scored_at.is_(None)))
                return int(n.scalar_one()) == 0 and int((await s.execute(
                    select(func.count()).where(Contact.user_id == uid))).scalar_one()) > 0

        latencies: list[float] = []
        try:
            with tempfile.TemporaryDirectory() as logs:
                async with processes(env, Path(logs), workers=2, schedulers=1) as procs:
                    await wait_for(all_scored, 120, "the first sync and scoring", procs)
                    before = len(tg.user(CHAT).chat)
                    for trial in range(trials):
                        await asyncio.sleep(random.uniform(0, INTERVAL_S))  # a random phase of the sync slot
                        conv = ig.data.conversations[trial]
                        ig.add_message(conv.id, "how much is it?")
                        start = time.monotonic()
                        want = before + trial + 1

                        async def arrived(want: int = want) -> bool:
                            return len(tg.user(CHAT).chat) >= want

                        await wait_for(arrived, 60, f"alert {trial + 1}", procs, step=0.05)
                        latencies.append(round(time.monotonic() - start, 2))
                    await asyncio.sleep(2 * INTERVAL_S)  # would a duplicate alert still arrive?
                    messages = len(tg.user(CHAT).chat) - before
            async with sessions() as s:
                transitions = int((await s.execute(select(func.count()).select_from(Alert))).scalar_one())
        finally:
            await engine.dispose()
            keys = [k async for k in redis.scan_iter(match="arq:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
    return {
        "bench": "dm_to_alert", "mode": "full (sync -> rescore via the Gemini stand-in -> alert)",
        "sync_interval_s": INTERVAL_S, "gemini_latency_s": GEMINI_LATENCY_S, "model_calls": len(gemini.requests),
        "workers": 2, "schedulers": 1, "trials": trials, "dm_to_alert_s": latencies,
        "dm_to_alert_mean_s": round(sum(latencies) / len(latencies), 2), "dm_to_alert_max_s": max(latencies),
        "target_s": TARGET_S, "within_target": max(latencies) <= TARGET_S,
        "alerts_per_transition": round(messages / transitions, 3) if transitions else None,
    }


def scoring_available() -> bool:
    """The full chain needs the scoring pipeline (issue 4): its Gemini stand-in and `leadgram worker`."""
    import importlib.util

    from leadgram.cli import COMMANDS

    return importlib.util.find_spec("standins.gemini") is not None and "worker" in COMMANDS


async def bench_legs(trials: int) -> dict[str, object]:
    """Without the scoring pipeline: measure the two legs we own on the same deployment.
    Leg 1: a new DM appears -> it is in the database (scheduled sync, 10 s interval, random phase).
    Leg 2: a hot transition is written (as the scoring job writes it) -> the alert is at Telegram.
    The end-to-end estimate adds the 1 s scoring call in between; nothing is measured for scoring."""
    redis_url = REDIS_URL.rsplit("/", 1)[0] + f"/{random.randint(3, 15)}"
    redis = Redis.from_url(redis_url)
    sync_s: list[float] = []
    alert_s: list[float] = []
    async with private_database() as db_url, InstagramStandin(synthetic(trials + 2, 3)) as ig, \
            TelegramStandin() as tg:
        tg.user(CHAT)
        engine = make_engine(db_url)
        sessions = make_sessionmaker(engine)
        uid = await _connected_and_current(sessions, ig)
        env = {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET, "IG_API_BASE": ig.base_url,
               "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE": tg.base_url,
               "SYNC_INTERVAL_MINUTES": str(INTERVAL_S / 60), "LOG_LEVEL": "WARNING"}
        try:
            with tempfile.TemporaryDirectory() as logs:
                async with processes(env, Path(logs), workers=2, schedulers=1) as procs:
                    pool = await create_queue(redis_url)
                    for trial in range(trials):
                        await asyncio.sleep(random.uniform(0, INTERVAL_S))  # a random phase of the sync slot
                        # The creator's own message: same sync path, and nothing asks for a model call.
                        msg = ig.add_message(ig.data.conversations[trial].id, "the price list is in my bio",
                                             from_id=ig.data.account_id)
                        sync_s.append(round(await wait_for(lambda m=msg: _stored(sessions, m.id), 60, "sync",
                                                           procs, step=0.05), 2))
                        await _turn_hot(sessions, uid, trial)
                        await enqueue_alerts(pool, uid, datetime.now(UTC))
                        alert_s.append(round(await wait_for(lambda n=trial + 1: _messages(tg, n), 60, "alert",
                                                            procs, step=0.05), 2))
                    await asyncio.sleep(2 * INTERVAL_S)  # would a duplicate alert still arrive?
                    await pool.aclose()
            messages = len(tg.user(CHAT).chat)
            async with sessions() as s:
                transitions = int((await s.execute(select(func.count()).select_from(Alert))).scalar_one())
        finally:
            await engine.dispose()
            keys = [k async for k in redis.scan_iter(match="arq:*")]
            keys += [k async for k in redis.scan_iter(match="leadgram:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
    totals = [round(a + GEMINI_LATENCY_S + b, 2) for a, b in zip(sync_s, alert_s, strict=True)]
    return {
        "bench": "dm_to_alert", "mode": "legs (scoring pipeline not available: the 1 s scoring call is added, "
        "not measured)", "sync_interval_s": INTERVAL_S, "workers": 2, "schedulers": 1, "trials": trials,
        "dm_to_synced_s": sync_s, "hot_to_alert_s": alert_s, "scoring_latency_added_s": GEMINI_LATENCY_S,
        "dm_to_alert_estimate_s": totals, "dm_to_alert_estimate_max_s": max(totals), "target_s": TARGET_S,
        "within_target": max(totals) <= TARGET_S,
        "alerts_per_transition": round(messages / transitions, 3) if transitions else None,
    }


async def _connected_and_current(sessions: async_sessionmaker[AsyncSession], ig: InstagramStandin) -> int:
    """A connected creator whose inbox was synced and scored before (cold): nothing pending at start."""
    async with transaction(sessions) as s:
        user = await repo.ensure_user(s, telegram_id=CHAT, chat_id=CHAT)
        user.onboarding_step, user.quiet_start_hour, user.quiet_end_hour, uid = "done", 0, 0, user.id
        await connect_token(s, user.id, IgAccount(ig.data.account_id, ig.data.username), ig.token,
                            TokenCipher(SECRET))
    async with httpx.AsyncClient() as http:
        await sync_user(sessions, uid, InstagramClient(http, ig.token, base=ig.base_url, version="v21.0"))
    async with transaction(sessions) as s:
        await s.execute(update(Contact).values(scored_at=datetime.now(UTC), lead_score=10, sentiment="cold",
                                               scored_through=Contact.last_message_at))
    return uid


async def _stored(sessions: async_sessionmaker[AsyncSession], igmid: str) -> bool:
    async with sessions() as s:
        n = await s.execute(select(func.count()).where(Message.instagram_message_id == igmid))
        return int(n.scalar_one()) == 1


async def _messages(tg: TelegramStandin, n: int) -> bool:
    return len(tg.user(CHAT).chat) >= n


async def _turn_hot(sessions: async_sessionmaker[AsyncSession], uid: int, trial: int) -> None:
    """What the scoring job writes for "how much is it?": a hot score, and on_scored's alert row."""
    async with transaction(sessions) as s:
        user = await s.get(User, uid)
        rows = await s.execute(select(Contact).where(Contact.user_id == uid).order_by(Contact.last_message_at.desc()))
        contact = rows.scalars().first()
        assert user is not None and contact is not None and not is_hot(contact.lead_score, user.alert_threshold), trial
        previous = contact.lead_score
        contact.sentiment, contact.lead_score = "hot", 92
        contact.score_reason, contact.next_action = "Asked for the price", "Send the price list"
        await alerts.on_scored(s, user, contact, previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    run = bench_full if scoring_available() else bench_legs
    print(json.dumps(asyncio.run(run(args.trials))))


if __name__ == "__main__":
    main()
