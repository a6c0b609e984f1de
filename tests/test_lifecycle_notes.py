"""End to end through the Telegram stand-in: 📝 notes (add / edit / delete by the card, latest first and paged,
in /export, given to the scorer as the creator's context) and ↩️ Back to AI on a manual score and tags."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest
from sqlalchemy import select

from bot.callbacks import ContactCb
from core.db import repo
from core.db.engine import transaction
from core.db.models import Note
from core.rules import MAX_NOTE
from core.services import notes
from standins.gemini import GeminiStandin, user_text
from tests.bot_harness import bot_world
from tests.test_lifecycle_stages import contact, labels, scored_demo

pytestmark = pytest.mark.timeout(180)


async def _demo_creator(sessions, telegram_id: int) -> int:
    from core.clients.demo import demo_client
    from core.services.connect import connect_demo
    from core.services.sync import sync_user

    async with transaction(sessions) as s:
        creator = await repo.ensure_user(s, telegram_id, telegram_id)
        creator.onboarding_step, creator.niche, creator.goal = "done", "fitness coach", "sell coaching"
        await connect_demo(s, creator.id)
    async with demo_client("fitness coach", sessions=sessions, user_id=creator.id) as ig:
        await sync_user(sessions, creator.id, ig)
    return creator.id


async def test_notes_on_a_card_export_and_scorer_context(db_url, sessions, redis_url, unique) -> None:
    uid = await _demo_creator(sessions, 1411)
    async with GeminiStandin() as gem, bot_world(db_url, sessions, redis_url, unique, gemini_api_key="test-key",
                                                 gemini_base_url=gem.base_url, gemini_rpm=6000) as world:
        ann = world.user(1411)
        listing = await world.say(ann, "/contacts", "📇")
        mid = listing.message_id
        target = ContactCb.unpack(listing.buttons[0][0][1]).id
        await ann.press(mid, listing.buttons[0][0][0])
        await ann.wait_for(lambda: "📝 Notes" in labels(ann.message(mid)))
        await ann.press(mid, "📝 Notes")
        await ann.wait_for(lambda: "No notes yet" in ann.message(mid).text)

        # ➕ by reply; empty and too long are refused with words, nothing saved.
        await ann.press(mid, "➕ Add note")
        prompt = await world.new_message(ann, mid, "reply with a note")
        assert prompt.force_reply
        await ann.reply(prompt.message_id, "   ")
        await world.new_message(ann, prompt.message_id, "needs some text")
        await ann.reply(prompt.message_id, "x" * (MAX_NOTE + 1))
        await world.new_message(ann, prompt.message_id, f"at most {MAX_NOTE} characters")
        await ann.reply(prompt.message_id, "Prefers calls after 6pm <b>not</b> mornings")
        saved = await world.new_message(ann, prompt.message_id, "Note saved")
        await ann.reply(prompt.message_id, "Budget is tight until March")
        await world.new_message(ann, saved.message_id, "Note saved")
        lead = await contact(world, uid, target)
        assert (lead.note_count, lead.last_note) == (2, "Budget is tight until March")

        # The card shows the latest note; the notes screen lists latest first, 5 a page.
        async with sessions() as s:  # the service commits each note
            user = await repo.get_user(s, 1411)
            assert user is not None
            for n in range(4):
                assert isinstance(await notes.add_note(s, user, target, f"older filler {n}"), notes.NoteSaved)
        await ann.press_raw(mid, ContactCb(a="card", id=target).pack())
        await ann.wait_for(lambda: "older filler 3" in ann.message(mid).text)  # the newest is on the card
        await ann.press(mid, "📝 Notes (6)")
        await ann.wait_for(lambda: "page 1/2" in ann.message(mid).text)
        page1 = ann.message(mid).text
        assert page1.index("older filler 3") < page1.index("older filler 0") < page1.index("Budget is tight")
        await ann.press(mid, "Older ›")
        await ann.wait_for(lambda: "page 2/2" in ann.message(mid).text)
        assert "Prefers calls after 6pm <b>not</b> mornings" in ann.message(mid).text  # shown literally

        # ✏️ edit by reply; 🗑 asks first ("Keep it" keeps it).
        await ann.press(mid, "✏️ 6")
        edit_prompt = await world.new_message(ann, mid, "reply with the new text")
        await ann.reply(edit_prompt.message_id, "Prefers calls after 6pm")
        await world.new_message(ann, edit_prompt.message_id, "Note updated")
        async with sessions() as s:
            first = (await s.execute(select(Note).where(Note.contact_id == target).order_by(Note.id))).scalars().first()
            assert first is not None and first.text == "Prefers calls after 6pm" and first.edited_at is not None
        await ann.press(mid, "🗑 6")
        await ann.wait_for(lambda: "Delete this note" in ann.message(mid).text)
        await ann.press(mid, "Keep it")
        await ann.wait_for(lambda: "page 1/2" in ann.message(mid).text)
        await ann.press(mid, "🗑 1")
        await ann.wait_for(lambda: "🗑 Yes, delete it" in labels(ann.message(mid)))
        await ann.press(mid, "🗑 Yes, delete it")
        await ann.wait_for(lambda: "Notes on" in ann.message(mid).text
                           and "older filler 3" not in ann.message(mid).text)
        assert (await contact(world, uid, target)).note_count == 5

        # /export carries the notes, oldest first.
        after = max(m.message_id for m in ann.chat)
        await ann.send("/export full")
        doc = await ann.wait_for(lambda: next((m for m in ann.chat if m.message_id > after and m.document), None),
                                 timeout=20)
        rows = {r["id"]: r for r in csv.DictReader(io.StringIO(doc.document.data.decode("utf-8-sig")))}
        cell = rows[str(target)]["notes"].splitlines()
        assert cell[0].endswith(" Prefers calls after 6pm") and cell[-1].endswith(" older filler 2")

        # The scorer gets the notes as the creator's context, apart from the lead's messages.
        before = len(gem.requests)
        await ann.press_raw(mid, ContactCb(a="card", id=target).pack())
        await ann.wait_for(lambda: "♻️ Rescore" in labels(ann.message(mid)))
        await ann.press(mid, "♻️ Rescore")
        for _ in range(300):
            if len(gem.requests) > before:
                break
            await asyncio.sleep(0.1)
        payload = json.loads(user_text(gem.requests[-1]["body"]))  # structured user content
        notes_part = " ".join(note["text"] for note in payload["creator_notes"])
        assert "Prefers calls after 6pm" in notes_part and "Budget is tight until March" in notes_part
        assert not any("Prefers calls" in turn.get("text", "") for turn in payload["conversation"])
        await world.tg.wait_idle()
        assert world.tg.errors == [], [(e.method, e.error) for e in world.tg.errors]


async def test_back_to_ai_on_score_and_tags(db_url, sessions, redis_url, unique) -> None:
    async with bot_world(db_url, sessions, redis_url, unique) as world:
        ann, uid = await scored_demo(world, 1412)
        listing = await world.say(ann, "/contacts", "📇")
        mid = listing.message_id
        target = ContactCb.unpack(listing.buttons[0][0][1]).id
        ai = await contact(world, uid, target)
        assert ai.score_source == "ai" and ai.ai_score == ai.lead_score

        await ann.press(mid, listing.buttons[0][0][0])
        await ann.wait_for(lambda: "🎯 Score" in labels(ann.message(mid)))
        await ann.press(mid, "🎯 Score")
        await ann.wait_for(lambda: "Score for" in ann.message(mid).text)
        assert "↩️ Back to AI score" not in labels(ann.message(mid))
        manual = 25 if ai.lead_score != 25 else 50
        await ann.press(mid, str(manual))
        await ann.wait_for(lambda: "🎯 Score" in labels(ann.message(mid)))
        assert (await contact(world, uid, target)).lead_score == manual
        await ann.press(mid, "🎯 Score")
        await ann.wait_for(lambda: "↩️ Back to AI score" in labels(ann.message(mid)))
        await ann.press(mid, "↩️ Back to AI score")
        await ann.wait_for(lambda: "🎯 Score" in labels(ann.message(mid)))
        back = await contact(world, uid, target)
        assert (back.lead_score, back.score_source) == (ai.lead_score, "ai")

        # Tags: a manual change, then back to the AI's.
        await ann.press(mid, "🏷 Tags")
        await ann.wait_for(lambda: "➕ New tag" in labels(ann.message(mid)))
        toggles = [t for t in labels(ann.message(mid)) if t not in ("➕ New tag", "‹ Back to card")]
        await ann.press(mid, toggles[0])
        await ann.wait_for(lambda: "↩️ Back to AI tags" in labels(ann.message(mid)))
        assert (await contact(world, uid, target)).tags_source == "manual"
        await ann.press(mid, "↩️ Back to AI tags")
        await ann.wait_for(lambda: "🏷 Tags" in labels(ann.message(mid)))
        back = await contact(world, uid, target)
        assert (back.tags, back.tags_source) == (ai.tags, "ai")

        # A manual score the AI never saw a value for (kept before lifecycle): dropped, and the lead is rescored.
        async with transaction(sessions) as s:
            await repo.set_manual_score(s, uid, target, 60)
            row = await repo.get_contact(s, uid, target)
            assert row is not None
            row.ai_score = None
        await ann.press(mid, "🎯 Score")
        await ann.wait_for(lambda: "↩️ Back to AI score" in labels(ann.message(mid)))
        await ann.press(mid, "↩️ Back to AI score")
        for _ in range(300):
            rescored = await contact(world, uid, target)
            if rescored.score_source == "ai" and rescored.lead_score is not None:
                break
            await asyncio.sleep(0.1)
        assert (rescored.score_source, rescored.lead_score) == ("ai", ai.lead_score)
        await world.tg.wait_idle()
        assert world.tg.errors == [], [(e.method, e.error) for e in world.tg.errors]
