"""sync_user on SQLite and PostgreSQL against the Graph stand-in over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clients.instagram import InstagramClient
from core.clients.source import NotConnected, instagram_source
from core.config import load_settings
from core.crypto import TokenCipher
from core.db import repo
from core.db.engine import transaction
from core.db.models import CLI_CREATOR_ID, Contact, Message, User
from core.services.connect import connect_demo, connect_token
from core.services.sync import sync_user
from standins.ig_data import HOSTILE_ACCOUNT, LONG_TEXT, hostile, synthetic
from standins.instagram import InstagramStandin

Sessions = async_sessionmaker[AsyncSession]


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def client_for(ig: InstagramStandin, http: httpx.AsyncClient, page_size: int = 25) -> InstagramClient:
    return InstagramClient(http, ig.token, base=ig.base_url, version="v21.0", sleep=no_sleep, page_size=page_size)


async def new_user(sessions: Sessions, telegram_id: int = 1001) -> int:
    async with transaction(sessions) as session:
        return (await repo.ensure_user(session, telegram_id)).id


async def counts(sessions: Sessions, user_id: int) -> tuple[int, int]:
    async with sessions() as session:
        contacts = (await session.execute(select(func.count()).where(Contact.user_id == user_id))).scalar_one()
        messages = (await session.execute(select(func.count()).where(Message.user_id == user_id))).scalar_one()
    return contacts, messages


async def contact(sessions: Sessions, user_id: int, instagram_id: str) -> Contact:
    async with sessions() as session:
        stmt = select(Contact).where(Contact.user_id == user_id, Contact.instagram_id == instagram_id)
        return (await session.execute(stmt)).scalar_one()


async def user_row(sessions: Sessions, user_id: int) -> User:
    async with sessions() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user


async def test_full_sync_then_unchanged_resync_is_one_call(sessions: Sessions, http: httpx.AsyncClient) -> None:
    uid = await new_user(sessions)
    async with InstagramStandin(synthetic(60, 5)) as ig:
        first = await sync_user(sessions, uid, client_for(ig, http))
        assert (first.new_contacts, first.new_messages, first.stopped_reason) == (60, 300, None)
        # /me once (account id learned), 3 pages, then one profile call per new lead (name and picture)
        assert first.graph_calls == 4 + 60 and first.profiles_fetched == 60
        assert len(first.changed_contact_ids) == 60
        again = await sync_user(sessions, uid, client_for(ig, http))
    assert again.graph_calls == 1 and again.new_messages == 0 and again.changed_contact_ids == []
    assert await counts(sessions, uid) == (60, 300)
    row = await contact(sessions, uid, "690000000000003")
    assert row.message_count == 5 and row.username == "lead_3" and row.last_message == "message 0 in thread 3"
    assert row.last_message_from_creator is False and row.last_message_at is not None
    assert row.last_message_at.tzinfo == UTC
    user = await user_row(sessions, uid)
    assert user.ig_status == "ok" and user.ig_account_id == "17841400000000001" and user.last_sync_at is not None


async def test_new_message_moves_thread_up_and_is_picked_up(sessions: Sessions, http: httpx.AsyncClient) -> None:
    uid = await new_user(sessions)
    async with InstagramStandin(synthetic(60, 3)) as ig:
        await sync_user(sessions, uid, client_for(ig, http))
        ig.add_message("c55", "how much is it? 🔥")
        ig.add_message("c40", None, from_id="17841400000000001", attachment="image")
        result = await sync_user(sessions, uid, client_for(ig, http))
    assert result.graph_calls == 1 and result.new_messages == 2 and result.updated_contacts == 2
    hot = await contact(sessions, uid, "690000000000055")
    mine = await contact(sessions, uid, "690000000000040")
    assert sorted(result.changed_contact_ids) == sorted([hot.id, mine.id])
    assert (hot.last_message, hot.message_count, hot.last_message_from_creator) == ("how much is it? 🔥", 4, False)
    assert (mine.last_message, mine.last_message_from_creator) == ("", True)


async def test_last_message_never_moves_backwards_and_nothing_is_deleted(
    sessions: Sessions, http: httpx.AsyncClient
) -> None:
    uid = await new_user(sessions)
    async with InstagramStandin(synthetic(10, 3)) as ig:
        await sync_user(sessions, uid, client_for(ig, http))
        before = await contact(sessions, uid, "690000000000002")
        # A stale view of the account: thread 2 lost its newest message, thread 9 vanished entirely.
        conv = next(c for c in ig.data.conversations if c.id == "c2")
        conv.messages.pop(0)
        ig.data.conversations = [c for c in ig.data.conversations if c.id != "c9"]
        async with transaction(sessions) as session:
            await session.execute(update(User).where(User.id == uid).values(last_sync_at=None))
        result = await sync_user(sessions, uid, client_for(ig, http))
    assert result.ok and result.new_messages == 0
    after = await contact(sessions, uid, "690000000000002")
    assert (after.last_message, after.last_message_at) == (before.last_message, before.last_message_at)
    assert after.message_count == 3
    assert await counts(sessions, uid) == (10, 30)


async def test_hostile_payloads_sync_without_loss(sessions: Sessions, http: httpx.AsyncClient) -> None:
    uid = await new_user(sessions)
    async with InstagramStandin(hostile(), overlap=1) as ig:
        result = await sync_user(sessions, uid, client_for(ig, http, page_size=4))
    assert result.ok, result.detail
    ids = {f"h{i}" for i in range(1, 14) if i != 8}  # h8 does not exist: "self" is the account talking to itself
    async with sessions() as session:
        rows = {c.instagram_id: c for c in (await session.execute(
            select(Contact).where(Contact.user_id == uid))).scalars()}
    assert set(rows) == ids and HOSTILE_ACCOUNT not in rows
    assert rows["h1"].name == "<script>alert(1)</script> & <b>Bob</b>" and rows["h1"].username == "x<b>y"
    assert rows["h2"].name == "🔥💯 Zoë 👩🏽‍💻" and rows["h3"].name == "\u202eمحمد\u202c"
    assert rows["h4"].last_message == LONG_TEXT
    assert (rows["h5"].message_count, rows["h5"].last_message, rows["h5"].last_message_kind) == (3, "", "image")
    assert (rows["h6"].message_count, rows["h6"].last_message, rows["h6"].last_message_at) == (0, None, None)
    assert (rows["h7"].username, rows["h7"].avatar_url) == ("from.profile", "https://cdn.x/h7.jpg")
    async with sessions() as session:
        attach = (await session.execute(select(Message.text, Message.attachment_kind).where(
            Message.contact_id == rows["h5"].id).order_by(Message.instagram_message_id))).all()
    assert [tuple(a) for a in attach] == [("", "image"), ("", "video"), ("", "share")]
    assert await counts(sessions, uid) == (12, 15)  # the account-only thread has no lead to file under


async def test_concurrent_syncs_leave_no_duplicates(sessions: Sessions, http: httpx.AsyncClient) -> None:
    uid = await new_user(sessions)
    async with InstagramStandin(synthetic(80, 4)) as ig:
        a, b = await asyncio.gather(
            sync_user(sessions, uid, client_for(ig, http, page_size=10)),
            sync_user(sessions, uid, client_for(ig, http, page_size=10)),
        )
    assert a.ok and b.ok
    assert a.new_messages + b.new_messages == 320
    assert await counts(sessions, uid) == (80, 320)
    async with sessions() as session:
        wrong = (await session.execute(select(func.count()).where(
            Contact.user_id == uid, Contact.message_count != 4))).scalar_one()
    assert wrong == 0


async def test_expired_token_stops_and_keeps_every_row(sessions: Sessions, http: httpx.AsyncClient) -> None:
    uid = await new_user(sessions)
    async with InstagramStandin(synthetic(60, 2)) as ig:
        ig.fail_next("pass", "pass", "expired")  # /me, page 1, then the token dies on page 2
        result = await sync_user(sessions, uid, client_for(ig, http))
        assert result.stopped_reason == "expired" and result.new_contacts == 25
        assert await counts(sessions, uid) == (25, 50)
        user = await user_row(sessions, uid)
        assert user.ig_status == "expired" and "463" in (user.ig_status_detail or "") and user.last_sync_at is None
        ig.expired = True
        again = await sync_user(sessions, uid, client_for(ig, http))
        assert again.stopped_reason == "expired" and again.graph_calls == 1
        assert await counts(sessions, uid) == (25, 50)
        ig.expired = False  # reconnected: the next sync completes from the top
        done = await sync_user(sessions, uid, client_for(ig, http))
    assert done.ok and done.new_contacts == 35 and await counts(sessions, uid) == (60, 120)
    assert (await user_row(sessions, uid)).ig_status == "ok"


async def test_rate_limit_sets_backoff_and_is_honoured(sessions: Sessions, http: httpx.AsyncClient) -> None:
    uid = await new_user(sessions)
    t0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    async with InstagramStandin(synthetic(5, 1)) as ig:
        ig.fail_next("throttle:613")
        limited = await sync_user(sessions, uid, client_for(ig, http), now=lambda: t0)
        assert limited.stopped_reason == "rate_limited"
        user = await user_row(sessions, uid)
        assert user.ig_status == "rate_limited" and user.ig_backoff_until == t0 + timedelta(seconds=60)
        early = await sync_user(sessions, uid, client_for(ig, http), now=lambda: t0 + timedelta(seconds=30))
        assert early.stopped_reason == "backoff" and early.graph_calls == 0
        later = await sync_user(sessions, uid, client_for(ig, http), now=lambda: t0 + timedelta(seconds=61))
    assert later.ok and later.new_contacts == 5
    user = await user_row(sessions, uid)
    assert user.ig_status == "ok" and user.ig_backoff_until is None


async def test_scoring_fields_are_never_touched(sessions: Sessions, http: httpx.AsyncClient) -> None:
    uid = await new_user(sessions)
    async with InstagramStandin(synthetic(3, 2)) as ig:
        await sync_user(sessions, uid, client_for(ig, http))
        lead = await contact(sessions, uid, "690000000000001")
        async with transaction(sessions) as session:
            await repo.set_manual_tags(session, uid, lead.id, ["vip"])
            await repo.set_manual_score(session, uid, lead.id, 91)
            await session.execute(update(Contact).where(Contact.id == lead.id).values(sentiment="hot"))
        ig.add_message("c1", "still interested")
        result = await sync_user(sessions, uid, client_for(ig, http))
    after = await contact(sessions, uid, "690000000000001")
    assert result.changed_contact_ids == [lead.id]
    assert (after.tags, after.tags_source, after.lead_score, after.score_source, after.sentiment) == (
        ["vip"], "manual", 91, "manual", "hot")
    assert after.last_message == "still interested"


async def test_contacts_are_scoped_per_creator(sessions: Sessions, http: httpx.AsyncClient) -> None:
    first, second = await new_user(sessions, 1), await new_user(sessions, 2)
    async with InstagramStandin(synthetic(4, 2)) as ig:
        await sync_user(sessions, first, client_for(ig, http))
        await sync_user(sessions, second, client_for(ig, http))
    assert await counts(sessions, first) == (4, 8) == await counts(sessions, second)


async def test_demo_source_syncs_a_believable_account(sessions: Sessions, http: httpx.AsyncClient) -> None:
    uid = await new_user(sessions)
    settings = load_settings(ig_access_token=None)
    async with transaction(sessions) as session:
        await connect_demo(session, uid)
    user = await user_row(sessions, uid)
    async with instagram_source(user, settings, TokenCipher("k"), http) as client:
        result = await sync_user(sessions, uid, client)
        again = await sync_user(sessions, uid, client)
    assert result.ok and result.new_contacts == 120 and again.graph_calls == 1
    async with sessions() as session:
        page = await repo.list_contacts(session, uid, 2)
    assert (page.page, page.pages, page.total) == (2, 12, 120)
    assert (await user_row(sessions, uid)).ig_username == "coach.mia.fit"


async def test_graph_source_uses_the_stored_token_or_the_cli_token(
    sessions: Sessions, http: httpx.AsyncClient
) -> None:
    cipher = TokenCipher("secret")
    async with InstagramStandin(synthetic(3, 1)) as ig:
        settings = load_settings(ig_api_base=ig.base_url, ig_access_token=None)
        uid = await new_user(sessions, 77)
        user = await user_row(sessions, uid)
        with pytest.raises(NotConnected):
            async with instagram_source(user, settings, cipher, http):
                pass
        probe = client_for(ig, http)
        async with transaction(sessions) as session:
            await connect_token(session, uid, await probe.account(), ig.token, cipher)
        user = await user_row(sessions, uid)
        assert user.ig_token_encrypted and ig.token not in user.ig_token_encrypted
        async with instagram_source(user, settings, cipher, http) as client:
            assert (await sync_user(sessions, uid, client)).new_contacts == 3
        cli_settings = load_settings(ig_api_base=ig.base_url, ig_access_token=ig.token, ig_user_id="17841400000000001")
        cli_id = await new_user(sessions, CLI_CREATOR_ID)
        async with instagram_source(await user_row(sessions, cli_id), cli_settings, cipher, http) as client:
            assert client.user_id == "17841400000000001"
            assert (await sync_user(sessions, cli_id, client)).new_contacts == 3


# ---------------------------------------------------------------- lead profiles (User Profile API)


async def test_every_new_lead_gets_its_profile_name_and_picture(sessions: Sessions, http: httpx.AsyncClient) -> None:
    """Graph participants carry no name: name and picture come from one profile call per new lead."""
    uid = await new_user(sessions)
    data = synthetic(6, 2)
    for i in range(6):
        data.profiles[f"69{i:013d}"] = {"name": f"Lead Number {i}", "username": f"lead_{i}",
                                        "profile_pic": f"https://cdn.example/p{i}.jpg"}
    data.no_consent.add("690000000000004")  # started by the creator, never answered: no consent yet
    data.blocked.add("690000000000005")
    async with InstagramStandin(data) as ig:
        first = await sync_user(sessions, uid, client_for(ig, http))
        assert first.ok and (first.profiles_fetched, first.profiles_unavailable) == (4, 2)
        assert ig.calls["profile"] == 6
        again = await sync_user(sessions, uid, client_for(ig, http))  # nothing due: refusals are remembered too
        assert again.graph_calls == 1 and ig.calls["profile"] == 6
    row = await contact(sessions, uid, "690000000000002")
    assert (row.name, row.username, row.avatar_url) == ("Lead Number 2", "lead_2", "https://cdn.example/p2.jpg")
    refused = await contact(sessions, uid, "690000000000004")
    assert (refused.name, refused.username, refused.avatar_url) == (None, "lead_4", None)
    assert refused.profile_checked_at is not None


async def test_profiles_are_refreshed_after_two_days_within_a_budget(
    sessions: Sessions, http: httpx.AsyncClient,
) -> None:
    from core.services import profiles

    uid = await new_user(sessions)
    data = synthetic(10, 1)
    async with InstagramStandin(data) as ig:
        client = client_for(ig, http)
        first = await profiles.refresh_profiles(sessions, uid, client, datetime.now(UTC))  # nobody yet
        assert first.fetched == 0
        await sync_user(sessions, uid, client)
        assert ig.calls["profile"] == 10
        data.profiles["690000000000001"] = {"name": "New Name", "username": "lead_1",
                                            "profile_pic": "https://cdn.example/fresh.jpg"}
        later = datetime.now(UTC) + timedelta(days=2, hours=1)  # the stored picture URLs have expired by now
        budget = await profiles.refresh_profiles(sessions, uid, client, later, budget=4)
        assert budget.fetched == 4 and ig.calls["profile"] == 14  # most recently active first, 4 per round
        rest = await profiles.refresh_profiles(sessions, uid, client, later, budget=100)
        assert rest.fetched == 6 and ig.calls["profile"] == 20
    row = await contact(sessions, uid, "690000000000001")
    assert (row.name, row.avatar_url) == ("New Name", "https://cdn.example/fresh.jpg")


async def test_a_throttled_profile_call_stops_the_sync_with_a_backoff(
    sessions: Sessions, http: httpx.AsyncClient,
) -> None:
    uid = await new_user(sessions)
    async with InstagramStandin(synthetic(3, 1)) as ig:
        ig.fail_next("pass", "pass", "throttle:4")  # /me, the page, then the first profile call is throttled
        result = await sync_user(sessions, uid, client_for(ig, http))
    assert result.stopped_reason == "rate_limited" and result.new_contacts == 3  # rows already synced are kept
    assert (await user_row(sessions, uid)).ig_backoff_until is not None
