"""Scoring throughput bench. Prints ONE JSON object.

Gemini stand-in over real HTTP with 1 s latency per call; 300 contacts x 10 messages on SQLite; 2 arq
workers (in this process, each with its own Redis pool) on real Redis when reachable, else fakeredis.
Ceiling = GEMINI_RPM / 60 contacts per second (the shared limiter's pace). Tokens are the stand-in's
estimate: ceil(chars / 4) of system instruction + user content (there is no offline Gemini tokenizer).
The seed's design (one call after another inside one request) is timed on a sample and scaled per contact.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import tempfile
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from core.clients.gemini import MAX_MESSAGES, GeminiScorer, ScoreInput, Turn
from core.config import load_settings
from core.db import repo
from core.db.engine import make_engine, make_sessionmaker, upgrade
from core.db.models import Contact, Message
from core.queue import create_queue, make_worker, running
from core.ratelimit import RateLimiter
from core.services import scoring
from core.timeutil import utcnow
from standins.gemini import GeminiStandin
from workers.jobs.scoring import FUNCTIONS

CONTACTS = 300
LATENCY_S = 1.0
SEED_SAMPLE = 15
LEAD_LINES = ["hi! love your content", "how much is the 12 week program?", "do you have availability next month",
              "ok", "I tried keto before and it did not work for me, I travel a lot for work and my schedule is "
              "a mess, what would you suggest for someone like me who can only train twice a week? " * 3]


async def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        probe = await create_queue(url, "probe")
        await probe.ping()
        await probe.aclose()
        return url
    except Exception:  # noqa: BLE001 - no Redis: the in-process queue
        return None


async def seed(sessions: Any) -> int:
    now = utcnow()
    async with sessions() as session, session.begin():
        user = await repo.ensure_user(session, 0)
        user.niche, user.goal = "fitness coaching", "sell a 12 week online program"
        for i in range(CONTACTS):
            c = Contact(user_id=user.id, instagram_id=f"ig{i}", name=f"Lead {i}", tags=[], message_count=10,
                        last_message_at=now - timedelta(minutes=i), hot_episode=0)
            session.add(c)
            await session.flush()
            session.add_all([Message(
                user_id=user.id, contact_id=c.id, instagram_message_id=f"m{i}:{k}", from_creator=k % 2 == 1,
                text="Thanks for reaching out! Happy to help." if k % 2 else LEAD_LINES[(i + k) % len(LEAD_LINES)],
                created_at=now - timedelta(minutes=i, seconds=60 - k)) for k in range(10)])
        return user.id


async def pipelined(sessions: Any, redis_url: str | None, gem: GeminiStandin, user_id: int, rpm: int,
                    scope: str) -> dict[str, Any]:
    name = f"bench:{uuid.uuid4().hex[:8]}"
    settings = load_settings(gemini_api_key="bench", gemini_base_url=gem.base_url, gemini_rpm=rpm)
    pools = [await create_queue(redis_url, name) for _ in range(2)]
    # Each worker runs enough jobs to keep RPM/60 calls per second in flight at the stand-in's latency, no
    # more: extra jobs would only queue on the limiter and push a retried contact further back.
    per_worker = max(4, math.ceil(rpm / 60 * LATENCY_S * 0.8))
    workers = [make_worker(pool, FUNCTIONS, max_jobs=per_worker, ctx={
        "sessions": sessions, "scorer": GeminiScorer(settings), "alerts_after_scoring": False,
        "limiter": RateLimiter(pool, f"{name}:rl", rpm)}) for pool in pools]
    calls_before = len(gem.requests)
    async with running(workers[0]), running(workers[1]):
        t0 = time.perf_counter()
        started = await scoring.start_run(sessions, pools[0], user_id, scope=scope)
        while True:
            async with sessions() as session:
                run = await scoring.get_run(session, user_id, started.id)
            assert run is not None
            if run.status == "done":
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - t0
    for pool in pools:
        await pool.aclose()
    ceiling = rpm / 60
    return {"rpm": rpm, "contacts": run.total, "scored": run.done, "failed": run.failed,
            "lost": run.total - run.done - run.failed - run.skipped, "seconds": round(elapsed, 2),
            "per_second": round(run.done / elapsed, 2), "share_of_ceiling": round(run.done / elapsed / ceiling, 3),
            "model_calls": len(gem.requests) - calls_before, "tokens_in": run.tokens_in,
            "max_jobs_per_worker": per_worker}


async def seed_design(sessions: Any, gem: GeminiStandin, user_id: int) -> float:
    """The prototype: for each contact, await one Gemini call, write it, next (all in one request)."""
    settings = load_settings(gemini_api_key="bench", gemini_base_url=gem.base_url)
    scorer = GeminiScorer(settings)
    t0 = time.perf_counter()
    for contact_id in range(1, SEED_SAMPLE + 1):
        async with sessions() as session, session.begin():
            msgs = await repo.contact_messages(session, user_id, contact_id, MAX_MESSAGES)
            data = ScoreInput("fitness coaching", "sell a 12 week online program",
                              [Turn(m.from_creator, m.text, m.created_at, m.attachment_kind) for m in reversed(msgs)])
            result = await scorer.score(data)
            await session.execute(update(Contact).where(Contact.id == contact_id).values(lead_score=result.score))
    return (time.perf_counter() - t0) / SEED_SAMPLE


async def main() -> None:
    redis_url = await _redis_url()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        user_id = await seed(sessions)
        async with GeminiStandin(latency_s=LATENCY_S) as gem:
            clean = await pipelined(sessions, redis_url, gem, user_id, 600, "unscored")
            tokens = clean["tokens_in"] / max(1, clean["scored"])
            gem.rate_429 = 0.10
            faults = await pipelined(sessions, redis_url, gem, user_id, 600, "all")
            gem.rate_429 = 0.0
            fast = await pipelined(sessions, redis_url, gem, user_id, 1200, "all")
            per_contact = await seed_design(sessions, gem, user_id)
        await engine.dispose()
    seed_s = per_contact * CONTACTS
    print(json.dumps({
        "stand_in_latency_s": LATENCY_S, "workers": 2, "queue": "redis" if redis_url else "fakeredis",
        "database": "sqlite",
        "throughput_rpm600": clean, "throughput_rpm600_10pct_429": faults,
        "speedup_vs_seed": {
            "rpm": 1200, "note": "RPM caps the speedup at RPM/60 calls per second; measured at GEMINI_RPM=1200",
            "seed_seconds_per_contact": round(per_contact, 3), "seed_sample": SEED_SAMPLE,
            "seed_seconds_300_estimated": round(seed_s, 1), "pipelined_seconds_300": fast["seconds"],
            "speedup": round(seed_s / fast["seconds"], 1), "pipelined": fast},
        "speedup_vs_seed_at_rpm600": round(seed_s / clean["seconds"], 1),
        "input_tokens_per_contact_10_messages": round(tokens, 1),
        "token_count_method": "stand-in estimate ceil(chars/4) of system instruction + user content",
    }))


if __name__ == "__main__":
    asyncio.run(main())
