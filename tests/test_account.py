"""Issue 15.6, the creator owns their data, end to end through the real bot and the Telegram stand-in:
/disconnect, /delete_my_data, the allowlist and a blocked bot stopping syncs, /demo never silently replacing a
real account, and demo leads never mixing with real ones."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import AccountCb, StartCb
from core.db.engine import transaction
from core.db.models import Alert, Contact, Message, Reminder, ScoringRun, User
from standins.ig_data import synthetic
from standins.instagram import InstagramStandin
from standins.telegram import SimUser
from tests.bot_harness import BotWorld, bot_world, onboard_demo
from workers.scheduler import tick

pytestmark = pytest.mark.timeout(240)
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def world(db_url: str, sessions: Sessions, redis_url: str, unique: str) -> AsyncIterator[dict[str, Any]]:
    async with InstagramStandin(synthetic(6, 2)) as ig, bot_world(
            db_url, sessions, redis_url, unique, ig_api_base=ig.base_url, secret_key="account-test-key") as w:
        yield {"w": w, "ig": ig}
        assert w.tg.errors == [], [(e.method, e.error) for e in w.tg.errors]


async def _user(sessions: Sessions, telegram_id: int) -> User | None:
    async with sessions() as s:
        return (await s.execute(select(User).where(User.telegram_id == telegram_id))).scalar_one_or_none()


async def _count(sessions: Sessions, model: Any, user_id: int) -> int:
    async with sessions() as s:
        return int((await s.execute(select(func.count()).select_from(model)
                                    .where(model.user_id == user_id))).scalar_one())


async def _instagram_ids(sessions: Sessions, user_id: int) -> set[str]:
    async with sessions() as s:
        return set((await s.execute(select(Contact.instagram_id).where(Contact.user_id == user_id))).scalars())


async def _connect(w: BotWorld, user: SimUser, token: str) -> None:
    await w.say(user, "/start", "niche")
    await w.say(user, "coach", "goal")
    await w.say(user, "sell coaching", "connect Instagram")
    status = await w.say(user, f"/connect {token}", "Syncing")
    await user.wait_for(lambda: "✅" in user.message(status.message_id).text, timeout=60)


async def _press(user: SimUser, message_id: int, data: str) -> None:
    await user.wait_answered(await user.press(message_id, data))


_HOURS = iter(range(1, 10_000))


async def _slot_sync(w: BotWorld, telegram_id: int, allowlist: frozenset[int] = frozenset()) -> str | None:
    """What the scheduler does with this creator in a fresh slot: None = a sync is enqueued, else why not."""
    user = await _user(w.sessions, telegram_id)
    assert user is not None
    now = datetime.now(UTC) + timedelta(hours=next(_HOURS))  # a slot of its own: never "already enqueued"
    ticked = await tick(w.app.deps.queue, w.sessions, now, 0.05, allowlist)
    if user.id in ticked.enqueued:
        return None
    return ticked.skipped.get(user.id, "not_connected")  # the tick only looks at connected creators


async def test_disconnect_stops_syncing_and_deletes_the_stored_token(world: dict[str, Any]) -> None:
    w, ig = world["w"], world["ig"]
    ann = w.user(9101)
    await _connect(w, ann, ig.token)
    before = await _user(w.sessions, ann.id)
    assert before is not None and before.ig_token_encrypted and await _slot_sync(w, ann.id) is None
    contacts = await _count(w.sessions, Contact, before.id)

    answer = await w.say(ann, "/disconnect", "Disconnected")
    after = await _user(w.sessions, ann.id)
    assert after is not None and after.ig_source is None and after.ig_token_encrypted is None
    assert "token was deleted" in answer.text
    assert await _slot_sync(w, ann.id) == "not_connected"
    assert await _count(w.sessions, Contact, after.id) == contacts  # the leads stay until /delete_my_data
    again = await w.say(ann, "/disconnect", "disconnect")  # its answer, not a push in between
    assert "nothing to disconnect" in again.text


async def test_delete_my_data_asks_offers_export_and_deletes_everything(world: dict[str, Any]) -> None:
    w = world["w"]
    ann, bob = w.user(9201, "Ann"), w.user(9202, "Bob")
    await onboard_demo(w, ann)
    await onboard_demo(w, bob)
    me = await _user(w.sessions, ann.id)
    assert me is not None
    await w.app.deps.watchers.bot.get_me()
    counts = {m.__name__: await _count(w.sessions, m, me.id) for m in (Contact, Message, ScoringRun, Alert)}
    assert counts["Contact"] > 0 and counts["Message"] > 0
    bob_before = await _count(w.sessions, Contact, (await _user(w.sessions, bob.id)).id)  # type: ignore[union-attr]
    async with transaction(w.sessions) as s:  # a ⏰ reminder on one of Ann's leads
        lead = (await s.execute(select(Contact.id).where(Contact.user_id == me.id).limit(1))).scalar_one()
        s.add(Reminder(user_id=me.id, contact_id=lead, due_at=datetime.now(UTC) + timedelta(days=1),
                       status="pending", snoozes=0, created_at=datetime.now(UTC)))

    ask = await w.say(ann, "/delete_my_data", "Delete all your data?")
    assert "/export" in ask.text
    datas = [data for row in ask.buttons for _, data in row]
    assert datas == [AccountCb(a="delete").pack(), AccountCb(a="keep").pack()]
    await _press(ann, ask.message_id, AccountCb(a="keep").pack())
    assert await _count(w.sessions, Contact, me.id) == counts["Contact"]  # kept: nothing happened

    ask = await w.say(ann, "/delete_my_data", "Delete all your data?")
    await _press(ann, ask.message_id, AccountCb(a="delete").pack())
    done = ann.message(ask.message_id).text
    assert f"{counts['Contact']} contacts" in done and f"{counts['Message']} messages" in done
    assert await _user(w.sessions, ann.id) is None  # settings, token, everything: the row is gone
    for model in (Contact, Message, ScoringRun, Alert, Reminder):
        assert await _count(w.sessions, model, me.id) == 0
    bob_row = await _user(w.sessions, bob.id)
    assert bob_row is not None and await _count(w.sessions, Contact, bob_row.id) == bob_before  # only Ann's
    # Ann can start again from nothing
    assert "niche" in (await w.say(ann, "/start", "niche")).text


async def test_allowlist_removal_and_a_blocked_bot_stop_syncs_until_they_come_back(world: dict[str, Any]) -> None:
    w = world["w"]
    ann = w.user(9301)
    await onboard_demo(w, ann)
    assert await _slot_sync(w, ann.id) is None
    assert await _slot_sync(w, ann.id, allowlist=frozenset({1, 2})) == "not_allowed"

    ann.block(True)  # Telegram sends my_chat_member "kicked"
    async with asyncio.timeout(30):
        while (user := await _user(w.sessions, ann.id)) is None or user.bot_blocked_at is None:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    assert await _slot_sync(w, ann.id) == "bot_blocked"

    await w.say(ann, "/help", "Leadgram")  # any update from them: back
    user = await _user(w.sessions, ann.id)
    assert user is not None and user.bot_blocked_at is None
    assert await _slot_sync(w, ann.id) is None


async def test_demo_never_silently_replaces_a_real_account_and_never_mixes(world: dict[str, Any]) -> None:
    w, ig = world["w"], world["ig"]
    ann = w.user(9401)
    await _connect(w, ann, ig.token)
    me = await _user(w.sessions, ann.id)
    assert me is not None
    real = await _instagram_ids(w.sessions, me.id)
    assert len(real) == 6

    ask = await w.say(ann, "/demo", "replace")
    datas = [data for row in ask.buttons for _, data in row]
    assert datas == [StartCb(a="demo_ok").pack(), StartCb(a="demo_no").pack()]
    await _press(ann, ask.message_id, StartCb(a="demo_no").pack())
    kept = await _user(w.sessions, ann.id)
    assert kept is not None and kept.ig_source == "graph" and kept.ig_token_encrypted
    assert await _instagram_ids(w.sessions, me.id) == real

    ask = await w.say(ann, "/demo", "replace")
    await _press(ann, ask.message_id, StartCb(a="demo_ok").pack())
    status = await w.new_message(ann, ask.message_id, "demo")
    await ann.wait_for(lambda: "✅" in ann.message(status.message_id).text, timeout=60)
    demo_user = await _user(w.sessions, ann.id)
    assert demo_user is not None and demo_user.ig_source == "demo" and demo_user.ig_token_encrypted is None
    demo = await _instagram_ids(w.sessions, me.id)
    assert demo and not (demo & real)

    after = max(m.message_id for m in ann.chat)
    await ann.send("/export full")
    doc = await ann.wait_for(lambda: next((m for m in ann.chat if m.message_id > after and m.document), None),
                             timeout=30)
    rows = list(csv.DictReader(io.StringIO(doc.document.data.decode("utf-8-sig"))))
    assert {r["instagram_id"] for r in rows} == demo  # the export holds the demo's leads only

    status = await w.say(ann, f"/connect {ig.token}", "Syncing")  # back to the real account: demo leads go
    await ann.wait_for(lambda: "✅" in ann.message(status.message_id).text, timeout=60)
    assert await _instagram_ids(w.sessions, me.id) == real
