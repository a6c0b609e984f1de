"""Real accounts: a lead's name and picture come from the User Profile API (participants carry only id and
username), shown in the list and on the card (the picture as the card's link preview)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Contact
from standins.ig_data import synthetic
from standins.instagram import InstagramStandin
from tests.bot_harness import bot_world

pytestmark = pytest.mark.timeout(180)


async def test_real_account_leads_show_profile_names_and_avatars(
    db_url: str, sessions: async_sessionmaker[AsyncSession], redis_url: str, unique: str,
) -> None:
    data = synthetic(3, 2)
    data.profiles["690000000000000"] = {"name": "Maya Lopez", "username": "lead_0",
                                        "profile_pic": "https://cdn.example/maya.jpg"}
    data.no_consent.add("690000000000001")
    async with InstagramStandin(data) as ig, bot_world(
            db_url, sessions, redis_url, unique, ig_api_base=ig.base_url, secret_key="profile-secret") as world:
        ann = world.user(7101)
        await world.say(ann, "/start", "niche")
        await world.say(ann, "fitness coach", "goal")
        await world.say(ann, "sell my program", "connect Instagram")
        status = await world.say(ann, f"/connect {ig.token}", "Syncing")
        await ann.wait_for(lambda: "✅" in ann.message(status.message_id).text, timeout=60)
        assert ig.calls["profile"] == 3
        listing = await world.say(ann, "/contacts", "📇")
        assert "Maya Lopez" in listing.text
        card_data = next(data for row in listing.buttons for text, data in row if "Maya Lopez" in text)
        cb = await ann.press(listing.message_id, card_data)
        await ann.wait_answered(cb)
        card = ann.message(listing.message_id)
        assert card.link_preview is not None and card.link_preview.get("url") == "https://cdn.example/maya.jpg"
        assert world.tg.errors == []
    async with sessions() as s:
        refused = (await s.execute(select(Contact).where(Contact.instagram_id == "690000000000001"))).scalar_one()
    assert refused.username == "lead_1" and refused.name is None and refused.profile_checked_at is not None
