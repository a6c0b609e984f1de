"""/autoscore tells one story: progress, then the summary with every hot lead reachable, and no push alert
repeating the leads the summary names."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, update

from bot.callbacks import ListCb
from core.db.models import Alert, Contact, ScoringItem, ScoringRun, User
from tests.bot_harness import BotWorld, bot_world, onboard_demo

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
async def world(db_url, sessions, redis_url, unique) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w
        assert w.tg.errors == [], [e.description for e in w.tg.errors]


async def settled(world: BotWorld) -> None:
    """No run running and no alert waiting to be pushed."""
    for _ in range(1800):
        async with world.sessions() as session:
            running = (await session.execute(select(func.count()).select_from(ScoringRun).where(
                ScoringRun.status == "running"))).scalar_one()
            waiting = (await session.execute(select(func.count()).select_from(Alert).where(
                Alert.status.in_(("pending", "sending"))))).scalar_one()
        if not running and not waiting:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("background work did not settle")


async def test_autoscore_summary_names_every_hot_lead_and_no_push_repeats_them(world: BotWorld) -> None:
    ann = world.user(1801)
    await onboard_demo(world, ann)
    await settled(world)
    async with world.sessions() as session, session.begin():
        await session.execute(update(User).values(quiet_start_hour=0, quiet_end_hour=0))  # pushes allowed now
        # Everyone unscored again: the /autoscore run below makes the hot ones hot afresh.
        await session.execute(update(Contact).values(lead_score=None, score_source=None, sentiment=None,
                                                     scored_at=None, scored_through=None))
    before = max(ann.state.messages)
    progress = await world.say(ann, "/autoscore", "processed")
    await ann.wait_for(lambda: "Scoring finished" in ann.message(progress.message_id).text, timeout=240)
    await settled(world)
    await world.tg.wait_idle(quiet=1.0)

    async with world.sessions() as session:
        run = (await session.execute(select(ScoringRun).order_by(ScoringRun.id.desc()).limit(1))).scalar_one()
        hot_ids = set((await session.execute(select(ScoringItem.contact_id).where(
            ScoringItem.run_id == run.id, ScoringItem.became_hot.is_(True)))).scalars())
        statuses = dict((await session.execute(select(Alert.contact_id, Alert.status).where(
            Alert.contact_id.in_(hot_ids), Alert.created_at >= run.started_at))).all())
    assert len(hot_ids) > 10 and run.hot_found == len(hot_ids)
    assert set(statuses) == hot_ids and set(statuses.values()) == {"in_summary"}  # covered, never pushed
    new = [m for m in ann.chat if m.message_id > before]
    assert [m.message_id for m in new] == [progress.message_id]  # the summary is the progress message, alone
    summary = ann.message(progress.message_id)
    all_hot = next(d for row in summary.buttons for t, d in row if t.startswith("🔥 All hot leads"))
    assert all_hot is not None and ListCb.unpack(all_hot) == ListCb(p=1, f="hot", s="score")
    assert f"({len(hot_ids)})" in next(t for row in summary.buttons for t, _ in row if t.startswith("🔥 All"))
