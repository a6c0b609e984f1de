"""Sync bench: bulk ON CONFLICT sync vs. the seed's select-then-insert loop, on SQLite and PostgreSQL.

Prints ONE JSON object. The conversations come from the Instagram stand-in through the real InstagramClient,
fetched once; both designs then write the same pages in the same process, so the timing compares the
database work only (the HTTP fetch is reported separately). Also: Graph calls for a re-sync of an unchanged
account, through the real client (target 1).

    .venv/bin/python bench/sync.py [--conversations 5000] [--messages 10] [--no-pg]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import httpx
from _shared import pg_database
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clients.instagram import IgAccount, IgConversation, IgProfile, InstagramClient
from core.db import repo
from core.db.engine import make_engine, make_sessionmaker, transaction, upgrade
from core.db.models import Contact, Message
from core.services.sync import merge_leads, sync_user
from core.timeutil import utcnow
from standins.ig_data import synthetic
from standins.instagram import InstagramStandin

PAGE = 100
ACCOUNT = "17841400000000001"


class Replay:
    """Serves pages already fetched from the stand-in, so both designs write identical input."""

    def __init__(self, pages: list[list[IgConversation]]) -> None:
        self.pages = pages
        self.calls = 0

    async def conversations(self) -> AsyncGenerator[list[IgConversation], None]:
        for page in self.pages:
            self.calls += 1
            yield page

    async def account(self) -> IgAccount:
        return IgAccount(ACCOUNT, "bench.account")

    async def profile(self, igsid: str) -> IgProfile:
        return IgProfile(igsid)


async def seed_loop(sessions: async_sessionmaker[AsyncSession], user_id: int,
                    pages: list[list[IgConversation]]) -> None:
    """The seed's design: per contact SELECT then INSERT/UPDATE, per message SELECT then INSERT."""
    for page in pages:
        async with transaction(sessions) as session:
            for lead in merge_leads(page, ACCOUNT).values():
                stmt = select(Contact).where(Contact.user_id == user_id, Contact.instagram_id == lead.instagram_id)
                contact = (await session.execute(stmt)).scalar_one_or_none()
                newest = lead.newest()
                if contact is None:
                    contact = Contact(user_id=user_id, instagram_id=lead.instagram_id, tags=[], message_count=0)
                    session.add(contact)
                contact.username, contact.name = lead.username, lead.name
                if newest is not None:
                    contact.last_message, contact.last_message_at = newest.text, lead.time_of(newest)
                    contact.last_message_from_creator = newest.from_id == ACCOUNT
                await session.flush()
                for msg in lead.messages.values():
                    found = await session.execute(select(Message.id).where(
                        Message.user_id == user_id, Message.instagram_message_id == msg.id))
                    if found.scalar_one_or_none() is None:
                        session.add(Message(user_id=user_id, contact_id=contact.id, instagram_message_id=msg.id,
                                            from_creator=msg.from_id == ACCOUNT, text=msg.text,
                                            attachment_kind=msg.attachment_kind, created_at=lead.time_of(msg)))
                        contact.message_count += 1
                        await session.flush()


async def new_user(sessions: async_sessionmaker[AsyncSession], telegram_id: int) -> int:
    async with transaction(sessions) as session:
        user = await repo.ensure_user(session, telegram_id)
        user.ig_account_id, user.ig_source = ACCOUNT, "graph"
        return user.id


async def counts(sessions: async_sessionmaker[AsyncSession], user_id: int) -> tuple[int, int]:
    async with sessions() as session:
        c = (await session.execute(select(func.count()).where(Contact.user_id == user_id))).scalar_one()
        m = (await session.execute(select(func.count()).where(Message.user_id == user_id))).scalar_one()
    return int(c), int(m)


async def run_dialect(url: str, pages: list[list[IgConversation]]) -> dict[str, Any]:
    await upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        bulk_user, seed_user = await new_user(sessions, 1), await new_user(sessions, 2)
        # Warm both paths (connections, statement caches) on throwaway users before timing.
        await sync_user(sessions, await new_user(sessions, 4), Replay(pages[:1]))
        await seed_loop(sessions, await new_user(sessions, 5), pages[:1])
        t0 = time.perf_counter()
        result = await sync_user(sessions, bulk_user, Replay(pages))
        bulk = time.perf_counter() - t0
        assert result.ok, result.detail
        t0 = time.perf_counter()
        await seed_loop(sessions, seed_user, pages)
        seed = time.perf_counter() - t0
        bulk_counts, seed_counts = await counts(sessions, bulk_user), await counts(sessions, seed_user)
        assert bulk_counts == seed_counts, (bulk_counts, seed_counts)
        return {"bulk_sync_s": round(bulk, 3), "seed_loop_s": round(seed, 3), "speedup": round(seed / bulk, 1),
                "contacts": bulk_counts[0], "messages": bulk_counts[1]}
    finally:
        await engine.dispose()


async def resync_calls(url: str, ig: InstagramStandin, http: httpx.AsyncClient) -> dict[str, Any]:
    """End to end through the real client: a full sync, then a re-sync of the unchanged account."""
    await upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        uid = await new_user(sessions, 3)
        client = InstagramClient(http, ig.token, base=ig.base_url, version="v21.0", page_size=PAGE)
        t0 = time.perf_counter()
        first = await sync_user(sessions, uid, client)
        full = time.perf_counter() - t0
        again = await sync_user(sessions, uid, InstagramClient(http, ig.token, base=ig.base_url, version="v21.0",
                                                               page_size=PAGE))
        return {"full_sync_with_http_s": round(full, 3), "full_sync_graph_calls": first.graph_calls,
                "resync_graph_calls": again.graph_calls}
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"conversations": args.conversations, "messages_per_conversation": args.messages,
                           "page_size": PAGE, "started_at": utcnow().isoformat()}
    dataset = synthetic(args.conversations, args.messages, account_id=ACCOUNT)
    async with InstagramStandin(dataset) as ig, httpx.AsyncClient(timeout=60.0) as http:
        client = InstagramClient(http, ig.token, base=ig.base_url, version="v21.0", page_size=PAGE)
        t0 = time.perf_counter()
        pages = [page async for page in client.conversations()]
        out["fetch"] = {"seconds": round(time.perf_counter() - t0, 3), "graph_calls": client.calls}
        with tempfile.TemporaryDirectory() as tmp:
            out["sqlite"] = await run_dialect(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", pages)
            out["end_to_end_sqlite"] = await resync_calls(f"sqlite+aiosqlite:///{Path(tmp) / 'e2e.db'}", ig, http)
        if not args.no_pg:
            async with pg_database() as url:
                out["postgresql"] = await run_dialect(url, pages)
                out["end_to_end_postgresql"] = await resync_calls(url, ig, http)
    out["resync_graph_calls"] = out["end_to_end_sqlite"]["resync_graph_calls"]
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    print(json.dumps(asyncio.run(main(parser.parse_args())), ensure_ascii=False))
    sys.exit(0)
