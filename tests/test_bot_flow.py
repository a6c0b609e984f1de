"""End to end: the real bot through the Telegram stand-in (every call checked against the Bot API spec)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot_harness import BotWorld, bot_world, onboard_demo

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def world(db_url, sessions, redis_url, unique) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w
        assert w.tg.errors == [], [e.description for e in w.tg.errors]
        assert w.tg.unanswered_callbacks == []


async def test_onboarding_demo_and_contacts_paging(world: BotWorld) -> None:
    ann = world.user(1001)
    await onboard_demo(world, ann)
    listing = await world.say(ann, "/contacts", "📇")
    assert "📇" in listing.text and "page" in str(listing.buttons)
    pages = next(t for row in listing.buttons for t, _ in row if t.startswith("page "))
    last = int(pages.split("/")[1])
    await ann.press(listing.message_id, "‹")  # wraps to the last page
    await ann.wait_for(lambda: f"page {last}/{last}" in str(ann.message(listing.message_id).buttons))
    await world.tg.wait_idle()
