"""A worker killed with kill -9 mid-run (issue 15.2). Prints ONE JSON object.

The issue's scenario on real processes: 2 `leadgram worker` processes on real Redis, N leads (default 100) at
GEMINI_RPM (default 120, about 50 s of work) against the Gemini stand-in; one worker is killed with SIGKILL at
--kill-at seconds (12) and a fresh worker starts --restart-after seconds later (5). The clock starts when
the first lead is scored (both workers up). `after_new_worker_s`: from the new worker's start to the last lead
scored (target: within 60 s of a healthy worker being available); `no_kill` is the same run undisturbed, so
`kill_cost_s` is what the kill costs; model calls vs leads shows how many calls were repeated.
SQLite file database; Redis at LEADGRAM_TEST_REDIS / REDIS_URL.

    .venv/bin/python bench/killed_worker.py [--leads 100] [--rpm 120] [--kill-at 12] [--restart-after 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from core.db import repo
from core.db.engine import make_engine, make_sessionmaker, upgrade
from core.db.models import Contact, Message, ScoringItem
from core.queue import JOB_LEASE_S, create_queue
from core.services import scoring
from core.timeutil import utcnow
from standins.gemini import GeminiStandin


async def seed(sessions: Any, n: int) -> int:
    texts = ["how much is the program?", "tell me more about the coaching", "ok"]
    now = utcnow()
    async with sessions() as session, session.begin():
        user = await repo.ensure_user(session, 0)
        user.niche, user.goal = "fitness coaching", "sell 1:1 programs"
        for i in range(n):
            c = Contact(user_id=user.id, instagram_id=f"ig{i}", name=f"Lead {i}", tags=[], message_count=2,
                        last_message=texts[i % 3], last_message_at=now - timedelta(minutes=i), hot_episode=0)
            session.add(c)
            await session.flush()
            session.add_all([
                Message(user_id=user.id, contact_id=c.id, instagram_message_id=f"m{i}a", from_creator=True,
                        text="Hey! Thanks for following", created_at=now - timedelta(minutes=i, seconds=30)),
                Message(user_id=user.id, contact_id=c.id, instagram_message_id=f"m{i}b", from_creator=False,
                        text=texts[i % 3], created_at=now - timedelta(minutes=i))])
        return user.id


def _worker(db_url: str, redis_url: str, queue: str, gem: GeminiStandin, rpm: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "GEMINI_API_KEY": "bench",
           "GEMINI_BASE_URL": gem.base_url, "GEMINI_RPM": str(rpm), "LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "leadgram", "worker", "--queue", queue], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _settled(sessions: Any, run_id: int) -> int:
    async with sessions() as session:
        return int((await session.execute(select(func.count()).where(
            ScoringItem.run_id == run_id, ScoringItem.status != "pending"))).scalar_one())


async def _wait_for(sessions: Any, run_id: int, count: int, limit: float) -> None:
    async with asyncio.timeout(limit):
        while True:
            if await _settled(sessions, run_id) >= count:
                return
            await asyncio.sleep(0.1)


async def one_run(args: argparse.Namespace, redis_url: str, kill: bool) -> dict[str, Any]:
    """One run on fresh data; the clock starts at the first scored lead (both workers up and working)."""
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade(db_url)
        engine = make_engine(db_url)
        sessions = make_sessionmaker(engine)
        user_id = await seed(sessions, args.leads)
        name = f"bench:{uuid.uuid4().hex[:8]}"
        queue = await create_queue(redis_url, name)
        procs: list[subprocess.Popen[bytes]] = []
        out: dict[str, Any] = {}
        async with GeminiStandin(latency_s=0.3) as gem:
            try:
                procs += [_worker(db_url, redis_url, name, gem, args.rpm) for _ in range(2)]
                started = await scoring.start_run(sessions, queue, user_id)
                await _wait_for(sessions, started.id, 1, args.limit)
                t0 = time.monotonic()
                t_new = t0
                if kill:
                    await asyncio.sleep(args.kill_at)
                    procs[0].send_signal(signal.SIGKILL)
                    procs[0].wait()
                    out["settled_at_kill"] = await _settled(sessions, started.id)
                    await asyncio.sleep(args.restart_after)
                    procs.append(_worker(db_url, redis_url, name, gem, args.rpm))
                    t_new = time.monotonic()
                await _wait_for(sessions, started.id, args.leads, args.limit)
                t_end = time.monotonic()
                async with sessions() as session:
                    run = await scoring.get_run(session, user_id, started.id)
            finally:
                for proc in procs:
                    if proc.poll() is None:
                        proc.terminate()
                        proc.wait()
                await queue.aclose()
                await engine.dispose()
        assert run is not None
        out.update(done=run.done, failed=run.failed, model_calls=len(gem.requests), total_s=round(t_end - t0, 1))
        if kill:
            out["after_new_worker_s"] = round(t_end - t_new, 1)
        return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    redis_url = os.environ.get("LEADGRAM_TEST_REDIS") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    killed = await one_run(args, redis_url, kill=True)
    baseline = await one_run(args, redis_url, kill=False)
    return {"leads": args.leads, "gemini_rpm": args.rpm, "work_s_at_rpm": round(args.leads * 60 / args.rpm, 1),
            "kill_at_s": args.kill_at, "restart_after_s": args.restart_after, "job_lease_s": JOB_LEASE_S,
            "killed": killed, "no_kill": baseline,
            "kill_cost_s": round(killed["total_s"] - baseline["total_s"], 1),
            "target_after_new_worker_s": 60,
            "ok": killed["done"] == args.leads and killed["after_new_worker_s"] <= 60}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100)
    parser.add_argument("--rpm", type=int, default=120)
    parser.add_argument("--kill-at", type=float, default=12.0)
    parser.add_argument("--restart-after", type=float, default=5.0)
    parser.add_argument("--limit", type=float, default=900.0)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
