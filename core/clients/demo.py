"""The bundled demo account: the real InstagramClient against the Instagram stand-in, started in-process.

`leadgram demo`, the offline mode and the bot's "try the demo" all read Instagram through this, so the
demo exercises exactly the code a real account does.

The demo's messages are ages ("3 h before the anchor"). For a creator the anchor is fixed once, by their first
demo sync, and recovered later from the messages that sync stored (created_time + age): re-syncing an unchanged
demo account therefore finds the same ids and times (no new messages, no moved last_message_at, no rescoring),
while a fresh demo still looks recent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clients.instagram import InstagramClient
from core.db.models import Message
from core.timeutil import as_utc, utcnow
from standins.ig_data import demo_ages, load_demo, pick_niche
from standins.instagram import InstagramStandin

DEMO_TOKEN = "IGAAdemo-token-not-secret"
DEMO_VERSION = "v21.0"


async def demo_anchor(session: AsyncSession, user_id: int, niche: str | None, *,
                      now: datetime | None = None) -> datetime:
    """The creator's demo timeline anchor: the one their first demo sync used, else `now` (whole seconds).

    Recovered from the stored demo messages of this niche (created_time + age); the earliest wins, so an
    anchor never moves forward once a sync stored anything."""
    ages = demo_ages(pick_niche(niche))
    rows = await session.execute(select(Message.instagram_message_id, Message.created_at).where(
        Message.user_id == user_id, Message.instagram_message_id.in_(sorted(ages))))
    stored = [as_utc(created) + timedelta(seconds=ages[mid]) for mid, created in rows.all()]
    if stored:
        return min(stored)
    return (now or utcnow()).replace(microsecond=0)  # Graph times are whole seconds: keeps the anchor exact


@asynccontextmanager
async def demo_client(
    niche: str | None = None, *, http: httpx.AsyncClient | None = None, now: datetime | None = None,
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
    dataset = load_demo(pick_niche(niche), now=anchor)
    async with AsyncExitStack() as stack:
        standin = await stack.enter_async_context(InstagramStandin(dataset, token=DEMO_TOKEN))
        if http is None:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=10.0))
        yield InstagramClient(http, DEMO_TOKEN, base=standin.base_url, version=DEMO_VERSION)
