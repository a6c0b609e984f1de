"""End to end: the real bot through the Telegram stand-in (every call checked against the Bot API spec)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot_harness import BotWorld, bot_world, no_run_in_progress, onboard_demo

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


async def _contact(world: BotWorld, telegram_id: int, contact_id: int):
    from core.db import repo

    async with world.sessions() as session:
        user = await repo.get_user(session, telegram_id)
        assert user is not None
        return await repo.get_contact(session, user.id, contact_id)


async def test_card_chat_tags_and_score(world: BotWorld) -> None:
    from bot.callbacks import ContactCb

    ann = world.user(1002)
    await onboard_demo(world, ann)
    await no_run_in_progress(world)  # the demo's first run writes the AI tags the tag editor offers
    listing = await world.say(ann, "/contacts", "📇")
    mid = listing.message_id
    first = listing.buttons[0][0]
    contact_id = ContactCb.unpack(first[1]).id
    await ann.press(mid, first[0])
    await ann.wait_for(lambda: "🎯" in ann.message(mid).text and "last message" in ann.message(mid).text)

    await ann.press(mid, "💬 Chat")
    await ann.wait_for(lambda: ann.message(mid).text.startswith("💬"))
    assert "page 1/" in ann.message(mid).text
    await ann.press(mid, "‹ Back to card")
    await ann.wait_for(lambda: "last message" in ann.message(mid).text)

    # Tags: toggle an existing one off and on, then add a new one by reply.
    await ann.press(mid, "🏷 Tags")
    await ann.wait_for(lambda: "Tags for" in ann.message(mid).text)
    tag_buttons = [t for row in ann.message(mid).buttons for t, _ in row if t not in ("➕ New tag", "‹ Back to card")]
    assert tag_buttons
    target = tag_buttons[0]
    name = target.removeprefix("✅ ")
    await ann.press(mid, target)
    flipped = name if target.startswith("✅") else f"✅ {name}"
    await ann.wait_for(lambda: flipped in [t for row in ann.message(mid).buttons for t, _ in row])
    contact = await _contact(world, 1002, contact_id)
    assert (name in contact.tags) == (not target.startswith("✅")) and contact.tags_source == "manual"

    await ann.press(mid, "➕ New tag")
    prompt = await world.new_message(ann, mid, "reply with a new tag")
    assert prompt.force_reply
    await ann.reply(prompt.message_id, "  VIP   Client ")
    await world.new_message(ann, prompt.message_id, "Added tag")
    contact = await _contact(world, 1002, contact_id)
    assert "VIP Client" in contact.tags  # the creator's spelling is kept
    await ann.reply(prompt.message_id, "   ")
    await world.new_message(ann, prompt.message_id, "needs at least one letter")

    # Score: a quick button, then typed replies (bad ones change nothing).
    await ann.press(mid, "‹ Back to card")
    await ann.wait_for(lambda: "last message" in ann.message(mid).text)
    await ann.press(mid, "🎯 Score")
    await ann.wait_for(lambda: "Score for" in ann.message(mid).text)
    await ann.press(mid, "90")
    # "set by you" too: the AI may have scored this lead 90 already, and the card then shows 90 before the press.
    await ann.wait_for(lambda: any("90" in line and "set by you" in line
                                   for line in ann.message(mid).text.splitlines()))
    contact = await _contact(world, 1002, contact_id)
    assert contact.lead_score == 90 and contact.score_source == "manual"

    await ann.press(mid, "🎯 Score")
    await ann.wait_for(lambda: "Score for" in ann.message(mid).text)
    await ann.press(mid, "⌨️ Type a number")
    ask = await world.new_message(ann, mid, "reply with a score")
    for bad in ("abc", "101", "-5", "7.5"):
        await ann.reply(ask.message_id, bad)
        await world.new_message(ann, max(m.message_id for m in ann.state.messages.values()) - 1, "Nothing changed")
    assert (await _contact(world, 1002, contact_id)).lead_score == 90
    await ann.reply(ask.message_id, "55")
    await world.new_message(ann, ask.message_id, "Score set to 55")
    assert (await _contact(world, 1002, contact_id)).lead_score == 55

    # Rescore keeps the manual score; back returns to the list page it came from.
    await ann.press(mid, "‹ Back to card")
    await ann.wait_for(lambda: "last message" in ann.message(mid).text)
    await ann.press(mid, "♻️ Rescore")
    await ann.press(mid, "‹ Back to list (page 1)")
    await ann.wait_for(lambda: ann.message(mid).text.startswith("📇"))
    await world.tg.wait_idle()
    contact = await _contact(world, 1002, contact_id)
    assert contact.lead_score == 55 and contact.score_source == "manual" and "VIP Client" in contact.tags


async def test_autoscore_progress_and_summary_with_gemini(db_url, sessions, redis_url, unique) -> None:
    """/autoscore on 120 synced demo contacts, scored by the Gemini stand-in: one progress message edited in
    place (never more than once per 2 s, never unchanged), then a summary with hot leads and tokens."""
    from core.clients.demo import demo_client
    from core.db import repo
    from core.db.engine import transaction
    from core.services.connect import connect_demo
    from core.services.sync import sync_user
    from standins.gemini import GeminiStandin

    async with transaction(sessions) as s:
        creator = await repo.ensure_user(s, 1003, 1003)
        creator.onboarding_step, creator.niche, creator.goal = "done", "fitness coach", "sell coaching"
        await connect_demo(s, creator.id)
    async with demo_client("fitness coach", sessions=sessions, user_id=creator.id) as ig:
        assert (await sync_user(sessions, creator.id, ig)).new_contacts == 120

    async with GeminiStandin(script=["500", "malformed"]) as gem, bot_world(
        db_url, sessions, redis_url, unique, gemini_api_key="test-key", gemini_base_url=gem.base_url,
        gemini_rpm=6000,
    ) as world:
        ann = world.user(1003)
        progress = await world.say(ann, "/autoscore", "scored", timeout=20)
        mid = progress.message_id
        await ann.wait_for(lambda: "Scoring finished" in ann.message(mid).text, timeout=90)
        final = ann.message(mid)
        assert "120 scored" in final.text and "tokens used" in final.text
        assert any(t.startswith("🔥") for row in final.buttons for t, _ in row)  # new hot leads as buttons
        edits = [c for c in world.tg.calls if c.method.lower() == "editmessagetext"
                 and str(c.params.get("message_id")) == str(mid)]
        assert edits and all(b.at - a.at >= 1.9 for a, b in zip(edits, edits[1:], strict=False))
        texts = [c.params["text"] for c in edits]
        assert all(a != b for a, b in zip(texts, texts[1:], strict=False))
        assert len(gem.requests) >= 120  # every contact went to the model (2 retried after injected faults)
        bodies = " ".join(str(r["body"]) for r in gem.requests)
        assert "tools" not in bodies.lower() or '"tools"' not in bodies

        # A second run finds nothing new: no model call, one short answer.
        calls = len(gem.requests)
        again = await world.say(ann, "/autoscore", "already scored", timeout=20)
        assert again.message_id != mid and len(gem.requests) == calls

        # The hot-lead button opens that contact's card.
        hot_button = next(t for row in final.buttons for t, _ in row if t.startswith("🔥"))
        await ann.press(mid, hot_button)
        await ann.wait_for(lambda: "last message" in ann.message(mid).text)
        await world.tg.wait_idle()
        assert world.tg.errors == [], [e.description for e in world.tg.errors]
        assert world.tg.unanswered_callbacks == []


async def test_connect_token_validated_stored_encrypted_and_deleted(db_url, sessions, redis_url, unique) -> None:
    from sqlalchemy import select

    from core.db.models import Contact, User
    from standins.ig_data import synthetic
    from standins.instagram import InstagramStandin

    async with InstagramStandin(synthetic(3, 2)) as ig, bot_world(
        db_url, sessions, redis_url, unique, ig_api_base=ig.base_url, secret_key="k" * 32,
    ) as world:
        bo = world.user(1004, "Bo")
        await world.say(bo, "/start", "niche")
        await world.say(bo, "tattoo artist", "goal")
        await world.say(bo, "book sessions", "connect")

        bad = await bo.send("/connect not-a-real-token")
        await world.new_message(bo, bad.message_id, "rejected")
        assert bo.state.messages[bad.message_id].deleted  # even a wrong token leaves the chat
        async with sessions() as s:
            user = (await s.execute(select(User).where(User.telegram_id == 1004))).scalar_one()
            assert user.ig_token_encrypted is None

        good = await bo.send(f"/connect {ig.token}")
        status = await world.new_message(bo, good.message_id, "Connected")
        await bo.wait_for(lambda: "✅" in bo.message(status.message_id).text)
        assert "3 new contacts" in bo.message(status.message_id).text
        assert bo.state.messages[good.message_id].deleted
        async with sessions() as s:
            user = (await s.execute(select(User).where(User.telegram_id == 1004))).scalar_one()
            assert user.ig_token_encrypted and ig.token not in user.ig_token_encrypted
            assert user.ig_token_expires_at is not None and user.onboarding_step == "done"
            assert len((await s.execute(select(Contact).where(Contact.user_id == user.id))).all()) == 3
        await world.tg.wait_idle()
        assert world.tg.errors == [], [e.description for e in world.tg.errors]


async def _scoring_done(world: BotWorld, telegram_id: int) -> None:
    import asyncio

    from core.db import repo
    from core.services import scoring

    for _ in range(600):
        async with world.sessions() as s:
            user = await repo.get_user(s, telegram_id)
            run = await scoring.latest_run(s, user.id) if user else None
        if run is not None and run.status == "done":
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("scoring did not finish")


def _texts(msg) -> list[str]:
    return [t for row in msg.buttons for t, _ in row]


async def test_filters_sort_tag_picker_and_new_marks(world: BotWorld) -> None:
    import re

    from core.db import repo
    from core.db.engine import transaction
    from core.db.models import Contact
    from core.timeutil import utcnow

    cy = world.user(1005)
    await onboard_demo(world, cy)
    await _scoring_done(world, 1005)
    listing = await world.say(cy, "/contacts", "📇")
    mid = listing.message_id
    assert "🆕" not in listing.text  # first visit: nothing to compare with

    await cy.press(mid, "🔥 Hot")
    await cy.wait_for(lambda: "🔥 hot only" in cy.message(mid).text)
    rows = [line for line in cy.message(mid).text.splitlines() if re.match(r"^\d+\. ", line)]
    assert rows and all(" 🔥 " in line for line in rows)
    await cy.press(mid, "✅ 🔥 Hot")  # pressing the active filter clears it
    await cy.wait_for(lambda: "🔥 hot only" not in cy.message(mid).text)

    await cy.press(mid, "↕ Best score")
    await cy.wait_for(lambda: "by score" in cy.message(mid).text)
    scores = [int(m) for m in re.findall(r"^\d+\. \S+ .* · (\d+)", cy.message(mid).text, re.M)]
    assert scores == sorted(scores, reverse=True) and len(scores) == 10

    await cy.press(mid, "≥ 70")
    await cy.wait_for(lambda: "score ≥ 70" in cy.message(mid).text)
    assert all(s >= 70 for s in map(int, re.findall(r"^\d+\. \S+ .* · (\d+)", cy.message(mid).text, re.M)))

    await cy.press(mid, "🏷 By tag")
    await cy.wait_for(lambda: "Show contacts with tag" in cy.message(mid).text)
    tag_button = _texts(cy.message(mid))[0]
    await cy.press(mid, tag_button)
    tag = tag_button.removeprefix("🏷 ")
    await cy.wait_for(lambda: f"🏷 {tag} ·" in cy.message(mid).text.splitlines()[0])

    # A lead who wrote after this visit is 🆕 on the next one, and stays marked while paging.
    async with transaction(world.sessions) as s:
        user = await repo.get_user(s, 1005)
        s.add(Contact(user_id=user.id, instagram_id="fresh-lead", name="Fresh Lead", tags=[],
                      last_message="hi!", last_message_at=utcnow(), created_at=utcnow(), updated_at=utcnow()))
    again = await world.say(cy, "/contacts", "📇")
    assert re.search(r"Fresh Lead</b> · — 🆕|Fresh Lead · — 🆕", again.text)
    await cy.press(again.message_id, "›")
    await cy.wait_for(lambda: "page 2/" in str(cy.message(again.message_id).buttons))
    await cy.press(again.message_id, "‹")
    await cy.wait_for(lambda: "🆕" in cy.message(again.message_id).text)

    # /hot: hot leads only, best score first. /sync of the unchanged demo: nothing new.
    hot = await world.say(cy, "/hot", "🔥 hot only")
    scores = [int(m) for m in re.findall(r"^\d+\. 🔥 .* · (\d+)", hot.text, re.M)]
    assert scores and scores == sorted(scores, reverse=True)
    status = await world.say(cy, "/sync", "Syncing Instagram")
    await cy.wait_for(lambda: "✅" in cy.message(status.message_id).text)
    assert "0 new contacts, 0 updated" in cy.message(status.message_id).text
    await world.tg.wait_idle()


async def test_hot_lead_digest_buttons_open_card_and_list(world: BotWorld) -> None:
    from core.db import repo
    from core.db.engine import transaction

    dee = world.user(1006)
    await world.say(dee, "/start", "niche")
    async with transaction(world.sessions) as s:  # no quiet hours, whatever time CI runs at
        user = await repo.get_user(s, 1006)
        user.quiet_start_hour = user.quiet_end_hour = 0
    await world.say(dee, "fitness coach", "goal")
    prompt = await world.say(dee, "sell my program", "connect")
    await dee.press(prompt.message_id, "🎬 Try the demo account")
    digest = await world.new_message(dee, prompt.message_id, "hot leads need you", timeout=60)
    # Grouped, not a wall: the count, the best three with what they wrote, a button to see all.
    count = int(digest.text.split("🔥 ", 1)[1].split(" ", 1)[0])
    lead_buttons = [t for t in _texts(digest) if t.startswith("🔥 ") and t != "🔥 All hot leads"]
    assert count > 3 and len(lead_buttons) == 3 and "🔥 All hot leads" in _texts(digest)
    assert [line[:3] for line in digest.text.splitlines() if line[:1].isdigit()] == ["1. ", "2. ", "3. "]
    assert digest.text.count("💬") <= 3 and f"+ {count - 3} more" in digest.text
    lead_button = lead_buttons[0]
    await dee.press(digest.message_id, lead_button)
    card = await world.new_message(dee, digest.message_id, "last message")
    assert lead_button.removeprefix("🔥 ").split(" · ")[0][:10] in card.text
    await dee.press(digest.message_id, "🔥 All hot leads")
    hot = await world.new_message(dee, card.message_id, "🔥 hot only")
    assert "by score" in hot.text
    assert dee.message(digest.message_id).edited == 0  # the alert itself stays as it was
    await world.tg.wait_idle()
