"""Small texts a new user trips over (issue 12.12): plurals, no doubled @handle, numbering across pages,
attachments read the same everywhere, page numbers out of range, the page button jumps, a wrap is told."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.callbacks import ContactCb, ListCb
from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact
from standins.telegram import Message, SimUser
from tests.bot_harness import BotWorld, bot_world, onboard_demo
from tests.test_cli import leadgram

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def world(db_url, sessions, redis_url, unique) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w
        assert w.tg.errors == [], [e.description for e in w.tg.errors]


def labels(msg: Message) -> list[str]:
    return [t for row in msg.buttons for t, _ in row]


async def press(user: SimUser, mid: int, label: str) -> dict[str, object]:
    data = next(d for row in user.message(mid).buttons for t, d in row if t.startswith(label))
    assert data is not None
    cb = await user.press(mid, data)
    return await user.wait_answered(cb)


async def test_list_and_card_texts(world: BotWorld) -> None:
    ann = world.user(1601)
    await onboard_demo(world, ann)
    async with transaction(world.sessions) as session:
        user = await repo.get_user(session, 1601)
        assert user is not None
        newest = (await session.execute(select(Contact).where(Contact.user_id == user.id).order_by(
            Contact.last_message_at.desc(), Contact.id.desc()).limit(1))).scalar_one()
        # The newest lead: no display name, one message, a video without words (as Graph sends one).
        await session.execute(update(Contact).where(Contact.id == newest.id).values(
            name=None, username="sofia_b", message_count=1, last_message="", last_message_kind="video"))

    listing = await world.say(ann, "/contacts", "📇")
    mid = listing.message_id
    assert "[video]" in listing.text and "(attachment)" not in listing.text  # as the chat writes it
    assert labels(listing)[0].startswith("1. ")
    answer = await press(ann, mid, "‹")  # page 1 → the last page: told, not silent
    assert "Wrapped" in str(answer.get("text"))
    await press(ann, mid, "›")  # from the last page round to page 1
    await press(ann, mid, "›")
    assert "page 2/" in str(ann.message(mid).buttons)
    assert labels(ann.message(mid))[0].startswith("11. ") and "\n11. " in ann.message(mid).text

    listing = await world.say(ann, "/contacts", "📇")
    await press(ann, listing.message_id, labels(listing)[0])
    card = ann.message(listing.message_id)
    title = card.text.splitlines()[0]
    assert title.count("@sofia_b") == 1  # no "@sofia_b · @sofia_b"
    assert "1 message" in card.text and "1 messages" not in card.text
    assert "💬 “[video]”" in card.text  # the card keeps its last-message line for an attachment


async def test_page_numbers_out_of_range_and_the_page_button(world: BotWorld) -> None:
    ann = world.user(1602)
    await onboard_demo(world, ann)
    after = max(ann.state.messages)
    await ann.send("/contacts 99")
    notice = await world.new_message(ann, after, "out of range")
    shown = await world.new_message(ann, notice.message_id, "📇")
    assert "page 12/12" in str(shown.buttons)
    jumped = await world.say(ann, "/contacts 3", "📇")
    assert "page 3/12" in str(jumped.buttons)

    after = max(ann.state.messages)
    await press(ann, jumped.message_id, "page 3/12")  # the page button asks where to go
    prompt = await world.new_message(ann, after, "page number")
    assert prompt.force_reply
    await ann.reply(prompt.message_id, "7")
    page7 = await world.new_message(ann, prompt.message_id, "📇")
    assert "page 7/12" in str(page7.buttons)
    first = next(d for row in page7.buttons for _, d in row if d and d.startswith("c:card:"))
    assert ContactCb.unpack(first).p == 7 and ListCb(p=7).p == 7


async def test_cli_contacts_page_out_of_range_is_said(tmp_path: Path) -> None:
    code, _, err = await leadgram(tmp_path, "demo")
    assert code == 0, err
    code, out, err = await leadgram(tmp_path, "contacts", "--page", "99")
    assert code == 2 and "page 99 is out of range" in err and "12 pages" in err and out == ""
