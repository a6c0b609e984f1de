"""The bundled demo account: the real InstagramClient against core.demo's in-process Graph (no server).

`leadgram demo`, the offline mode and the bot's "try the demo" all read Instagram through this, so the
demo exercises exactly the client code a real account does (paging, parsing, profiles).

The demo's messages are ages ("3 h before the anchor"). For a creator the anchor is fixed once, by their first
demo sync, and recovered later from the messages that sync stored (created_time + age): re-syncing an unchanged
demo account therefore finds the same ids and times (no new messages, no moved last_message_at, no rescoring),
while a fresh demo still looks recent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clients.instagram import InstagramClient
from core.db.models import Message
from core.demo import DEMO_BASE, DEMO_TOKEN, DemoGraph, demo_account, pick_niche
from core.timeutil import as_utc, utcnow

DEMO_VERSION = "v21.0"


async def demo_anchor(session: AsyncSession, user_id: int, niche: str | None, *,
                      now: datetime | None = None) -> datetime:
    """The creator's demo timeline anchor: the one their first demo sync used, else `now` (whole seconds).

    Recovered from the stored demo messages of this niche (created_time + age); the earliest wins, so an
    anchor never moves forward once a sync stored anything."""
    ages = demo_account(pick_niche(niche)).ages()
    rows = await session.execute(select(Message.instagram_message_id, Message.created_at).where(
        Message.user_id == user_id, Message.instagram_message_id.in_(sorted(ages))))
    stored = [as_utc(created) + timedelta(seconds=ages[mid]) for mid, created in rows.all()]
    if stored:
        return min(stored)
    return (now or utcnow()).replace(microsecond=0)  # Graph times are whole seconds: keeps the anchor exact


@asynccontextmanager
async def demo_client(
    niche: str | None = None, *, now: datetime | None = None,
    sessions: async_sessionmaker[AsyncSession] | None = None, user_id: int | None = None,
) -> AsyncIterator[InstagramClient]:
    """A client for the demo account matching the creator's niche text (fitness, handmade shop, tattoo).

    With `sessions` and `user_id` the timeline is that creator's stable one (see demo_anchor; `now` is the
    anchor of a first sync). Without them it is a throwaway demo anchored at `now` (default: the current time).
    """
    anchor = now
    if sessions is not None and user_id is not None:
        async with sessions() as session:
            anchor = await demo_anchor(session, user_id, niche, now=now)
    graph = DemoGraph(demo_account(pick_niche(niche)), (anchor or utcnow()).replace(microsecond=0))
    async with httpx.AsyncClient(transport=graph) as http:
        yield InstagramClient(http, DEMO_TOKEN, base=DEMO_BASE, version=DEMO_VERSION)
