"""The scheduled sync job: dead tokens stop syncing and notify once, throttled accounts back off,
tokens near expiry are refreshed first. Real Graph and Telegram stand-ins, injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.client import make_bot
from bot.notifier import TelegramNotifier
from core.config import load_settings
from core.crypto import TokenCipher
from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, User
from core.queue import create_queue
from core.services.sendrate import SendPacer
from standins.ig_data import synthetic
from standins.instagram import InstagramStandin
from standins.telegram import TelegramStandin
from workers.jobs.sync import sync_creator
from workers.scheduler import tick

CHAT = 6001
NOW = datetime.now(UTC).replace(microsecond=0)
SECRET = "sync-job-test-secret"


class FakeTime:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def ctx(sessions: async_sessionmaker[AsyncSession], redis_url: str, unique: str
              ) -> AsyncIterator[dict[str, Any]]:
    async with InstagramStandin(synthetic(3, 4)) as ig, TelegramStandin() as tg, httpx.AsyncClient() as http:
        tg.user(CHAT)
        pool = await create_queue(redis_url, unique)
        clock = FakeTime(NOW)
        settings = load_settings(ig_api_base=ig.base_url, secret_key=SECRET, telegram_api_base=tg.base_url)
        pacer = SendPacer(pool, prefix=unique, clock=clock, sleep=clock.sleep)
        bot = make_bot(settings, tg.token, pacer)
        yield {"sessions": sessions, "redis": pool, "notifier": TelegramNotifier(bot, pacer), "clock": clock, "tg": tg,
               "ig": ig, "http": http, "settings": settings}
        await bot.session.close()
        keys = [k async for k in pool.scan_iter(match=f"*{unique}*")]
        if keys:
            await pool.delete(*keys)
        await pool.aclose()


async def _creator(ctx: dict[str, Any], expires_in: timedelta = timedelta(days=40),
                   issued_ago: timedelta = timedelta(days=20)) -> int:
    ig: InstagramStandin = ctx["ig"]
    async with transaction(ctx["sessions"]) as s:
        user = await repo.ensure_user(s, telegram_id=CHAT, chat_id=CHAT)
        user.ig_source, user.ig_status = "graph", "ok"
        user.ig_token_encrypted = TokenCipher(SECRET).encrypt(ig.token)
        user.ig_account_id = ig.data.account_id
        user.ig_token_expires_at, user.ig_token_refreshed_at = NOW + expires_in, NOW - issued_ago
        await s.flush()
        s.add(Contact(user_id=user.id, instagram_id="kept", name="Kept lead", tags=["vip"]))
        return user.id


async def _user(ctx: dict[str, Any], uid: int) -> User:
    async with ctx["sessions"]() as s:
        user = await s.get(User, uid)
        assert user is not None
        return user


async def test_expired_token_stops_sync_and_tells_the_creator_once(ctx: dict[str, Any]) -> None:
    uid = await _creator(ctx)
    ctx["ig"].expired = True  # Graph answers 190/463 from now on
    assert await sync_creator(ctx, uid) == {"stopped": "expired"}
    user = await _user(ctx, uid)
    assert user.ig_status == "expired" and user.ig_reconnect_notified
    calls = ctx["ig"].total_calls
    assert await sync_creator(ctx, uid) == {"skipped": "stopped"}  # a later slot: not even tried
    assert ctx["ig"].total_calls == calls
    tick_result = await tick(ctx["redis"], ctx["sessions"], NOW + timedelta(hours=1), interval_minutes=10)
    assert tick_result.skipped == {uid: "stopped"} and tick_result.enqueued == []
    [notice] = ctx["tg"].user(CHAT).chat
    assert "/connect" in notice.text and ctx["tg"].errors == []
    async with ctx["sessions"]() as s:  # nothing deleted
        assert (await s.execute(select(func.count()).select_from(Contact))).scalar_one() == 1


async def test_throttled_account_is_backed_off_not_hammered(ctx: dict[str, Any]) -> None:
    uid = await _creator(ctx)
    ctx["ig"].fail_next("throttle:4")
    result = await sync_creator(ctx, uid)
    assert result["stopped"] == "rate_limited"
    user = await _user(ctx, uid)
    assert user.ig_backoff_until is not None and user.ig_backoff_until > NOW
    calls = ctx["ig"].total_calls
    assert await sync_creator(ctx, uid) == {"skipped": "backed_off"}
    assert ctx["ig"].total_calls == calls and ctx["tg"].user(CHAT).chat == []


@pytest.mark.parametrize("refresh_due", [False, True], ids=["sync", "refresh"])
async def test_undecryptable_token_is_reported_as_such_and_notified_once(ctx: dict[str, Any], refresh_due: bool
                                                                         ) -> None:
    """A token no key in SECRET_KEY opens is a key problem, not an expired Instagram token."""
    uid = await _creator(ctx, expires_in=timedelta(days=3) if refresh_due else timedelta(days=40))
    ctx["settings"] = load_settings(ig_api_base=ctx["ig"].base_url, secret_key="a-rotated-key")
    ctx.pop("cipher", None)
    assert await sync_creator(ctx, uid) == {"stopped": "unreadable"}
    user = await _user(ctx, uid)
    assert user.ig_status == "unreadable" and "SECRET_KEY" in (user.ig_status_detail or "")
    assert await sync_creator(ctx, uid) == {"skipped": "stopped"}
    [notice] = ctx["tg"].user(CHAT).chat
    assert "SECRET_KEY" in notice.text and "expired" not in notice.text and "/connect" in notice.text
    assert ctx["ig"].total_calls == 0  # Instagram was never asked: nothing there is wrong


async def test_old_key_listed_after_the_new_one_still_opens_the_token(ctx: dict[str, Any]) -> None:
    uid = await _creator(ctx)
    ctx["settings"] = load_settings(ig_api_base=ctx["ig"].base_url, secret_key=f"a-rotated-key, {SECRET}")
    ctx.pop("cipher", None)
    result = await sync_creator(ctx, uid)
    assert result["stopped"] is None and result["new_contacts"] == 3


async def test_token_near_expiry_is_refreshed_before_the_sync(ctx: dict[str, Any]) -> None:
    from sqlalchemy import update

    from core.clients.instagram import InstagramClient
    from core.services.sync import sync_user

    uid = await _creator(ctx, expires_in=timedelta(days=2), issued_ago=timedelta(days=58))
    ig: InstagramStandin = ctx["ig"]
    # An earlier sync and scoring: every contact is current, so this run has nothing to rescore.
    await sync_user(ctx["sessions"], uid, InstagramClient(ctx["http"], ig.token, base=ig.base_url, version="v21.0"))
    async with transaction(ctx["sessions"]) as s:
        await s.execute(update(Contact).values(scored_at=NOW, scored_through=Contact.last_message_at, lead_score=10))
    result = await sync_creator(ctx, uid)
    assert result["stopped"] is None and result["run_id"] is None and ig.calls["refresh"] == 1
    user = await _user(ctx, uid)
    new_token = TokenCipher(SECRET).decrypt(user.ig_token_encrypted or "")
    assert new_token in ig.tokens and new_token != ig.token
    assert user.ig_token_expires_at == NOW + timedelta(days=60)
    ig.tokens.discard(ig.token)  # the old token is dead now: the next sync must use the stored new one
    assert (await sync_creator(ctx, uid))["stopped"] is None and ig.calls["refresh"] == 1
    assert ctx["tg"].user(CHAT).chat == []


async def test_only_changed_contacts_that_need_it_are_rescored(ctx: dict[str, Any]) -> None:
    from workers.jobs.sync import _to_rescore

    uid = await _creator(ctx)
    earlier, later = NOW - timedelta(hours=2), NOW - timedelta(minutes=1)
    spec = {  # name: (scored_through, last_message_at, last from creator)
        "lead_wrote_again": (earlier, later, False),
        "creator_replied": (earlier, later, True),
        "never_scored": (None, later, True),
        "unchanged": (later, later, False),
        "not_in_this_sync": (earlier, later, False),
    }
    ids: dict[str, int] = {}
    async with transaction(ctx["sessions"]) as s:
        for name, (through, last, mine) in spec.items():
            contact = Contact(user_id=uid, instagram_id=name, name=name, tags=[], last_message_at=last,
                              last_message_from_creator=mine, scored_through=through,
                              scored_at=through, lead_score=None if through is None else 40)
            s.add(contact)
            await s.flush()
            ids[name] = contact.id
    changed = [ids[n] for n in spec if n != "not_in_this_sync"]
    assert await _to_rescore(ctx["sessions"], uid, changed) == sorted([ids["lead_wrote_again"], ids["never_scored"]])
    assert await _to_rescore(ctx["sessions"], uid + 1, changed) == []  # another creator's ids: nothing


async def test_changes_during_another_run_are_rescored_after_it(ctx: dict[str, Any]) -> None:
    from core.db.models import ScoringItem, ScoringRun
    from core.services import scoring
    from workers.jobs.sync import _start_or_wait, rescore_contacts

    uid = await _creator(ctx)
    ids = []
    async with transaction(ctx["sessions"]) as s:
        for name in ("busy", "new"):
            contact = Contact(user_id=uid, instagram_id=name, name=name, tags=[], last_message_at=NOW,
                              last_message_from_creator=False)
            s.add(contact)
            await s.flush()
            ids.append(contact.id)
    busy, new = ids
    first = await scoring.start_run(ctx["sessions"], ctx["redis"], uid, scope="ids", contact_ids=[busy])
    assert await _start_or_wait(ctx, uid, [new]) == first.id  # the active run came back, without `new`
    queued = [m.decode() for m in await ctx["redis"].zrange(ctx["redis"].default_queue_name, 0, -1)]
    assert any(":rescore:" in job for job in queued)
    async with transaction(ctx["sessions"]) as s:  # the active run finishes
        run = await s.get(ScoringRun, first.id)
        assert run is not None
        run.status = "done"
    second = await rescore_contacts(ctx, uid, [new])  # the deferred job
    assert second is not None and second != first.id
    async with ctx["sessions"]() as s:
        items = (await s.execute(select(ScoringItem.contact_id).where(ScoringItem.run_id == second))).scalars()
        assert list(items) == [new]
