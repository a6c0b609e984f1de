"""Fairness between creators (issue 15.5). Prints ONE JSON object.

Creator A starts a bulk run over 5,000 leads (scope "all"); creator B gets a hot DM, which a sync turns into an
alert-path run (scope "ids") of that one lead. Measured: seconds from B's run start to B's hot-lead alert row
(the hot transition that delivery sends), with A idle (median of the trials) and while A's run is flowing (the
worst trial; each trial checks A was still running). Target: busy <= 2x idle. 2 arq workers in this process on
real Redis (LEADGRAM_TEST_REDIS / REDIS_URL), SQLite, the Gemini stand-in with --latency-s per call, one shared
GEMINI_RPM (--rpm).

    .venv/bin/python bench/fairness.py [--leads 5000] [--rpm 600] [--latency-s 0.5] [--trials 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from core.clients.gemini import GeminiScorer
from core.config import load_settings
from core.db import repo
from core.db.engine import make_engine, make_sessionmaker, upgrade
from core.db.models import Alert, Contact, Message
from core.queue import create_queue, make_worker, running
from core.ratelimit import RateLimiter
from core.services import scoring
from core.timeutil import utcnow
from standins.gemini import GeminiStandin
from workers.jobs.scoring import FUNCTIONS


async def _creator(sessions: Any, telegram_id: int, n: int, text: str) -> tuple[int, list[int]]:
    now = utcnow()
    async with sessions() as session, session.begin():
        user = await repo.ensure_user(session, telegram_id)
        user.niche, user.goal = "fitness coaching", "sell 1:1 programs"
        user_id = user.id
    rows = [{"user_id": user_id, "instagram_id": f"{telegram_id}:{i}", "name": f"Lead {i}", "tags": [],
             "message_count": 1, "last_message": text, "last_message_at": now - timedelta(minutes=i),
             "hot_episode": 0} for i in range(n)]
    async with sessions() as session, session.begin():
        await session.execute(insert(Contact), rows)
        ids = list((await session.execute(select(Contact.id).where(Contact.user_id == user_id)
                                          .order_by(Contact.id))).scalars())
        await session.execute(insert(Message), [
            {"user_id": user_id, "contact_id": cid, "instagram_message_id": f"{telegram_id}:m{cid}",
             "from_creator": False, "text": text, "created_at": now} for cid in ids])
    return user_id, ids


@contextlib.asynccontextmanager
async def _workers(sessions: Any, redis_url: str, gem: GeminiStandin, rpm: int) -> AsyncIterator[Any]:
    name = f"bench:{uuid.uuid4().hex[:8]}"
    scorer = GeminiScorer(load_settings(gemini_api_key="bench", gemini_base_url=gem.base_url, gemini_rpm=rpm))
    pools = [await create_queue(redis_url, name) for _ in range(2)]
    workers = [make_worker(pool, FUNCTIONS, max_jobs=20, ctx={
        "sessions": sessions, "scorer": scorer, "alerts_after_scoring": False,
        "limiter": RateLimiter(pool, f"{name}:ratelimit:gemini", rpm)}) for pool in pools]
    async with running(workers[0]), running(workers[1]):
        yield pools[0]
    for pool in pools:
        await pool.aclose()


async def _alert_time(sessions: Any, queue: Any, b_id: int, b_contact: int) -> float:
    """B's new DM: the alert-path run a sync starts, timed to B's hot-lead alert row."""
    async with sessions() as session, session.begin():  # a new lead message since B's last score
        await session.execute(update(Contact).where(Contact.id == b_contact).values(
            scored_through=None, last_message_at=utcnow()))
        before = (await session.execute(select(func.count()).select_from(Alert).where(
            Alert.user_id == b_id))).scalar_one()
    t0 = time.monotonic()
    await scoring.start_run(sessions, queue, b_id, scope="ids", contact_ids=[b_contact])
    async with asyncio.timeout(600):
        while True:
            async with sessions() as session:
                count = (await session.execute(select(func.count()).select_from(Alert).where(
                    Alert.user_id == b_id))).scalar_one()
            if count > before:
                return time.monotonic() - t0
            await asyncio.sleep(0.05)


async def _reset_b(sessions: Any, b_id: int, b_contact: int) -> None:
    async with sessions() as session, session.begin():  # B's lead cools down so the next DM is a new transition
        await session.execute(update(Contact).where(Contact.id == b_contact).values(lead_score=10))
        await session.execute(delete(Alert).where(Alert.user_id == b_id))


async def main(args: argparse.Namespace) -> dict[str, Any]:
    redis_url = os.environ.get("LEADGRAM_TEST_REDIS") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade(db_url)
        engine = make_engine(db_url)
        sessions = make_sessionmaker(engine)
        a_id, _ = await _creator(sessions, 601, args.leads, "tell me more about your coaching")
        b_id, (b_contact,) = await _creator(sessions, 602, 1, "how much is the program? I want to start now")
        idle: list[float] = []
        busy: list[float] = []
        async with GeminiStandin(latency_s=args.latency_s) as gem, _workers(sessions, redis_url, gem, args.rpm) as q:
            for _ in range(args.trials):
                idle.append(await _alert_time(sessions, q, b_id, b_contact))
                await _reset_b(sessions, b_id, b_contact)
            started = time.monotonic()
            bulk = await scoring.start_run(sessions, q, a_id, scope="all")
            await asyncio.sleep(args.warmup_s)  # A's run flowing: its items have booked the shared pace
            a_running: list[bool] = []
            for _ in range(args.trials):
                busy.append(await _alert_time(sessions, q, b_id, b_contact))
                await _reset_b(sessions, b_id, b_contact)
                async with sessions() as session:
                    run = await scoring.get_run(session, a_id, bulk.id)
                a_running.append(run is not None and run.status == "running")  # A was still busy all along
            a_done = run.done if run else 0
            a_rate = a_done / (time.monotonic() - started)
        await engine.dispose()
    idle_s, busy_s = statistics.median(idle), max(busy)
    return {"a_leads": args.leads, "gemini_rpm": args.rpm, "latency_s": args.latency_s, "trials": args.trials,
            "b_alert_idle_s": [round(x, 2) for x in idle], "b_alert_busy_s": [round(x, 2) for x in busy],
            "a_still_running_after_each": a_running, "idle_median_s": round(idle_s, 2),
            "busy_worst_s": round(busy_s, 2), "ratio": round(busy_s / idle_s, 2), "a_done_meanwhile": a_done,
            "a_scored_per_s": round(a_rate, 2), "pace_per_s": round(args.rpm / 60, 2),
            "target_ratio": 2.0, "ok": busy_s <= 2 * idle_s and all(a_running)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--latency-s", type=float, default=0.5)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--warmup-s", type=float, default=10.0)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
