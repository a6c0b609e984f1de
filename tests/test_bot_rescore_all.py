"""Rescore everyone from the bot: offered where a creator looks (/autoscore when everyone is scored), with the
count and a confirmation, and suggested once after the niche or goal changes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.callbacks import RunCb
from core.db.models import ScoringItem, ScoringRun
from standins.telegram import Message, SimUser
from tests.bot_harness import BotWorld, bot_world, no_run_in_progress, onboard_demo

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def world(db_url, sessions, redis_url, unique) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w
        assert w.tg.errors == [], [e.description for e in w.tg.errors]


def button(msg: Message, prefix: str) -> tuple[str, str]:
    text, data = next((t, d) for row in msg.buttons for t, d in row if t.startswith(prefix))
    assert data is not None
    return text, data


async def press(user: SimUser, mid: int, prefix: str) -> None:
    cb = await user.press(mid, button(user.message(mid), prefix)[1])
    await user.wait_answered(cb)


async def test_autoscore_offers_rescoring_everyone_with_count_and_confirmation(world: BotWorld) -> None:
    ann = world.user(1701)
    await onboard_demo(world, ann)
    await no_run_in_progress(world, 1200)
    done = await world.say(ann, "/autoscore", "already scored")
    label, data = button(done, "♻️ Rescore everyone")
    assert "120" in label and RunCb.unpack(data) == RunCb(a="all", id=120)
    await press(ann, done.message_id, "♻️ Rescore everyone")
    confirm = ann.message(done.message_id)
    assert "120" in confirm.text and RunCb.unpack(button(confirm, "✅")[1]).a == "allok"
    await press(ann, done.message_id, "✅")
    await no_run_in_progress(world, 1200)
    async with world.sessions() as session:
        run = (await session.execute(select(ScoringRun).where(ScoringRun.scope == "all"))).scalar_one()
        statuses = (await session.execute(select(ScoringItem.status, func.count()).where(
            ScoringItem.run_id == run.id).group_by(ScoringItem.status))).all()
    assert run.total == 120 and dict(statuses) == {"done": 120}  # every lead scored again: the model was called


async def test_a_niche_change_suggests_rescoring_everyone_once(world: BotWorld) -> None:
    ann = world.user(1702)
    await onboard_demo(world, ann)
    await no_run_in_progress(world, 1200)
    shown = await world.say(ann, "/settings", "Settings")
    after = max(ann.state.messages)
    await press(ann, shown.message_id, "✏️ Niche")
    prompt = await world.new_message(ann, after, "Niche")
    await ann.reply(prompt.message_id, "yoga teacher")
    suggestion = await world.new_message(ann, prompt.message_id, "changed")
    assert RunCb.unpack(button(suggestion, "♻️ Rescore everyone")[1]).a == "all"
    # The same niche again is no change: no second suggestion.
    await press(ann, shown.message_id, "✏️ Niche")
    again = await world.new_message(ann, suggestion.message_id, "Niche")
    await ann.reply(again.message_id, "yoga teacher")
    await world.new_message(ann, again.message_id + 1, "Settings")
    await world.tg.wait_idle()
    assert not any("changed" in m.text for m in ann.chat if m.message_id > again.message_id)
