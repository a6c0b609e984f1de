"""Reminders bench: the scheduler's "who has a reminder due" query (every 30 s), a creator's claim and the
/reminders page, at 100k reminders on SQLite and PostgreSQL. Prints ONE JSON object.

Rows: --creators creators (one lead each), --reminders reminders spread over them; 70 % already closed (done or
cancelled), the rest pending and due within 7 days (the last minute's not yet claimed); every 50th creator
blocked the bot, and theirs wait overdue for up to 3 days (skipped by the query, never claimed). `due_users` is
core.services.reminders.due_users (a fresh session per sample); `plan` is the database's own plan for it.
`claim` is claim_due for one creator (its due reminders, one conditional UPDATE each); `page` is reminders_page.
Read timings against cpu_reference_ms (a fixed pure-Python loop; ~55 ms on an idle 2-vCPU box).

    .venv/bin/python bench/reminders.py [--reminders 100000] [--creators 1000] [--repeats 30] [--no-pg]
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
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.engine import make_engine, make_sessionmaker, transaction, upgrade
from core.db.models import Contact, Reminder, User
from core.services import reminders
from core.timeutil import utcnow

CHUNK = 5000
TARGET_P95_MS = 50.0  # the scheduler's pass every 30 s: on no tap's path, but it must stay cheap


async def seed(sessions: async_sessionmaker[AsyncSession], n: int, creators: int) -> list[tuple[int, int]]:
    now = utcnow()
    async with transaction(sessions) as session:
        await session.execute(insert(User.__table__), [  # type: ignore[arg-type]
            {"telegram_id": 900_000 + i, "chat_id": 900_000 + i, "onboarding_step": "done", "timezone": "UTC",
             "quiet_start_hour": 0, "quiet_end_hour": 0, "alerts_enabled": True, "alert_threshold": 80,
             "ig_reconnect_notified": False, "created_at": now, "updated_at": now} for i in range(creators)])
        users = list((await session.execute(select(User.id).order_by(User.id))).scalars())
        await session.execute(insert(Contact.__table__), [  # type: ignore[arg-type]
            {"user_id": uid, "instagram_id": f"ig{uid}", "name": f"Lead {uid}", "tags": [], "created_at": now,
             "updated_at": now} for uid in users])
        pairs = [(uid, cid) for uid, cid in (await session.execute(select(Contact.user_id, Contact.id))).all()]
    rng = random.Random(7)
    blocked = set(users[::50])
    async with transaction(sessions) as session:
        await session.execute(update(User).where(User.id.in_(blocked)).values(bot_blocked_at=now))
    rows = []
    for i in range(n):
        uid, cid = pairs[i % len(pairs)]
        status = "pending" if rng.random() < 0.3 else rng.choice(["done", "cancelled"])
        # Steady state: pending ones are due within the next 7 days (the last minute's not claimed yet), except a
        # blocked creator's (every 50th creator), which wait overdue for up to 3 days.
        early = -3 * 86400 if uid in blocked else -60
        rows.append({"user_id": uid, "contact_id": cid, "status": status, "snoozes": 0, "created_at": now,
                     "due_at": now + timedelta(seconds=rng.randint(early, 7 * 86400))})
    for start in range(0, n, CHUNK):
        async with transaction(sessions) as session:
            await session.execute(insert(Reminder.__table__), rows[start:start + CHUNK])  # type: ignore[arg-type]
    return pairs


async def plan(sessions: async_sessionmaker[AsyncSession], dialect: str) -> str:
    stmt = reminders.due_users_query(utcnow())
    async with sessions() as session:
        compiled = stmt.compile(session.bind, compile_kwargs={"literal_binds": True})  # type: ignore[arg-type]
        prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        result = await session.execute(text(prefix + str(compiled)))
        return " | ".join(str(row[-1]) for row in result.all())


async def run_dialect(url: str, n: int, creators: int, repeats: int) -> dict[str, Any]:
    await upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        pairs = await seed(sessions, n, creators)
        dialect = engine.dialect.name
        if dialect == "postgresql":
            conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
            await conn.execute("VACUUM ANALYZE")
            await conn.close()
        rng = random.Random(11)
        due_ms: list[float] = []
        due_counts: list[int] = []
        for _ in range(repeats):  # the scheduler's passes, within the next minute
            at = utcnow() + timedelta(seconds=rng.randint(0, 60))
            t0 = time.perf_counter()
            due = await reminders.due_users(sessions, at)
            due_ms.append((time.perf_counter() - t0) * 1000)
            due_counts.append(len(due))
        page_ms: list[float] = []
        for uid, _ in rng.sample(pairs, min(repeats, len(pairs))):
            t0 = time.perf_counter()
            async with sessions() as session:
                user = await session.get(User, uid)
                assert user is not None
                await reminders.reminders_page(session, user, utcnow())
            page_ms.append((time.perf_counter() - t0) * 1000)
        now = utcnow()
        claim_ms: list[float] = []
        claimed = 0
        for uid in (await reminders.due_users(sessions, now))[:repeats]:
            t0 = time.perf_counter()
            claimed += len((await reminders.claim_due(sessions, uid, now)).items)
            claim_ms.append((time.perf_counter() - t0) * 1000)
        return {"due_users": summary(due_ms), "creators_due_per_pass_median": statistics.median(due_counts),
                "page": summary(page_ms), "claim_per_creator": summary(claim_ms) if claim_ms else None,
                "claimed": claimed, "plan": await plan(sessions, dialect)}
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"reminders": args.reminders, "creators": args.creators, "repeats": args.repeats,
                           "claim_batch": reminders.CLAIM_BATCH, "cpu_reference_ms": cpu_reference_ms()}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = await run_dialect(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args.reminders,
                                          args.creators, args.repeats)
    if not args.no_pg:
        async with pg_database() as url:
            out["postgresql"] = await run_dialect(url, args.reminders, args.creators, args.repeats)
    out["cpu_reference_ms_end"] = cpu_reference_ms()
    out["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    out["target_p95_ms"] = TARGET_P95_MS
    out["ok"] = all(out[d]["due_users"]["p95_ms"] <= TARGET_P95_MS for d in ("sqlite", "postgresql") if d in out)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--creators", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    print(json.dumps(asyncio.run(main(parser.parse_args())), ensure_ascii=False))
    sys.exit(0)
