"""Hot-lead alerts in the database: one per transition, claimed once, held by quiet hours, settings respected."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import repo
from core.db.engine import transaction
from core.db.models import Alert, Contact, User
from core.services import alerts

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def _creator(sessions: async_sessionmaker[AsyncSession], **fields: object) -> int:
    async with transaction(sessions) as s:
        user = await repo.ensure_user(s, telegram_id=5001, chat_id=5001)
        for key, value in fields.items():
            setattr(user, key, value)
        return user.id


async def _contact(sessions: async_sessionmaker[AsyncSession], user_id: int, ig: str = "ig1") -> int:
    async with transaction(sessions) as s:
        contact = Contact(user_id=user_id, instagram_id=ig, name=f"Lead {ig}", tags=[], last_message="how much?")
        s.add(contact)
        await s.flush()
        return contact.id


async def _score(sessions: async_sessionmaker[AsyncSession], user_id: int, contact_id: int,
                 sentiment: str, score: int) -> bool:
    async with transaction(sessions) as s:
        user = await s.get(User, user_id)
        contact = await repo.get_contact(s, user_id, contact_id)
        assert user is not None and contact is not None
        previous = contact.lead_score
        contact.sentiment, contact.lead_score = sentiment, score
        return await alerts.on_scored(s, user, contact, previous)


async def _statuses(sessions: async_sessionmaker[AsyncSession], user_id: int) -> list[str]:
    async with sessions() as s:
        rows = await s.execute(select(Alert.status).where(Alert.user_id == user_id).order_by(Alert.id))
        return list(rows.scalars())


async def test_one_alert_per_transition(sessions: async_sessionmaker[AsyncSession]) -> None:
    uid = await _creator(sessions)
    cid = await _contact(sessions, uid)
    assert await _score(sessions, uid, cid, "hot", 91) is True
    assert await _score(sessions, uid, cid, "hot", 95) is False  # stays hot: nothing new
    assert await _score(sessions, uid, cid, "cold", 20) is False  # cools
    assert await _score(sessions, uid, cid, "hot", 88) is True  # heats up again: one more
    async with sessions() as s:
        episodes = list((await s.execute(select(Alert.episode).where(Alert.contact_id == cid))).scalars())
    assert sorted(episodes) == [1, 2]


async def test_claim_is_exactly_once_between_racing_senders(sessions: async_sessionmaker[AsyncSession]) -> None:
    uid = await _creator(sessions, timezone="UTC", quiet_start_hour=22, quiet_end_hour=8)
    for n in range(3):
        await _score(sessions, uid, await _contact(sessions, uid, f"ig{n}"), "hot", 90)
    first, second = await asyncio.gather(alerts.claim_due(sessions, uid, NOON), alerts.claim_due(sessions, uid, NOON))
    claimed = [i.alert_id for i in first.items] + [i.alert_id for i in second.items]
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 3
    assert await alerts.finish(sessions, uid, claimed, "sent", NOON, message_id=7) == 3
    assert (await alerts.claim_due(sessions, uid, NOON)).items == ()
    assert await _statuses(sessions, uid) == ["sent"] * 3


async def test_quiet_hours_hold_until_local_morning(sessions: async_sessionmaker[AsyncSession]) -> None:
    uid = await _creator(sessions, timezone="Europe/Berlin", quiet_start_hour=22, quiet_end_hour=8)
    await _score(sessions, uid, await _contact(sessions, uid), "hot", 90)
    night = datetime(2026, 6, 1, 21, 30, tzinfo=UTC)  # 23:30 in Berlin (UTC+2 in June)
    held = await alerts.claim_due(sessions, uid, night)
    assert held.items == () and held.retry_at == datetime(2026, 6, 2, 6, 0, tzinfo=UTC)  # 08:00 Berlin
    assert await _statuses(sessions, uid) == ["pending"]
    assert await alerts.users_with_pending(sessions) == [uid]
    morning = await alerts.claim_due(sessions, uid, held.retry_at)
    assert len(morning.items) == 1 and morning.chat_id == 5001


def test_quiet_hours_rules() -> None:
    user = User(timezone="America/New_York", quiet_start_hour=22, quiet_end_hour=8)
    assert alerts.in_quiet_hours(user, datetime(2026, 1, 15, 4, 0, tzinfo=UTC))  # 23:00 in New York
    assert not alerts.in_quiet_hours(user, datetime(2026, 1, 15, 14, 0, tzinfo=UTC))  # 09:00
    assert alerts.quiet_ends_at(user, datetime(2026, 1, 15, 4, 0, tzinfo=UTC)) == datetime(2026, 1, 15, 13, 0,
                                                                                             tzinfo=UTC)
    same_day = User(timezone="UTC", quiet_start_hour=13, quiet_end_hour=15)
    assert alerts.in_quiet_hours(same_day, datetime(2026, 1, 15, 14, 59, tzinfo=UTC))
    assert not alerts.in_quiet_hours(same_day, datetime(2026, 1, 15, 15, 0, tzinfo=UTC))
    off = User(timezone="Not/AZone", quiet_start_hour=0, quiet_end_hour=0)
    assert not alerts.in_quiet_hours(off, NOON)


async def test_alerts_off_and_threshold_changes_are_respected(sessions: async_sessionmaker[AsyncSession]) -> None:
    uid = await _creator(sessions, quiet_start_hour=0, quiet_end_hour=0)
    below = await _contact(sessions, uid, "a")
    await _score(sessions, uid, below, "unsure", 85)  # hot at threshold 80, not at 90
    above = await _contact(sessions, uid, "b")
    await _score(sessions, uid, above, "unsure", 95)
    assert await _score(sessions, uid, await _contact(sessions, uid, "c"), "hot", 60) is False  # model alone: no
    async with transaction(sessions) as s:
        user = await s.get(User, uid)
        assert user is not None
        user.alert_threshold = 90  # raised in /settings before the alert went out
    claim = await alerts.claim_due(sessions, uid, NOON)
    assert [i.contact_id for i in claim.items] == [above]
    assert sorted(await _statuses(sessions, uid)) == ["dropped", "sending"]
    await alerts.finish(sessions, uid, [i.alert_id for i in claim.items], "sent", NOON)
    await _score(sessions, uid, above, "cold", 10)
    await _score(sessions, uid, above, "hot", 99)
    async with transaction(sessions) as s:
        user = await s.get(User, uid)
        assert user is not None
        user.alerts_enabled = False
    assert (await alerts.claim_due(sessions, uid, NOON)).items == ()
    assert sorted(await _statuses(sessions, uid)) == ["dropped", "dropped", "sent"]


async def test_crashed_sender_claim_is_recovered_after_lease(sessions: async_sessionmaker[AsyncSession]) -> None:
    uid = await _creator(sessions, quiet_start_hour=0, quiet_end_hour=0)
    await _score(sessions, uid, await _contact(sessions, uid), "hot", 90)
    assert len((await alerts.claim_due(sessions, uid, NOON)).items) == 1  # ...and the sender dies here
    assert (await alerts.claim_due(sessions, uid, NOON + timedelta(minutes=1))).items == ()
    again = await alerts.claim_due(sessions, uid, NOON + alerts.CLAIM_LEASE + timedelta(seconds=1))
    assert len(again.items) == 1
    async with sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Alert))).scalar_one() == 1
