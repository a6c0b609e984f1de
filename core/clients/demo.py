"""The bundled demo account: the real InstagramClient against the Instagram stand-in, started in-process.

`leadgram demo`, the offline mode and the bot's "try the demo" all read Instagram through this, so the
demo exercises exactly the code a real account does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime

import httpx

from core.clients.instagram import InstagramClient
from standins.ig_data import load_demo, pick_niche
from standins.instagram import InstagramStandin

DEMO_TOKEN = "IGAAdemo-token-not-secret"
DEMO_VERSION = "v21.0"


@asynccontextmanager
async def demo_client(
    niche: str | None = None, *, http: httpx.AsyncClient | None = None, now: datetime | None = None,
) -> AsyncIterator[InstagramClient]:
    """A client for the demo account matching the creator's niche text (fitness, handmade shop, tattoo)."""
    dataset = load_demo(pick_niche(niche), now=now)
    async with AsyncExitStack() as stack:
        standin = await stack.enter_async_context(InstagramStandin(dataset, token=DEMO_TOKEN))
        if http is None:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=10.0))
        yield InstagramClient(http, DEMO_TOKEN, base=standin.base_url, version=DEMO_VERSION)
