"""Typing a page number to jump, end to end through the Telegram stand-in: the list's page button asks, a reply
jumps (a filtered, re-sorted list and /find results alike); a number past the end shows the last page and says
so; anything that is not a page number is answered in words and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.callbacks import ContactCb
from core.db import repo
from core.db.models import Contact
from core.db.repo import ContactQuery, Filter, Sort
from core.rules import search_key
from standins.telegram import Message, SimUser
from tests.bot_harness import BotWorld, bot_world, no_run_in_progress, onboard_demo

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def world(db_url, sessions, redis_url, unique) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w
        assert w.tg.errors == [], [e.description for e in w.tg.errors]


def page_button(msg: Message) -> str:
    return next(t for row in msg.buttons for t, _ in row if t.startswith("page "))


def listed(msg: Message) -> list[ContactCb]:
    return [ContactCb.unpack(d) for row in msg.buttons for _, d in row if d and d.startswith("c:card:")]


async def ask_and_reply(world: BotWorld, user: SimUser, listing: Message, answer: str, expect: str) -> Message:
    """Press the list's "page N/M" button, reply `answer` to the prompt; the first new message with `expect`."""
    after = max(m.message_id for m in user.chat)
    data = next(d for row in listing.buttons for t, d in row if t.startswith("page "))
    await user.wait_answered(await user.press(listing.message_id, data))
    prompt = await world.new_message(user, after, "page number")
    assert prompt.force_reply
    await user.reply(prompt.message_id, answer)
    return await world.new_message(user, prompt.message_id, expect)


async def expected_ids(world: BotWorld, telegram_id: int, page: int, query: ContactQuery) -> list[int]:
    async with world.sessions() as s:
        user = await repo.get_user(s, telegram_id)
        assert user is not None
        return [c.id for c in (await repo.list_contacts(s, user.id, page, query)).contacts]


async def test_jump_in_a_sorted_list_and_in_find_results(world: BotWorld) -> None:
    ann = world.user(1701)
    await onboard_demo(world, ann)
    await no_run_in_progress(world)  # the demo's first scoring run reorders the list by score while it runs
    listing = await world.say(ann, "/contacts", "📇")
    pages = int(page_button(listing).split("/")[1])
    sorted_list = await world.say(ann, "/contacts", "📇")
    data = next(d for row in sorted_list.buttons for t, d in row if t.startswith("↕"))  # by score
    await ann.wait_answered(await ann.press(sorted_list.message_id, data))
    await ann.wait_for(lambda: "by score" in ann.message(sorted_list.message_id).text, 15)

    # A valid number: that page of the same list (sort kept), and the cards come back to it.
    jumped = await ask_and_reply(world, ann, ann.message(sorted_list.message_id), "3", "📇")
    assert page_button(jumped) == f"page 3/{pages}"
    cards = listed(jumped)
    assert [c.id for c in cards] == await expected_ids(world, 1701, 3, ContactQuery(sort=Sort.score))
    assert all(c.s == Sort.score.value and c.p == 3 for c in cards)

    # Past the end: said in words, and the last page is shown.
    notice = await ask_and_reply(world, ann, jumped, "999", "out of range")
    last = await world.new_message(ann, notice.message_id, "📇")
    assert f"{pages} pages" in notice.text and page_button(last) == f"page {pages}/{pages}"

    # Not a page number: answered in words, no list sent, nothing changed.
    before = max(m.message_id for m in ann.chat)
    for garbage in ("abc", "0", "-2", "2.5", "9" * 30):
        refused = await ask_and_reply(world, ann, last, garbage, "whole number")
        assert "📇" not in refused.text
    await world.tg.wait_idle()
    assert not [m for m in ann.chat if m.message_id > before and listed(m)]  # no list sent
    assert (await world.say(ann, "/contacts two", "page number")).text.startswith("❌")

    # /find results page the same way, within the results.
    found = await world.say(ann, "/find the", "📇")
    async with world.sessions() as s:
        user = await repo.get_user(s, 1701)
        assert user is not None
        matches = set((await s.execute(select(Contact.id).where(
            Contact.user_id == user.id, Contact.search_text.contains(search_key("the"))))).scalars())
    find_pages = int(page_button(found).split("/")[1])
    assert find_pages >= 2
    second = await ask_and_reply(world, ann, found, "2", "📇")
    assert page_button(second) == f"page 2/{find_pages}" and "🔎" in second.text
    assert {c.id for c in listed(second)} <= matches and all(c.f == Filter.search.value for c in listed(second))
    too_far = await ask_and_reply(world, ann, second, str(find_pages + 1), "out of range")
    assert page_button(await world.new_message(ann, too_far.message_id, "📇")) == f"page {find_pages}/{find_pages}"
