"""The creator's own stages (issue 14: "at most 8"), through core/services/stages.py on both databases: added
among the open ones up to MAX_STAGES, keys stable through renames and never reused, names unique
case-insensitively, removal moves the stage's leads to the stage before it, won/lost still close a lead; the
stored list survives the migration from the old {key: name} form."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from core.db import repo
from core.db.engine import alembic_config, make_engine, make_sessionmaker, transaction
from core.db.models import Contact, User
from core.db.repo import ContactQuery, Filter, Sort
from core.rules import (
    MAX_STAGES,
    STAGE_KEYS,
    custom_stage_code,
    is_hot,
    parse_stage,
    stage_code,
    stage_key,
    stage_list,
    stage_names,
)
from core.services import export, stages
from core.services.stats import stats
from core.timeutil import utcnow
from tests.conftest import temp_pg_database

T0 = utcnow().replace(microsecond=0) - timedelta(hours=1)


async def _creator(sessions, telegram_id: int = 1490, leads: int = 3) -> tuple[int, list[int]]:
    async with transaction(sessions) as s:
        user = await repo.ensure_user(s, telegram_id, telegram_id)
        await s.flush()
        s.add_all([Contact(user_id=user.id, instagram_id=f"ig{n}", name=f"Lead {n}", tags=[], lead_score=90,
                           last_message_at=T0 + timedelta(minutes=n)) for n in range(leads)])
        await s.flush()
        uid = user.id
    async with sessions() as s:
        ids = list((await s.execute(select(Contact.id).where(Contact.user_id == uid).order_by(Contact.id))).scalars())
    return telegram_id, ids


async def _user(s, telegram_id: int) -> User:
    user = await repo.get_user(s, telegram_id)
    assert user is not None
    return user


async def test_add_up_to_eight_rename_keeps_key_names_unique(sessions) -> None:
    tid, _ = await _creator(sessions)
    async with sessions() as s:
        user = await _user(s, tid)
        added = await stages.add_stage(s, user, "  call   booked ", after="talking")
        assert isinstance(added, stages.StageAdded) and (added.name, added.after) == ("call booked", "talking")
        key = added.stage
        assert custom_stage_code(key) is not None and len(key) <= 16 and key not in STAGE_KEYS
        assert list(stages.names_of(user)) == ["new", "talking", key, "offer", "won", "lost"]
        # Names are unique whatever the case (a built-in's default name too); empty names and closed places refused.
        assert await stages.add_stage(s, user, "CALL BOOKED") is stages.StageRefused.NAME_TAKEN
        assert await stages.add_stage(s, user, "Offer Sent") is stages.StageRefused.NAME_TAKEN
        assert await stages.add_stage(s, user, " \u200b ") is stages.StageRefused.EMPTY_NAME
        assert await stages.add_stage(s, user, "later", after="won") is stages.StageRefused.BAD_PLACE
        assert await stages.add_stage(s, user, "later", after="c999") is stages.StageRefused.UNKNOWN_STAGE
        # Default place: the last open stage, just before won and lost.
        demo = await stages.add_stage(s, user, "demo done")
        paid = await stages.add_stage(s, user, "invoice", after="new")
        assert isinstance(demo, stages.StageAdded) and isinstance(paid, stages.StageAdded)
        assert list(stages.names_of(user)) == ["new", paid.stage, "talking", key, "offer", demo.stage, "won", "lost"]
        assert len(stages.names_of(user)) == MAX_STAGES
        assert await stages.add_stage(s, user, "one too many") is stages.StageRefused.TOO_MANY

        renamed = await stages.rename_stage(s, user, key, "Call booked 📞")
        assert renamed == stages.StageRenamed(key, "Call booked 📞")
        assert await stages.rename_stage(s, user, demo.stage, "call BOOKED 📞") is stages.StageRefused.NAME_TAKEN
        assert await stages.rename_stage(s, user, "offer", "proposal") == stages.StageRenamed("offer", "proposal")
    async with sessions() as s:  # as stored: a fresh read gives the same order, keys and names
        names = stages.names_of(await _user(s, tid))
    assert list(names.items()) == [("new", "new"), (paid.stage, "invoice"), ("talking", "talking"),
                                   (key, "Call booked 📞"), ("offer", "proposal"), (demo.stage, "demo done"),
                                   ("won", "won"), ("lost", "lost")]
    # Callback data carries a stage's code: short, and the same key back.
    assert all(stage_key(stage_code(k)) == k for k in names) and stage_key(-1) == stage_key(10_000) == ""


async def test_remove_moves_leads_to_the_stage_before_and_keys_are_not_reused(sessions) -> None:
    tid, ids = await _creator(sessions, 1491)
    async with sessions() as s:
        user = await _user(s, tid)
        call = await stages.add_stage(s, user, "call booked", after="talking")
        assert isinstance(call, stages.StageAdded)
        for cid in ids[:2]:
            assert isinstance(await stages.set_stage(s, user, cid, call.stage), stages.StageSet)
        assert await stages.remove_stage(s, user, "talking") is stages.StageRefused.BUILT_IN
        plan = await stages.removal_plan(s, user, call.stage)
        assert plan == stages.StageRemoval(call.stage, "call booked", 2, "talking", "talking")
        done = await stages.remove_stage(s, user, call.stage)
        assert done == plan
        assert call.stage not in stages.names_of(user)
        # A card's button from before the removal no longer names a stage.
        assert await stages.set_stage(s, user, ids[2], call.stage) is stages.StageRefused.UNKNOWN_STAGE
        again = await stages.add_stage(s, user, "call booked", after="talking")
        assert isinstance(again, stages.StageAdded) and again.stage != call.stage
        assert await stages.remove_stage(s, user, call.stage) is stages.StageRefused.UNKNOWN_STAGE
    async with sessions() as s:
        rows = {c.id: c for c in (await s.execute(select(Contact).where(Contact.id.in_(ids)))).scalars()}
    assert [(rows[c].stage, rows[c].stage_source) for c in ids] == [("talking", "manual")] * 2 + [("new", None)]
    assert rows[ids[0]].stage_changed_at is not None


async def test_won_and_lost_still_close_leads_among_own_stages(sessions) -> None:
    tid, ids = await _creator(sessions, 1492)
    query = ContactQuery(Filter.hot, Sort.score, hot_threshold=80)
    async with sessions() as s:
        user = await _user(s, tid)
        call = await stages.add_stage(s, user, "call booked")
        assert isinstance(call, stages.StageAdded)
        assert isinstance(await stages.set_stage(s, user, ids[0], call.stage), stages.StageSet)
        assert isinstance(await stages.set_stage(s, user, ids[1], "won"), stages.StageSet)
        assert isinstance(await stages.set_stage(s, user, ids[2], "LOST"), stages.StageSet)
        hot = {c.id for c in (await repo.list_contacts(s, user.id, 1, query)).contacts}
        assert hot == {ids[0]}  # an own stage is an open one
        reopened = await stages.set_stage(s, user, ids[1], call.stage)
        assert isinstance(reopened, stages.StageSet) and reopened.name == "call booked"
        assert is_hot(reopened.contact.lead_score, 80, reopened.contact.stage, reopened.contact.shelf)
        hot = {c.id for c in (await repo.list_contacts(s, user.id, 1, query)).contacts}
        assert hot == {ids[0], ids[1]}

        # Every place that lists stages follows the creator's list: the stage filter, the menu, /stats, /export.
        filtered = await repo.list_contacts(s, user.id, 1, ContactQuery(Filter.stage, stage=call.stage))
        assert {c.id for c in filtered.contacts} == {ids[0], ids[1]}
        seen = await stages.overview(s, user)
        assert list(seen.counts) == list(stages.names_of(user)) and seen.counts[call.stage] == 2
        got = await stats(s, user, utcnow())
        assert [(r.key, r.label, r.now) for r in got.stages] == [
            ("new", "new", 0), ("talking", "talking", 0), ("offer", "offer sent", 0),
            (call.stage, "call booked", 2), ("won", "won", 0), ("lost", "lost", 1)]
        csv_bytes, count = await export.contacts_csv(s, user)
        assert count == 3 and csv_bytes.decode("utf-8-sig").count("call booked") == 2
        # The AI only ever names the five built-in stages; a stage set by back-to-AI is one of them.
        assert parse_stage(call.stage) is None
        back = await stages.stage_back_to_ai(s, user, ids[0])
        assert isinstance(back, stages.StageSet) and back.stage == "new"


def test_the_stored_list_is_read_defensively() -> None:
    defaults = list(stage_names(None).items())
    assert defaults == [("new", "new"), ("talking", "talking"), ("offer", "offer sent"), ("won", "won"),
                        ("lost", "lost")]
    assert stage_names({"offer": "proposal"})["offer"] == "proposal"  # the form before the stage-list migration
    broken = [{"key": "won", "name": "paid"}, {"key": "c5", "name": "call"}, {"key": "zz", "name": "x"},
              {"key": "c6", "name": "  "}, {"key": "c7", "name": "old", "removed": True}, "junk",
              {"key": "c5", "name": "twice"}]
    assert stage_list(broken) == [("new", "new"), ("talking", "talking"), ("c5", "call"), ("offer", "offer sent"),
                                  ("won", "paid"), ("lost", "lost")]
    many = [{"key": f"c{n}", "name": f"s{n}"} for n in range(5, 12)]
    assert [k for k, _ in stage_list(many)] == ["new", "talking", "c5", "c6", "c7", "offer", "won", "lost"]


def _before_stage_list(url: str) -> str:
    """The revision before the stage-list migration (found by its file: its number moves as others land)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    found = next(r for r in script.walk_revisions() if r.path.endswith("_stage_list.py"))
    assert isinstance(found.down_revision, str)
    return found.down_revision


async def _upgrade_from_old_names(url: str) -> list:
    await asyncio.to_thread(command.upgrade, alembic_config(url), _before_stage_list(url))
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for n, names in enumerate(['{"offer": "proposal", "won": "paid 🎉"}', None]):
                await conn.execute(text(
                    "INSERT INTO users (telegram_id, onboarding_step, ig_reconnect_notified, alerts_enabled,"
                    " alert_threshold, timezone, quiet_start_hour, quiet_end_hour, created_at, updated_at,"
                    " stage_names) VALUES (:tid, 'done', false, true, 80, 'UTC', 22, 8, :t, :t, :names)"),
                    {"tid": 70 + n, "t": T0, "names": names})
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        async with make_sessionmaker(engine)() as session:
            return list((await session.execute(select(User.stage_names).order_by(User.telegram_id))).scalars())
    finally:
        await engine.dispose()


EXPECTED = [[{"key": "new", "name": "new"}, {"key": "talking", "name": "talking"}, {"key": "offer", "name": "proposal"},
             {"key": "won", "name": "paid 🎉"}, {"key": "lost", "name": "lost"}], None]


async def test_migration_converts_old_stage_names_on_sqlite(tmp_path: Path) -> None:
    assert await _upgrade_from_old_names(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}") == EXPECTED


async def test_migration_converts_old_stage_names_on_postgresql() -> None:
    async with temp_pg_database("lg_test_st") as url:
        got = await _upgrade_from_old_names(url)
    assert got == EXPECTED


async def test_own_stage_through_the_bot(db_url, sessions, redis_url, unique) -> None:
    """/stages ➕ after talking → the card's picker offers it → a lead set to it → /contacts' stage filter shows
    that lead; /stages add refuses a ninth stage in words; 🗑 asks, then moves the lead to talking."""
    from bot.callbacks import ContactCb, StageCb
    from tests.bot_harness import bot_world
    from tests.test_lifecycle_stages import contact, labels, scored_demo

    async with bot_world(db_url, sessions, redis_url, unique) as world:
        ann, uid = await scored_demo(world, 1496)
        shown = await world.say(ann, "/stages", "Your stages")
        sid = shown.message_id
        await ann.press(sid, "➕ Add a stage")
        await ann.wait_for(lambda: "after 💬 talking" in labels(ann.message(sid)))
        await ann.press(sid, "after 💬 talking")
        prompt = await world.new_message(ann, sid, "reply with its name")
        assert prompt.force_reply
        await ann.reply(prompt.message_id, "Offer SENT")  # the offer stage's name: refused, nothing added
        await world.new_message(ann, prompt.message_id, "already has that name")
        await ann.reply(prompt.message_id, " Call   booked ")
        added = await world.new_message(ann, prompt.message_id, "Added")
        assert labels(added)[:4] == ["✏️ 🆕 new", "✏️ 💬 talking", "✏️ 🔹 Call booked", "🗑"]
        async with sessions() as s:
            creator = await repo.get_user(s, 1496)
            assert creator is not None
            key = next(k for k, name in stages.names_of(creator).items() if name == "Call booked")
        taken = await world.say(ann, "/stages add call BOOKED", "already has that name")
        assert "Nothing added" in taken.text
        for n in range(2):  # 8 stages in all
            await world.say(ann, f"/stages add step {n}", "Added")
        refused = await world.say(ann, "/stages add one too many", "the most there can be")
        assert "Added" not in refused.text

        listing = await world.say(ann, "/contacts", "📇")
        lid = listing.message_id
        target = ContactCb.unpack(listing.buttons[0][0][1]).id
        await ann.press(lid, listing.buttons[0][0][0])
        await ann.wait_for(lambda: any(t.endswith(" ▾") for t in labels(ann.message(lid))))
        await ann.press(lid, next(t for t in labels(ann.message(lid)) if t.endswith(" ▾")))  # the card's stage
        await ann.wait_for(lambda: "🔹 Call booked" in labels(ann.message(lid)))
        await ann.press(lid, "🔹 Call booked")
        await ann.wait_for(lambda: "🏁 Call booked ▾" in labels(ann.message(lid)))
        lead = await contact(world, uid, target)
        assert (lead.stage, lead.stage_source) == (key, "manual")
        await ann.press(lid, "♻️ Rescore")  # the AI suggests only built-in stages and never moves the creator's
        for _ in range(300):
            rescored = await contact(world, uid, target)
            if rescored.scored_at != lead.scored_at:
                break
            await asyncio.sleep(0.1)
        assert rescored.scored_at != lead.scored_at and rescored.ai_stage in STAGE_KEYS
        assert (rescored.stage, rescored.stage_source) == (key, "manual")

        listing = await world.say(ann, "/contacts", "📇")
        lid = listing.message_id
        await ann.press(lid, "🏁 Stage")
        await ann.wait_for(lambda: "🔹 Call booked · 1" in labels(ann.message(lid)))
        await ann.press(lid, "🔹 Call booked · 1")
        await ann.wait_for(lambda: "✅ 🏁 Call booked" in labels(ann.message(lid)))
        listed = [ContactCb.unpack(d).id for row in ann.message(lid).buttons for _, d in row if d.startswith("c:")]
        assert listed == [target]

        shown = await world.say(ann, "/stages", "Your stages")
        await ann.press(shown.message_id, StageCb(a="del", k=int(key[1:])).pack())
        await ann.wait_for(lambda: "move to “talking”" in ann.message(shown.message_id).text)
        await ann.press(shown.message_id, "🗑 Remove")
        await ann.wait_for(lambda: "Removed" in ann.message(shown.message_id).text)
        assert (await contact(world, uid, target)).stage == "talking"
        assert world.tg.errors == [] and world.tg.unanswered_callbacks == []
