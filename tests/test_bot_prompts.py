"""Typed score and new tag prompts: stateless (any replica answers), no internal id shown, the creator's place in
the list kept, and a refused score asks again. Through the real bot and the Telegram stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.callbacks import ContactCb, ListCb
from core.db import repo
from standins.telegram import Message, SimUser
from tests.bot_harness import BotWorld, bot_world, onboard_demo

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def world(db_url, sessions, redis_url, unique) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w
        assert w.tg.errors == [], [e.description for e in w.tg.errors]


def data_of(msg: Message, label: str) -> str:
    found = next(d for row in msg.buttons for t, d in row if t.startswith(label))
    assert found is not None
    return found


async def tap(user: SimUser, mid: int, label: str) -> Message:
    cb = await user.press(mid, data_of(user.message(mid), label))
    await user.wait_answered(cb)
    return user.message(mid)


async def card_on_page_three(world: BotWorld, ann: SimUser) -> tuple[int, int]:
    """/contacts → best score first → page 3 → the first lead's card: (message id, contact id)."""
    listing = await world.say(ann, "/contacts", "📇")
    mid = listing.message_id
    await tap(ann, mid, "↕ Best score")
    await tap(ann, mid, "›")
    shown = await tap(ann, mid, "›")
    assert "page 3/" in str(shown.buttons)
    card_data = shown.buttons[0][0][1]
    assert card_data is not None
    await ann.press(mid, card_data)
    await ann.wait_for(lambda: "🎯 Score" in str(ann.message(mid).buttons))
    return mid, ContactCb.unpack(card_data).id


async def prompt_after(world: BotWorld, ann: SimUser, mid: int, label: str, expect: str) -> Message:
    after = max(ann.state.messages)
    await ann.press(mid, data_of(ann.message(mid), label))
    return await world.new_message(ann, after, expect)


async def test_typed_score_keeps_the_place_refuses_and_asks_again_without_an_id(world: BotWorld) -> None:
    ann = world.user(1501)
    await onboard_demo(world, ann)
    mid, contact_id = await card_on_page_three(world, ann)
    await tap(ann, mid, "🎯 Score")
    prompt = await prompt_after(world, ann, mid, "⌨️", "reply with a score")
    assert prompt.force_reply and f"#{contact_id}" not in prompt.text  # no internal id for the creator

    after = max(ann.state.messages)
    await ann.reply(prompt.message_id, "abc")
    again = await world.new_message(ann, after, "reply with a score")  # a refused value re-asks
    assert again.force_reply and again.message_id != prompt.message_id
    await ann.reply(again.message_id, "40")  # the next number answers the new prompt, not the chat
    done = await world.new_message(ann, again.message_id, "Score set to")
    async with world.sessions() as session:
        user = await repo.get_user(session, 1501)
        assert user is not None
        contact = await repo.get_contact(session, user.id, contact_id)
    assert contact is not None and (contact.lead_score, contact.score_source) == (40, "manual")
    assert ListCb.unpack(data_of(done, "‹ Back to list")) == ListCb(p=3, f="all", s="score")


async def test_new_tag_keeps_the_place_without_an_id(world: BotWorld) -> None:
    ann = world.user(1502)
    await onboard_demo(world, ann)
    mid, contact_id = await card_on_page_three(world, ann)
    await tap(ann, mid, "🏷 Tags")
    prompt = await prompt_after(world, ann, mid, "➕ New tag", "reply with a new tag")
    assert f"#{contact_id}" not in prompt.text
    await ann.reply(prompt.message_id, "follow up")
    done = await world.new_message(ann, prompt.message_id, "Added tag")
    back = ContactCb.unpack(data_of(done, "‹ Back to card"))
    assert (back.id, back.p, back.f, back.s) == (contact_id, 3, "all", "score")
