"""Demo leads have pictures: the demo's profiles carry https avatar URLs that resolve (in-process) to each lead's
PNG, sync stores them, and in the console a card shows its lead's picture: the Telegram stand-in fetches the
card's link preview the way Telegram's servers do and serves what it got on a local URL.

Real Telegram cannot reach the demo's picture host (a .invalid name): with a real token the demo card simply
has no preview. Real accounts' avatars are Instagram CDN https URLs, which Telegram fetches itself."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ContactCb
from core.clients.demo import demo_client
from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact
from core.demo import DEMO_BASE, avatar_png, avatar_url, demo_account, demo_avatar
from core.services.connect import connect_demo
from core.services.sync import sync_user
from leadgram.commands.console import preview_fetcher
from standins.telegram import render_message
from tests.bot_harness import bot_world

Sessions = async_sessionmaker[AsyncSession]


async def synced_demo(sessions: Sessions, telegram_id: int) -> list[Contact]:
    async with transaction(sessions) as session:
        creator = await repo.ensure_user(session, telegram_id, telegram_id)
        creator.onboarding_step, creator.niche, creator.goal = "done", "tattoo artist", "book sessions"
        await connect_demo(session, creator.id)
    async with demo_client("tattoo artist", sessions=sessions, user_id=creator.id) as ig:
        assert (await sync_user(sessions, creator.id, ig)).new_contacts == 120
    async with sessions() as session:
        return list((await session.execute(select(Contact).where(Contact.user_id == creator.id))).scalars())


async def test_synced_demo_avatars_are_the_leads_own_pictures(sessions: Sessions) -> None:
    contacts = await synced_demo(sessions, 1301)
    leads = {t.lead.id: t.lead for t in demo_account("tattoo").threads}
    # name and picture come from each lead's profile, as on Instagram (participants carry neither)
    assert [c.name for c in contacts] == [leads[c.instagram_id].name for c in contacts]
    assert sum(1 for c in contacts if c.name) > 60
    for contact in contacts:
        assert contact.avatar_url is not None
        assert contact.avatar_url == avatar_url(contact.instagram_id) and contact.avatar_url.startswith("https://")
        assert demo_avatar(contact.avatar_url) == avatar_png(contact.instagram_id)
    assert demo_avatar(f"{DEMO_BASE}/avatars/690000000000000.png") is None  # not a demo lead
    assert demo_avatar("https://cdn.example.com/avatars/x.png") is None


async def test_a_demo_card_shows_the_leads_picture_in_the_console(
    db_url: str, sessions: Sessions, redis_url: str, unique: str,
) -> None:
    contacts = await synced_demo(sessions, 1302)
    lead = next(c for c in contacts if c.avatar_url)
    async with preview_fetcher() as fetch, bot_world(db_url, sessions, redis_url, unique) as world:
        world.tg.world.fetch = fetch  # what `leadgram console` gives its stand-in
        rae = world.user(1302, "Rae")
        listing = await world.say(rae, "/contacts", "📇")
        await rae.press_raw(listing.message_id, ContactCb(a="card", id=lead.id).pack())
        card = await rae.wait_for(lambda: rae.message(listing.message_id) if rae.message(listing.message_id)
                                  .preview else None)
        assert card.preview is not None and card.preview.url == lead.avatar_url
        assert card.preview.data == avatar_png(lead.instagram_id)
        assert render_message(card).startswith("[preview image/png 96×96 · http://127.0.0.1:")
        async with httpx.AsyncClient() as http:  # the printed local URL opens the picture
            shown = await http.get(card.preview.local_url)
        assert shown.headers["content-type"] == "image/png" and shown.content == avatar_png(lead.instagram_id)
        await world.tg.wait_idle()
        assert world.tg.errors == []
