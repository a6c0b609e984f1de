"""End to end through the Telegram stand-in: stages (AI-suggested, creator-set, closed leads leave 🔥 hot,
reopen, filter, rename) and the spam / archive shelves (suggested, never applied alone, undo in place)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.callbacks import ContactCb
from core.db import repo
from core.db.models import Contact, ScoringRun
from core.db.repo import ContactQuery, Filter, Sort
from core.rules import is_hot, stage_names
from tests.bot_harness import BotWorld, bot_world, onboard_demo

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def world(db_url, sessions, redis_url, unique) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w
        assert w.tg.errors == [], [(e.method, e.error) for e in w.tg.errors]
        assert w.tg.unanswered_callbacks == []


async def scored_demo(world: BotWorld, telegram_id: int):
    """Onboard the demo and wait until its first scoring run finished; returns (sim user, creator id)."""
    user = world.user(telegram_id)
    await onboard_demo(world, user)
    for _ in range(600):
        async with world.sessions() as session:
            creator = await repo.get_user(session, telegram_id)
            assert creator is not None
            runs = (await session.execute(select(ScoringRun.status).where(ScoringRun.user_id == creator.id))).all()
        if runs and all(status == "done" for (status,) in runs):
            return user, creator.id
        await asyncio.sleep(0.1)
    raise AssertionError("the demo's scoring run did not finish")


async def contact(world: BotWorld, user_id: int, contact_id: int) -> Contact:
    async with world.sessions() as session:
        found = await repo.get_contact(session, user_id, contact_id)
        assert found is not None
        return found


async def hot_ids(world: BotWorld, user_id: int) -> set[int]:
    async with world.sessions() as session:
        query = ContactQuery(Filter.hot, Sort.score, hot_threshold=80)
        page = await repo.list_contacts(session, user_id, 1, query, page_size=500)
    return {c.id for c in page.contacts}


def labels(message) -> list[str]:
    return [text for row in message.buttons for text, _ in row]


async def test_stages_ai_suggested_creator_set_closed_reopened_filtered(world: BotWorld) -> None:
    ann, uid = await scored_demo(world, 1401)
    async with world.sessions() as session:
        won = list((await session.execute(select(Contact).where(Contact.user_id == uid, Contact.stage == "won")))
                   .scalars())
    # "Sent the payment 🙌" and friends: the AI suggested won, and a won lead is not hot.
    assert won and all(c.stage_source == "ai" and not is_hot(c.lead_score, 80, c.stage, c.shelf) for c in won)
    hot = await hot_ids(world, uid)
    assert hot and not hot & {c.id for c in won}

    listing = await world.say(ann, "/hot", "📇")
    mid = listing.message_id
    target = ContactCb.unpack(listing.buttons[0][0][1]).id
    assert target in hot
    await ann.press(mid, listing.buttons[0][0][0])
    await ann.wait_for(lambda: "🏁" in ann.message(mid).text)
    before = await contact(world, uid, target)

    # The stage picker: won closes the lead (out of /hot, no longer hot), history kept.
    stage_button = next(t for t in labels(ann.message(mid)) if t.startswith("🏁 "))
    await ann.press(mid, stage_button)
    await ann.wait_for(lambda: "Stage for" in ann.message(mid).text)
    await ann.press(mid, "🏆 won")
    await ann.wait_for(lambda: any(t.startswith("↺ Reopen") for t in labels(ann.message(mid))))
    closed = await contact(world, uid, target)
    assert (closed.stage, closed.stage_source) == ("won", "manual")
    assert is_hot(closed.lead_score, 80) and not is_hot(closed.lead_score, 80, closed.stage, closed.shelf)
    assert closed.message_count == before.message_count and closed.lead_score == before.lead_score
    assert target not in await hot_ids(world, uid)

    # A rescore never changes the creator's stage (the AI's suggestion is kept beside it). Pressed on a second
    # copy of the card, whose progress watcher then edits only that message.
    before_copy = max(m.message_id for m in ann.chat)
    await ann.press_raw(999_999, ContactCb(a="card", id=target).pack())
    copy = await world.new_message(ann, before_copy, "🏁")
    await ann.press(copy.message_id, "♻️ Rescore")
    for _ in range(300):
        rescored = await contact(world, uid, target)
        if rescored.scored_at != closed.scored_at:
            break
        await asyncio.sleep(0.1)
    assert rescored.scored_at != closed.scored_at
    assert (rescored.stage, rescored.stage_source) == ("won", "manual") and rescored.ai_stage is not None

    # One tap reopens it: hot again (no new alert episode: the creator is looking at it).
    reopen = next(t for t in labels(ann.message(mid)) if t.startswith("↺ Reopen"))
    await ann.press(mid, reopen)
    await ann.wait_for(lambda: any(t.startswith("➡️") for t in labels(ann.message(mid))))
    reopened = await contact(world, uid, target)
    assert (reopened.stage, reopened.hot_episode) == ("talking", before.hot_episode)
    assert target in await hot_ids(world, uid)

    # ↩️ Back to AI: the creator's mark goes, the AI's suggestion applies.
    await ann.press(mid, next(t for t in labels(ann.message(mid)) if t.startswith("🏁 ")))
    await ann.wait_for(lambda: "↩️ Back to AI" in labels(ann.message(mid)))
    await ann.press(mid, "↩️ Back to AI")
    await ann.wait_for(lambda: "➡️" in str(labels(ann.message(mid))) or "↺" in str(labels(ann.message(mid))))
    back = await contact(world, uid, target)
    assert back.stage_source == "ai" and back.stage == rescored.ai_stage

    # /contacts filters by stage: the menu counts, the filtered list holds only that stage.
    listing = await world.say(ann, "/contacts", "📇")
    lid = listing.message_id
    await ann.press(lid, "🏁 Stage")
    await ann.wait_for(lambda: "stage" in ann.message(lid).text)
    won_button = next(t for t in labels(ann.message(lid)) if t.startswith("🏆 won · "))
    async with world.sessions() as session:
        won_now = (await session.execute(select(func.count()).where(
            Contact.user_id == uid, Contact.stage == "won", Contact.shelf.is_(None)))).scalar_one()
    assert won_button == f"🏆 won · {won_now}"
    await ann.press(lid, won_button)
    await ann.wait_for(lambda: "✅ 🏁 won" in labels(ann.message(lid)))
    shown = [ContactCb.unpack(d).id for row in ann.message(lid).buttons for _, d in row if d.startswith("c:")]
    assert shown and [(await contact(world, uid, cid)).stage for cid in shown] == ["won"] * len(shown)


async def test_stage_names_are_the_creators(world: BotWorld) -> None:
    ann = world.user(1402)
    shown = await world.say(ann, "/stages", "Your stages")
    await ann.press(shown.message_id, "✏️ 📨 offer sent")
    prompt = await world.new_message(ann, shown.message_id, "reply with a new name")
    assert prompt.force_reply
    await ann.reply(prompt.message_id, "   ")
    await world.new_message(ann, prompt.message_id, "needs a letter")
    await ann.reply(prompt.message_id, "  Won ")  # another stage's name: refused, nothing changed
    await world.new_message(ann, prompt.message_id, "already has that name")
    await ann.reply(prompt.message_id, "  proposal   <sent> ")
    done = await world.new_message(ann, prompt.message_id, "Renamed")
    assert "✏️ 📨 proposal <sent>" in labels(done)
    async with world.sessions() as session:
        user = await repo.get_user(session, 1402)
        assert user is not None and user.stage_names is not None
        names = stage_names(user.stage_names)
        assert names["offer"] == "proposal <sent>" and names["won"] == "won"


async def test_spam_and_archive_leave_the_list_and_come_back(world: BotWorld) -> None:
    ann, uid = await scored_demo(world, 1403)
    async with world.sessions() as session:
        suggested = list((await session.execute(select(Contact).where(
            Contact.user_id == uid, Contact.spam_suggested.is_(True)))).scalars())
        total = (await session.execute(select(func.count()).where(Contact.user_id == uid))).scalar_one()
    # Confident spam is suggested, never shelved without the creator's press.
    assert suggested and all(c.shelf is None for c in suggested)
    spam = suggested[0]

    listing = await world.say(ann, "/contacts", "📇")
    lid = listing.message_id
    assert listing.text.startswith(f"📇 Contacts · {total} ")
    await ann.press_raw(lid, ContactCb(a="card", id=spam.id).pack())  # as its list button would
    await ann.wait_for(lambda: "🚫 Spam (suggested)" in labels(ann.message(lid)))
    await ann.press(lid, "🚫 Spam (suggested)")
    await ann.wait_for(lambda: "↩️ Not spam: back to list" in labels(ann.message(lid)))
    moved = await contact(world, uid, spam.id)
    assert (moved.shelf, moved.spam_suggested) == ("spam", False)

    # Archive a hot lead: it leaves the list and /hot.
    hot_lead = next(iter(await hot_ids(world, uid)))
    await ann.press_raw(lid, ContactCb(a="card", id=hot_lead).pack())
    await ann.wait_for(lambda: "🗄 Archive" in labels(ann.message(lid)))
    await ann.press(lid, "🗄 Archive")
    await ann.wait_for(lambda: "📤 Unarchive" in labels(ann.message(lid)))
    assert hot_lead not in await hot_ids(world, uid)

    listing = await world.say(ann, "/contacts", "📇")
    assert listing.text.startswith(f"📇 Contacts · {total - 2} ")
    await ann.press(listing.message_id, "🏁 Stage")
    await ann.wait_for(lambda: "🚫 Spam · 1" in labels(ann.message(listing.message_id)))
    await ann.press(listing.message_id, "🗄 Archived · 1")
    await ann.wait_for(lambda: "Contacts · 1 " in ann.message(listing.message_id).text)
    assert ContactCb.unpack(ann.message(listing.message_id).buttons[0][0][1]).id == hot_lead

    # Bulk scoring spends no model call on shelved leads.
    from core.services import scoring

    started = await scoring.start_run(world.sessions, world.app.deps.queue, uid, scope="all")
    async with world.sessions() as session:
        from core.db.models import ScoringItem

        items = set((await session.execute(select(ScoringItem.contact_id).where(
            ScoringItem.run_id == started.id))).scalars())
    assert items and spam.id not in items and hot_lead not in items

    # Undo from the same place: back in the list (and hot again, by the one rule).
    await ann.press(lid, "📤 Unarchive")
    await ann.wait_for(lambda: "🗄 Archive" in labels(ann.message(lid)))
    assert hot_lead in await hot_ids(world, uid)
