"""Saved replies end to end: /replies add/edit/delete, the {link} setting, picked from a card in two taps and
filled before the preview (a draft like any other: sent only by the press on Send)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.callbacks import SavedCb
from core.db.models import SavedReply
from tests.reply_harness import buttons, connect, contact_of, open_card, replies_of, reply_world

pytestmark = pytest.mark.timeout(120)


async def _saved(world) -> list[SavedReply]:
    async with world.sessions() as session:
        return list((await session.execute(select(SavedReply).order_by(SavedReply.id))).scalars())


async def test_saved_reply_variables_filled_before_preview(db_url, sessions, redis_url, unique) -> None:
    async with reply_world(db_url, sessions, redis_url, unique) as (world, ig):
        mia = await connect(world, ig, 3101)
        listing = await world.say(mia, "/replies", "Saved replies")
        await mia.press(listing.message_id, "➕ Add")
        prompt = await world.new_message(mia, listing.message_id, "New saved reply")
        await mia.reply(prompt.message_id, "Hi {name}!")  # unknown variable: refused in words
        await world.new_message(mia, prompt.message_id, "Nothing changed")
        await mia.reply(prompt.message_id, "Hi {first_name} (@{username})! Book here: {link}")
        saved_list = await world.new_message(mia, prompt.message_id, "Saved.")
        (item,) = await _saved(world)

        lead = await contact_of(world, 3101, "fresh")
        card = await open_card(world, mia, lead.id)
        await mia.press(card, "💾 Saved")
        await mia.wait_for(lambda: "Pick a saved reply" in mia.message(card).text)
        press = await mia.press(card, mia.message(card).buttons[0][0][0])
        answer = await mia.wait_answered(press)
        assert "no link yet" in answer.get("text", "") and await replies_of(world, lead.id) == []

        settings = await world.say(mia, "/settings", "Settings")
        await mia.press(settings.message_id, "🔗 Link")
        ask = await world.new_message(mia, settings.message_id, "🔗 Link")
        await mia.reply(ask.message_id, "not a link")
        await world.new_message(mia, ask.message_id, "not a link")
        await mia.reply(ask.message_id, "https://cal.example/mia")
        await world.new_message(mia, ask.message_id, "https://cal.example/mia")

        card = await open_card(world, mia, lead.id)
        await mia.press(card, "💾 Saved")  # tap 1
        await mia.wait_for(lambda: "Pick a saved reply" in mia.message(card).text)
        await mia.press(card, mia.message(card).buttons[0][0][0])  # tap 2
        shown = await world.new_message(mia, card, "Draft to")
        assert "Hi Lead (@lead_fresh)! Book here: https://cal.example/mia" in shown.text
        assert "📤 Send" in buttons(shown) and ig.sent == []
        (draft,) = await replies_of(world, lead.id)
        assert draft.source == "saved" and draft.status == "draft"

        # Edit and delete from /replies.
        await mia.press(saved_list.message_id, "✏️ 1")
        edit = await world.new_message(mia, saved_list.message_id, f"💾 #{item.id}")
        await mia.reply(edit.message_id, "Hey {first_name}")
        await world.new_message(mia, edit.message_id, "Saved.")
        assert [s.text for s in await _saved(world)] == ["Hey {first_name}"]
        await mia.press_raw(saved_list.message_id, SavedCb(a="del", id=item.id).pack())
        await mia.wait_for(lambda: "None yet" in mia.message(saved_list.message_id).text)
        assert await _saved(world) == []
