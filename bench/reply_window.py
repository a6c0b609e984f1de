"""Reply-window scan bench: the due-leads query and the claim at 100k contacts (one creator: the worst case for
the per-creator query), on SQLite and PostgreSQL. Prints ONE JSON object.

Contacts get realistic values: scores/sentiments as bench/bot.py, 30 % answered by the creator, the lead's last
message spread over the last 7 days (so a 4 h slot of the 24 h window holds ~2 % of them). `due_query` is
core.services.reply_window.due_query (LIMIT 50, the soonest closing first) in a fresh session per sample, at
random scan times; `plan` is the database's own plan for it (the ix_contacts_user_lead_message range).
`claim` times the conditional UPDATE that makes a push exactly-once, one transaction per lead.
Read timings against cpu_reference_ms (a fixed pure-Python loop; ~55 ms on an idle 2-vCPU box).

    .venv/bin/python bench/reply_window.py [--contacts 100000] [--repeats 30] [--no-pg]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from _shared import cpu_reference_ms, pg_database, summary
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import repo
from core.db.engine import make_engine, make_sessionmaker, transaction, upgrade
from core.db.models import Contact, User
from core.services import reply_window
from core.timeutil import utcnow

CHUNK = 5000
SENTIMENTS = ["hot", "cold", "ghosted", "unsure"]
TARGET_P95_MS = 50.0  # a background scan every 5 min per creator: not on any tap's path


def rows(user_id: int, n: int, rng: random.Random) -> list[dict[str, Any]]:
    now = utcnow()
    out = []
    for i in range(n):
        score = min(100, max(0, int(rng.gauss(50, 25)))) if rng.random() < 0.75 else None
        sentiment = None if score is None else ("hot" if score >= 80 and rng.random() < 0.7
                                                else rng.choice(SENTIMENTS))
        lead_at = now - timedelta(seconds=rng.randint(0, 7 * 86400))
        answered = rng.random() < 0.3
        out.append({"user_id": user_id, "instagram_id": f"ig{i:07d}", "name": f"Lead {i}", "username": f"user_{i}",
                    "tags": [], "sentiment": sentiment, "lead_score": score, "last_message": "how much?",
                    "last_message_at": lead_at + (timedelta(minutes=5) if answered else timedelta(0)),
                    "last_message_from_creator": answered, "last_lead_message_at": lead_at,
                    "created_at": lead_at, "updated_at": now, "stage": rng.choice(["new", "talking", "won"])})
    return out


async def seed(sessions: async_sessionmaker[AsyncSession], n: int) -> User:
    async with transaction(sessions) as session:
        user = await repo.ensure_user(session, 778000, chat_id=778000)
        user.ig_source, user.quiet_start_hour, user.quiet_end_hour = "demo", 0, 0
    data = rows(user.id, n, random.Random(7))
    for start in range(0, n, CHUNK):
        async with transaction(sessions) as session:
            await session.execute(insert(Contact.__table__), data[start:start + CHUNK])  # type: ignore[arg-type]
    return user


async def plan(sessions: async_sessionmaker[AsyncSession], user: User, dialect: str) -> str:
    stmt = reply_window.due_query(user, utcnow())
    async with sessions() as session:
        compiled = stmt.compile(session.bind, compile_kwargs={"literal_binds": True})  # type: ignore[arg-type]
        prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        result = await session.execute(text(prefix + str(compiled)))
        return " | ".join(str(row[-1]) for row in result.all())


async def run_dialect(url: str, contacts: int, repeats: int) -> dict[str, Any]:
    await upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        user = await seed(sessions, contacts)
        dialect = engine.dialect.name
        if dialect == "postgresql":
            conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
            await conn.execute("VACUUM ANALYZE")
            await conn.close()
        rng = random.Random(11)
        query_ms: list[float] = []
        due_counts: list[int] = []
        for _ in range(repeats):
            at = utcnow() + timedelta(seconds=rng.randint(0, 86400))
            t0 = time.perf_counter()
            async with sessions() as session:
                due = list((await session.execute(reply_window.due_query(user, at))).scalars())
            query_ms.append((time.perf_counter() - t0) * 1000)
            due_counts.append(len(due))
        async with sessions() as session:
            due = list((await session.execute(reply_window.due_query(user, utcnow()))).scalars())
        claim_ms: list[float] = []
        for contact in due:
            t0 = time.perf_counter()
            assert await reply_window._claim(sessions, contact)
            claim_ms.append((time.perf_counter() - t0) * 1000)
        return {"due_query": summary(query_ms), "due_per_scan_median": statistics.median(due_counts),
                "claim": summary(claim_ms) if claim_ms else None, "plan": await plan(sessions, user, dialect)}
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"contacts": args.contacts, "repeats": args.repeats, "batch": reply_window.BATCH,
                           "cpu_reference_ms": cpu_reference_ms()}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = await run_dialect(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args.contacts,
                                          args.repeats)
    if not args.no_pg:
        async with pg_database() as url:
            out["postgresql"] = await run_dialect(url, args.contacts, args.repeats)
    out["cpu_reference_ms_end"] = cpu_reference_ms()
    out["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    out["target_p95_ms"] = TARGET_P95_MS
    out["ok"] = all(out[d]["due_query"]["p95_ms"] <= TARGET_P95_MS for d in ("sqlite", "postgresql") if d in out)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    print(json.dumps(asyncio.run(main(parser.parse_args())), ensure_ascii=False))
    sys.exit(0)
