"""Tags as the creator writes them: emoji sequences intact, their case kept (compared case-insensitively),
a shortened tag said so; through the real bot and the Telegram stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.callbacks import ContactCb
from core.db import repo
from core.rules import MAX_TAG_LEN, clean_tag, normalize_tags
from standins.telegram import SimUser
from tests.bot_harness import BotWorld, bot_world, no_run_in_progress, onboard_demo

pytestmark = pytest.mark.timeout(150)

FAMILY = "👩\u200d👩\u200d👧\u200d👦"
RAINBOW = "🏳️\u200d🌈"
HEART_ON_FIRE = "❤️\u200d🔥"


def test_clean_tag_keeps_graphemes_and_case() -> None:
    assert clean_tag(f"  #{FAMILY} Fam ").text == f"{FAMILY} Fam"
    assert clean_tag(RAINBOW).text == RAINBOW and clean_tag(HEART_ON_FIRE).text == HEART_ON_FIRE
    assert clean_tag("VIP").text == "VIP"
    # Invisible characters that join nothing are dropped (they would make look-alike tags differ).
    assert clean_tag("\u200bvip\u202e").text == "vip" and clean_tag("v\u200dip").text == "vip"
    long = clean_tag(FAMILY * 30)
    assert long.shortened and long.text == FAMILY * (len(long.text) // len(FAMILY))  # cut between graphemes
    assert not clean_tag("x" * MAX_TAG_LEN).shortened and clean_tag("x" * (MAX_TAG_LEN + 1)).shortened
    assert normalize_tags(["VIP", "vip", "Vip", "lead"]) == ["VIP", "lead"]  # one tag, first spelling wins


async def open_tags(world: BotWorld, ann: SimUser) -> tuple[int, int]:
    listing = await world.say(ann, "/contacts", "📇")
    mid = listing.message_id
    text, data = listing.buttons[0][0]
    await ann.press(mid, text)
    await ann.wait_for(lambda: "🏷 Tags" in str(ann.message(mid).buttons))
    await ann.press(mid, "🏷 Tags")
    await ann.wait_for(lambda: "Tags for" in ann.message(mid).text)
    assert data is not None
    return mid, ContactCb.unpack(data).id


async def add_tag(world: BotWorld, ann: SimUser, mid: int, text: str) -> str:
    after = max(ann.state.messages)
    await ann.press(mid, "➕ New tag")
    prompt = await world.new_message(ann, after, "reply with a new tag")
    await ann.reply(prompt.message_id, text)
    # The tag's answer, not a push that may come in between (the demo's hot-lead alert, say).
    answers = ("Added tag", "already on this contact")
    answer = await ann.wait_for(lambda: next((m for m in ann.chat if m.message_id > prompt.message_id + 1
                                              and any(a in m.text for a in answers)), None), 15)
    return str(answer.text)


@pytest.fixture
async def world(db_url, sessions, redis_url, unique) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w
        assert w.tg.errors == [], [e.description for e in w.tg.errors]


async def test_new_tags_keep_emoji_sequences_case_and_say_when_shortened(world: BotWorld) -> None:
    ann = world.user(1301)
    await onboard_demo(world, ann)
    mid, contact_id = await open_tags(world, ann)

    assert "Added tag" in await add_tag(world, ann, mid, f"{FAMILY} VIP")
    answer = await add_tag(world, ann, mid, f"{RAINBOW}{HEART_ON_FIRE} " + "a" * 40)
    assert "Added tag" in answer and "shortened" in answer
    assert "already on this contact" in await add_tag(world, ann, mid, f"{FAMILY} vip")  # same tag, other case
    async with world.sessions() as session:
        user = await repo.get_user(session, 1301)
        assert user is not None
        contact = await repo.get_contact(session, user.id, contact_id)
    assert contact is not None
    assert f"{FAMILY} VIP" in contact.tags
    long = next(t for t in contact.tags if t.startswith(RAINBOW))
    assert long == f"{RAINBOW}{HEART_ON_FIRE} " + "a" * (MAX_TAG_LEN - 3)


def labels(msg_buttons: list[list[tuple[str, str | None]]]) -> list[str]:
    return [t.removeprefix("✅ ") for row in msg_buttons for t, _ in row if t not in ("➕ New tag", "‹ Back to card")]


async def test_tag_buttons_keep_their_places_when_toggled(world: BotWorld) -> None:
    ann = world.user(1302)
    await onboard_demo(world, ann)
    await no_run_in_progress(world)  # the demo's first run writes AI tags: only our presses may change them
    mid, contact_id = await open_tags(world, ann)
    assert "Added tag" in await add_tag(world, ann, mid, "zz only here")  # a tag no other contact has
    mid, again = await open_tags(world, ann)  # a fresh editor on the same contact
    assert again == contact_id
    before = labels(ann.message(mid).buttons)
    assert len(before) >= 3 and "zz only here" in before
    zz = before.index("zz only here")
    for position in (2, 2, zz, zz):  # on, off; then off (its only use: it stays to be put back) and on again
        row_label = [t for row in ann.message(mid).buttons for t, _ in row
                     if t.removeprefix("✅ ") == before[position]][0]
        cb = await ann.press(mid, row_label)
        await ann.wait_answered(cb)
        assert labels(ann.message(mid).buttons) == before  # the same tag under the same button
