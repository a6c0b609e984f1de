"""Replying from Telegram, measured through both stand-ins (the real bot, the Telegram stand-in, the Instagram
stand-in's Send API, PostgreSQL and Redis). Prints one JSON object.

1. Latency, one creator, sequential presses: `press_to_graph_ms` = the Send press pushed to Telegram -> the Send
   API request arriving at Instagram; `graph_to_edit_ms` = Instagram's answer -> the draft's message edited to
   "Sent" in Telegram. Both are Leadgram's own share (the stand-ins answer at once); target p95 <= 50 ms each.
2. Burst: `--creators` creators x `--per-creator` drafts, every Send pressed at once (plus a second press of each
   draft: a double press). Every message must reach Instagram exactly once, and no account may exceed
   IG_SEND_PER_SECOND (`--rate`; the stand-in enforces the same rate with code 613, so a refusal would show).

    .venv/bin/python bench/reply.py [--samples 60] [--creators 20] [--per-creator 10] [--rate 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _shared import pct, pg_database, summary

from bot import screens  # noqa: E402
from bot.app import polling  # noqa: E402
from core.clients.instagram import IgAccount  # noqa: E402
from core.clients.source import graph_client  # noqa: E402
from core.config import load_settings  # noqa: E402
from core.crypto import TokenCipher  # noqa: E402
from core.db import repo  # noqa: E402
from core.db.engine import make_engine, make_sessionmaker, transaction, upgrade  # noqa: E402
from core.db.models import Reply, User  # noqa: E402
from core.services import reply as replies  # noqa: E402
from core.services.connect import connect_token  # noqa: E402
from core.services.sync import sync_user  # noqa: E402
from leadgram.wiring import runtime  # noqa: E402
from standins.instagram import Dataset, InstagramStandin, SConversation, SMessage  # noqa: E402
from standins.telegram import TelegramStandin  # noqa: E402

REDIS_URL = os.environ.get("LEADGRAM_TEST_REDIS", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
SECRET = "bench-secret-key-bench-secret-key"


def account(n: int, leads: int, now: datetime) -> Dataset:
    acc = f"178414{n:011d}"
    ds = Dataset(account_id=acc, username=f"bench.creator{n}")
    me = {"id": acc, "username": ds.username}
    for i in range(leads):
        lead = {"id": f"69{n:05d}{i:06d}", "username": f"lead_{n}_{i}"}
        when = now - timedelta(minutes=i + 1)
        ds.conversations.append(SConversation(id=f"c{n}_{i}", participants=[me, lead], updated=when, messages=[
            SMessage(id=f"m{n}_{i}", from_id=lead["id"], text="how much is it?", created=when)]))
    return ds


@contextlib.asynccontextmanager
async def world(url: str, ig: InstagramStandin, rate: int) -> AsyncIterator[tuple[TelegramStandin, Any]]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    queue = f"lgbench:{uuid.uuid4().hex[:10]}"
    try:
        async with TelegramStandin() as tg:
            settings = load_settings(database_url=url, redis_url=REDIS_URL, telegram_bot_token=tg.token,
                                     telegram_api_base=tg.base_url, ig_api_base=ig.base_url, secret_key=SECRET,
                                     ig_send_per_second=rate)
            async with runtime(settings, scheduler=False, queue_name=queue, sessions=sessions) as app:
                async with polling(app):
                    yield tg, app
                keys = [k async for k in app.deps.queue.scan_iter(match=f"*{queue}*")]
                if keys:
                    await app.deps.queue.delete(*keys)
    finally:
        await engine.dispose()


async def creator(app: Any, ig: InstagramStandin, telegram_id: int, token: str) -> int:
    """A connected creator with a synced inbox (set up through core: not what is measured)."""
    sessions, http = app.deps.sessions, app.deps.http
    acc = await graph_client(http, token, app.deps.settings).account()
    async with transaction(sessions) as session:
        user = await repo.ensure_user(session, telegram_id, telegram_id)
        user.onboarding_step, user.niche, user.goal = "done", "fitness coach", "sell coaching"
        await connect_token(session, user.id, IgAccount(acc.user_id, acc.username), token, TokenCipher(SECRET))
        user_id = user.id
    async with contextlib.AsyncExitStack():
        client = graph_client(http, token, app.deps.settings)
        await sync_user(sessions, user_id, client)
    return user_id


async def show_drafts(app: Any, telegram_id: int, user_id: int, count: int, tag: str) -> list[tuple[int, int, str]]:
    """`count` drafts to different leads, each shown with its [Send] button -> (reply id, message id, text)."""
    out = []
    async with app.deps.sessions() as session:
        user = await session.get(User, user_id)
        contacts = (await repo.list_contacts(session, user_id, 1, repo.ContactQuery())).contacts
        for n in range(count):
            contact = contacts[n % len(contacts)]
            text = f"Hi! {tag} reply {n} to {contact.username}"
            draft = await replies.create_draft(session, user, contact, text)
            assert isinstance(draft, Reply)
            screen = screens.draft(draft, contact, human_agent=False, now=datetime.now(UTC))
            shown = await app.bot.send_message(telegram_id, screen.text, reply_markup=screen.markup)
            await replies.attach_message(session, user_id, draft.id, telegram_id, shown.message_id)
            out.append((draft.id, shown.message_id, text))
    return out


async def latency(url: str, samples: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with InstagramStandin(account(0, 10, now)) as ig, world(url, ig, 100) as (tg, app):
        user_id = await creator(app, ig, 5000, ig.token)
        sim = tg.user(5000, "Bench")
        to_graph, to_edit = [], []
        for n in range(samples + 3):  # the first presses warm the path
            ((_, mid, text),) = await show_drafts(app, 5000, user_id, 1, f"lat{n}")
            before = len(ig.sent)
            pressed = time.monotonic()
            await sim.press(mid, "📤 Send")
            await sim.wait_for(lambda: "Sent to" in sim.message(mid).text, 10)  # noqa: B023
            edited = time.monotonic()
            sent = ig.sent[before]
            assert sent.text == text
            if n >= 3:
                to_graph.append((sent.arrived - pressed) * 1000)
                to_edit.append((edited - sent.at) * 1000)
        await tg.wait_idle()
        assert tg.errors == [], [e.description for e in tg.errors]
    total = [a + b for a, b in zip(to_graph, to_edit, strict=True)]
    return {"samples": samples, "press_to_graph": summary(to_graph), "graph_to_edit": summary(to_edit),
            "leadgram_total": summary(total),
            "ok": pct(to_graph, 0.95) <= 50 and pct(to_edit, 0.95) <= 50}


async def burst(url: str, creators: int, per_creator: int, rate: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with InstagramStandin(account(0, per_creator, now)) as ig, world(url, ig, rate) as (tg, app):
        ig.send_rate_per_s = rate
        tokens = {n: (ig.token if n == 0 else f"IGAAbench-{n}") for n in range(creators)}
        for n in range(1, creators):
            ig.add_account(account(n, per_creator, now), tokens[n])
        shown: list[tuple[Any, int, str]] = []
        for n in range(creators):
            user_id = await creator(app, ig, 6000 + n, tokens[n])
            sim = tg.user(6000 + n, f"Creator {n}")
            shown += [(sim, mid, text) for _, mid, text in await show_drafts(app, 6000 + n, user_id, per_creator,
                                                                              f"c{n}")]
        started = time.monotonic()
        for sim, mid, _ in shown:  # every Send at once, and each pressed twice (a double press)
            await sim.press(mid, "📤 Send")
            await sim.press(mid, "📤 Send")
        for sim, mid, _ in shown:  # sent, or a failure said on the draft (a 613 costs a minute)
            await sim.wait_for(lambda s=sim, m=mid: "Sent to" in s.message(m).text or "❌" in s.message(m).text, 300)
        elapsed = time.monotonic() - started
        await tg.wait_idle()
        async with app.deps.sessions() as session:
            rows = (await session.execute(select(Reply.status, Reply.error))).all()
        outcomes = dict(Counter(f"{status}:{error}" if error else status for status, error in rows))
        texts = [s.text for s in ig.sent]
        per_account: dict[str, list[float]] = {}
        for s in ig.sent:
            per_account.setdefault(s.account_id, []).append(s.arrived)
        worst = max(max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
                    for times in per_account.values())
        errors = [e.description for e in tg.errors]
    expected = sorted(text for _, _, text in shown)
    return {"creators": creators, "sends": len(shown), "presses": 2 * len(shown), "delivered": len(texts),
            "exactly_once": sorted(texts) == expected, "duplicates": len(texts) - len(set(texts)),
            "rate_per_account_per_s": rate, "max_sends_in_any_1s_per_account": worst,
            "rate_respected": worst <= rate and ig.rate_refusals == 0, "graph_613_refusals": ig.rate_refusals,
            "send_attempts": ig.send_attempts, "outcomes": outcomes, "elapsed_s": round(elapsed, 2),
            "telegram_errors": errors}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with pg_database("lg_bench_reply") as url:
        await upgrade(url)
        out: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(), "database": "postgresql"}
        out["latency"] = await latency(url, args.samples)
        out["burst"] = await burst(url, args.creators, args.per_creator, args.rate)
        return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--creators", type=int, default=20)
    parser.add_argument("--per-creator", type=int, default=10)
    parser.add_argument("--rate", type=int, default=5, help="IG_SEND_PER_SECOND for the burst (and the stand-in)")
    print(json.dumps(asyncio.run(main(parser.parse_args())), ensure_ascii=False))
