"""/find end to end through the Telegram stand-in, and contacts.search_text kept exact by every writer."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.callbacks import ContactCb
from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, Message
from core.db.search import search_text
from core.rules import search_key
from core.services import shelf
from tests.bot_harness import bot_world
from tests.test_lifecycle_notes import _demo_creator
from tests.test_lifecycle_stages import labels

pytestmark = pytest.mark.timeout(180)


async def expected_texts(sessions, uid: int) -> dict[int, str]:
    async with sessions() as s:
        contacts = list((await s.execute(select(Contact).where(Contact.user_id == uid))).scalars())
        msgs = list((await s.execute(select(Message).where(Message.user_id == uid).order_by(
            Message.contact_id, Message.created_at.desc(), Message.id.desc()))).scalars())
    texts: dict[int, list[str]] = {}
    for m in msgs:
        if m.text and len(texts.setdefault(m.contact_id, [])) < 40:
            texts[m.contact_id].append(m.text)
    return {c.id: search_text(c.name, c.username, c.tags, texts.get(c.id, [])) for c in contacts}


async def stored_texts(sessions, uid: int) -> dict[int, str]:
    async with sessions() as s:
        return dict((await s.execute(select(Contact.id, Contact.search_text).where(Contact.user_id == uid))).all())


def matching(texts: dict[int, str], needle: str) -> set[int]:
    return {cid for cid, text in texts.items() if search_key(needle) in text}


def listed(message) -> list[int]:
    return [ContactCb.unpack(d).id for row in message.buttons for _, d in row if d.startswith("c:")]


async def test_find_by_name_username_tag_and_message(db_url, sessions, redis_url, unique) -> None:
    uid = await _demo_creator(sessions, 1421)  # sync + profiles are writers too
    texts = await expected_texts(sessions, uid)
    assert await stored_texts(sessions, uid) == texts and all(texts.values())

    async with bot_world(db_url, sessions, redis_url, unique) as world:
        ann = world.user(1421)
        # Manual tags are a writer: the new tag is searchable at once, accents and case ignored.
        target = min(texts)
        async with transaction(sessions) as s:
            await repo.set_manual_tags(s, uid, target, ["Café VIP"])
        texts = await expected_texts(sessions, uid)
        assert (await stored_texts(sessions, uid))[target] == texts[target]
        found = await world.say(ann, "/find CAFE", "📇")
        assert "Contacts · 1 " in found.text and listed(found) == [target]

        # Words from the chat, an @username, a name: each a normal list with the exact count.
        for needle in ("NUTRITIÓN", "price", "ko"):
            result = await world.say(ann, f"/find {needle}", "📇")
            assert f"Contacts · {len(matching(texts, needle))} " in result.text, needle
        async with sessions() as s:
            someone = (await s.execute(select(Contact).where(Contact.user_id == uid, Contact.username.is_not(None))
                                       .order_by(Contact.id.desc()).limit(1))).scalar_one()
        by_handle = await world.say(ann, f"/find @{someone.username}", "📇")
        assert someone.id in listed(by_handle)

        # Paging stays in the results.
        common = await world.say(ann, "/find the", "📇")
        total = len(matching(texts, "the"))
        assert total > 10 and f"Contacts · {total} " in common.text and "page 1/" in str(common.buttons)
        await ann.press(common.message_id, "›")
        await ann.wait_for(lambda: "page 2/" in str(ann.message(common.message_id).buttons))
        page2 = listed(ann.message(common.message_id))
        assert page2 and set(page2) <= matching(texts, "the")

        # After a newer /find, the older results message still pages its own search ("the" rides in its buttons).
        newer = await world.say(ann, "/find price", "📇")
        assert f"Contacts · {len(matching(texts, 'price'))} " in newer.text
        await ann.press(common.message_id, "‹")
        await ann.wait_for(lambda: "page 1/" in str(ann.message(common.message_id).buttons))
        assert listed(ann.message(common.message_id)) == listed(common)
        assert f"Contacts · {total} " in ann.message(common.message_id).text

        # The 🔎 button asks by reply; a shelved lead is still found (search is how you jump to anyone).
        async with sessions() as s:
            creator = await repo.get_user(s, 1421)
            assert creator is not None
            assert isinstance(await shelf.shelve(s, creator, target, "archived"), shelf.Shelved)
        listing = await world.say(ann, "/contacts", "📇")
        await ann.press(listing.message_id, "🔎 Find")
        prompt = await world.new_message(ann, listing.message_id, "reply with a name")
        assert prompt.force_reply
        await ann.reply(prompt.message_id, "café")
        again = await world.new_message(ann, prompt.message_id, "📇")
        assert listed(again) == [target] and "✖️ 🔎 Clear" in labels(again)

        # Nothing searchable: said in words, nothing changes.
        refused = await world.say(ann, "/find \u0301", "Type something to find")
        assert "📇" not in refused.text
        await world.tg.wait_idle()
        assert world.tg.errors == [], [(e.method, e.error) for e in world.tg.errors]


async def test_search_text_follows_scoring_and_back_to_ai(db_url, sessions, redis_url, unique) -> None:
    from core.services import back_to_ai, scoring

    uid = await _demo_creator(sessions, 1422)
    async with bot_world(db_url, sessions, redis_url, unique) as world:
        started = await scoring.start_run(sessions, world.app.deps.queue, uid, scope="all")
        for _ in range(900):
            async with sessions() as s:
                run = await scoring.get_run(s, uid, started.id)
            if run is not None and run.status == "done":
                break
            await asyncio.sleep(0.1)
        assert run is not None and run.status == "done"
        assert await stored_texts(sessions, uid) == await expected_texts(sessions, uid)  # AI tags searchable
        target = min(await stored_texts(sessions, uid))
        async with sessions() as s:
            creator = await repo.get_user(s, 1422)
            assert creator is not None
            await repo.set_manual_tags(s, uid, target, ["zzmanual"])
            await s.commit()
            assert "zzmanual" in (await stored_texts(sessions, uid))[target]
            result = await back_to_ai.tags_back_to_ai(s, sessions, world.app.deps.queue, creator, target)
            assert isinstance(result, back_to_ai.BackToAi)
        stored = await stored_texts(sessions, uid)
        assert "zzmanual" not in stored[target] and stored == await expected_texts(sessions, uid)
