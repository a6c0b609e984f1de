"""⏰ Reminders in core (core/services/reminders.py), on both databases: reading typed times in the creator's
timezone, presets, quiet hours, the past and garbage refused in words, tenant scoping, snooze / done / cancel,
and delivery claimed exactly once by concurrent claimers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, Reminder, User
from core.services import account
from core.services import reminders as rem
from core.services.reminders import MAX_PENDING_REMINDERS, ReminderRefused

Sessions = async_sessionmaker[AsyncSession]
BERLIN = ZoneInfo("Europe/Berlin")
# Wednesday 4 June 2031, 14:00 in Berlin (UTC+2)
NOW = datetime(2031, 6, 4, 12, 0, tzinfo=UTC)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


# ---------------------------------------------------------------- reading a time (no database)


@pytest.mark.parametrize(("text", "expected"), [
    ("fri 10:00", berlin(2031, 6, 6, 10, 0)),
    ("Friday 10am", berlin(2031, 6, 6, 10, 0)),
    ("fri 10", berlin(2031, 6, 6, 10, 0)),
    ("wed 10:00", berlin(2031, 6, 11, 10, 0)),  # today's 10:00 has passed: next week's
    ("wed 18:00", berlin(2031, 6, 4, 18, 0)),  # later today
    ("mon", berlin(2031, 6, 9, 9, 0)),  # a day without a time: the morning
    ("2d", NOW + timedelta(days=2)),
    ("3h", NOW + timedelta(hours=3)),
    ("1h30m", NOW + timedelta(hours=1, minutes=30)),
    ("in 2 days", NOW + timedelta(days=2)),
    ("90 min", NOW + timedelta(minutes=90)),
    ("in an hour", NOW + timedelta(hours=1)),
    ("tomorrow 18:30", berlin(2031, 6, 5, 18, 30)),
    ("tomorrow at 9am", berlin(2031, 6, 5, 9, 0)),
    ("Tomorrow", berlin(2031, 6, 5, 9, 0)),
    ("tonight", berlin(2031, 6, 4, 19, 0)),
    ("dec 3 9:00", berlin(2031, 12, 3, 9, 0)),  # winter time there: UTC+1
    ("3 Dec", berlin(2031, 12, 3, 9, 0)),
    ("2031-07-01 10:15", berlin(2031, 7, 1, 10, 15)),
    ("jan 5 10:00", berlin(2032, 1, 5, 10, 0)),  # no year and already past this year: next year's
    ("16:00", berlin(2031, 6, 4, 16, 0)),
    ("10:00", berlin(2031, 6, 5, 10, 0)),  # a time only, already past today: tomorrow's
    ("at 6:30 pm", berlin(2031, 6, 4, 18, 30)),
])
def test_typed_times_in_the_creators_timezone(text: str, expected: datetime) -> None:
    assert rem.parse_when(text, NOW, BERLIN) == expected


@pytest.mark.parametrize("text", ["", "   ", "asdf", "soon-ish", "25:00", "10:75", "feb 30", "december", "today",
                                  "fri 99", "13pm", "3 parsecs"])
def test_garbage_is_unreadable(text: str) -> None:
    assert rem.parse_when(text, NOW, BERLIN) is ReminderRefused.UNREADABLE


def test_absurd_durations_are_too_far_not_an_overflow() -> None:
    assert rem.parse_when("99999999d", NOW, BERLIN) is ReminderRefused.TOO_FAR


def test_the_same_words_in_another_timezone() -> None:
    tokyo = rem.parse_when("fri 10:00", NOW, ZoneInfo("Asia/Tokyo"))
    assert tokyo == datetime(2031, 6, 6, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo (UTC+9)
    assert rem.parse_when("fri 10:00", NOW, BERLIN) == datetime(2031, 6, 6, 8, 0, tzinfo=UTC)


def test_tomorrow_morning_across_the_dst_change() -> None:
    saturday = datetime(2031, 10, 25, 12, 0, tzinfo=UTC)  # clocks go back in Berlin that night
    assert rem.parse_when("tomorrow 9:00", saturday, BERLIN) == datetime(2031, 10, 26, 8, 0, tzinfo=UTC)
    assert rem.preset_time("tomorrow", saturday, BERLIN) == datetime(2031, 10, 26, 8, 0, tzinfo=UTC)


def test_presets() -> None:
    assert rem.preset_time("1h", NOW, BERLIN) == NOW + timedelta(hours=1)
    assert rem.preset_time("3d", NOW, BERLIN) == NOW + timedelta(days=3)
    assert rem.preset_time("evening", NOW, BERLIN) == berlin(2031, 6, 4, 19, 0)
    late = berlin(2031, 6, 4, 20, 30)
    assert rem.preset_time("evening", late, BERLIN) == berlin(2031, 6, 5, 19, 0)  # past 19:00: tomorrow's
    assert rem.preset_time("tomorrow", NOW, BERLIN) == berlin(2031, 6, 5, 9, 0)


# ---------------------------------------------------------------- the database


async def _creator(sessions: Sessions, telegram_id: int, contacts: int = 2, **fields: object) -> tuple[int, list[int]]:
    async with transaction(sessions) as s:
        user = await repo.ensure_user(s, telegram_id, telegram_id)
        user.timezone = "Europe/Berlin"
        for key, value in fields.items():
            setattr(user, key, value)
        rows = [Contact(user_id=user.id, instagram_id=f"{telegram_id}-{i}", name=f"Lead {i}", tags=[])
                for i in range(contacts)]
        s.add_all(rows)
        await s.flush()
        return user.id, [c.id for c in rows]


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    assert user is not None
    return user


async def _statuses(sessions: Sessions) -> dict[int, str]:
    async with sessions() as s:
        return {rid: status for rid, status in (await s.execute(select(Reminder.id, Reminder.status))).all()}


async def test_set_typed_and_preset_reminders(sessions: Sessions) -> None:
    uid, (lead, _) = await _creator(sessions, 7001)
    async with sessions() as s:
        user = await _user(s, uid)
        done = await rem.set_reminder(s, user, lead, "fri 10:00", NOW, typed=True)
        assert isinstance(done, rem.ReminderSet) and not done.quiet_shifted
        assert done.due == done.asked == datetime(2031, 6, 6, 10, 0, tzinfo=BERLIN)
        preset = await rem.set_reminder(s, user, lead, "evening", NOW)
        assert isinstance(preset, rem.ReminderSet) and preset.due.hour == 19
        assert await rem.set_reminder(s, user, lead, "someday", NOW) is ReminderRefused.UNREADABLE  # not a preset
    async with sessions() as s:
        stored = list((await s.execute(select(Reminder).order_by(Reminder.id))).scalars())
    assert [(r.user_id, r.contact_id, r.status, r.due_at) for r in stored] == [
        (uid, lead, "pending", berlin(2031, 6, 6, 10, 0)), (uid, lead, "pending", berlin(2031, 6, 4, 19, 0))]


async def test_refusals_say_why_and_store_nothing(sessions: Sessions) -> None:
    uid, (lead, _) = await _creator(sessions, 7002)
    other, (theirs, _) = await _creator(sessions, 7003)
    async with sessions() as s:
        user = await _user(s, uid)
        assert await rem.set_reminder(s, user, lead, "2020-01-01 10:00", NOW, typed=True) is ReminderRefused.PAST
        assert await rem.set_reminder(s, user, lead, "today 8:00", NOW, typed=True) is ReminderRefused.PAST
        assert await rem.set_reminder(s, user, lead, "0h", NOW, typed=True) is ReminderRefused.PAST
        assert await rem.set_reminder(s, user, lead, "400d", NOW, typed=True) is ReminderRefused.TOO_FAR
        assert await rem.set_reminder(s, user, lead, "blorp", NOW, typed=True) is ReminderRefused.UNREADABLE
        # another creator's lead, or no lead at all: not found (nothing about it is revealed)
        assert await rem.set_reminder(s, user, theirs, "2d", NOW, typed=True) is ReminderRefused.NOT_FOUND
        assert await rem.set_reminder(s, user, 2**40, "2d", NOW, typed=True) is ReminderRefused.NOT_FOUND
    assert await _statuses(sessions) == {}


async def test_too_many_open_reminders(sessions: Sessions) -> None:
    uid, (lead, _) = await _creator(sessions, 7004)
    async with transaction(sessions) as s:
        s.add_all([Reminder(user_id=uid, contact_id=lead, due_at=NOW + timedelta(days=1), status="pending",
                            snoozes=0, created_at=NOW) for _ in range(MAX_PENDING_REMINDERS)])
    async with sessions() as s:
        assert await rem.set_reminder(s, await _user(s, uid), lead, "2d", NOW, typed=True) is ReminderRefused.TOO_MANY


async def test_quiet_hours_move_a_reminder_to_their_end(sessions: Sessions) -> None:
    uid, (lead, _) = await _creator(sessions, 7005, quiet_start_hour=22, quiet_end_hour=8)
    async with sessions() as s:
        result = await rem.set_reminder(s, await _user(s, uid), lead, "23:30", NOW, typed=True)
    assert isinstance(result, rem.ReminderSet) and result.quiet_shifted
    assert result.asked == datetime(2031, 6, 4, 23, 30, tzinfo=BERLIN)
    assert result.due == datetime(2031, 6, 5, 8, 0, tzinfo=BERLIN)
    async with sessions() as s:
        assert (await s.execute(select(Reminder.due_at))).scalar_one() == berlin(2031, 6, 5, 8, 0)


async def test_list_snooze_done_cancel(sessions: Sessions) -> None:
    uid, (a, b) = await _creator(sessions, 7006)
    other, (theirs, _) = await _creator(sessions, 7007)
    async with sessions() as s:
        user, them = await _user(s, uid), await _user(s, other)
        first = await rem.set_reminder(s, user, a, "1h", NOW)
        second = await rem.set_reminder(s, user, b, "tomorrow", NOW)
        foreign = await rem.set_reminder(s, them, theirs, "1h", NOW)
        assert isinstance(first, rem.ReminderSet) and isinstance(second, rem.ReminderSet)
        assert isinstance(foreign, rem.ReminderSet)
        page = await rem.reminders_page(s, user, NOW)
        assert [(r.reminder.id, r.contact.id, r.overdue) for r in page.rows] == [
            (first.reminder.id, a, False), (second.reminder.id, b, False)]  # soonest first, only mine
        later = NOW + timedelta(hours=2)
        assert [r.overdue for r in (await rem.reminders_page(s, user, later)).rows] == [True, False]
        # snooze a reminder not yet due: from its due time, never earlier
        snoozed = await rem.snooze(s, user, first.reminder.id, "1h", NOW)
        assert isinstance(snoozed, rem.ReminderSet) and snoozed.due == (NOW + timedelta(hours=2)).astimezone(BERLIN)
        assert snoozed.reminder.snoozes == 1 and snoozed.reminder.status == "pending"
        # another creator's reminder: not found, untouched
        assert await rem.close(s, user, foreign.reminder.id, "done", NOW) is ReminderRefused.NOT_FOUND
        assert await rem.snooze(s, user, foreign.reminder.id, "1h", NOW) is ReminderRefused.NOT_FOUND
        assert isinstance(await rem.close(s, user, first.reminder.id, "done", NOW), rem.ReminderClosed)
        assert isinstance(await rem.close(s, user, second.reminder.id, "cancelled", NOW), rem.ReminderClosed)
        # closed stays closed (a second press, another replica)
        assert await rem.close(s, user, first.reminder.id, "cancelled", NOW) is ReminderRefused.CLOSED
        assert await rem.snooze(s, user, second.reminder.id, "1h", NOW) is ReminderRefused.CLOSED
        assert (await rem.reminders_page(s, user, NOW)).total == 0
    assert await _statuses(sessions) == {first.reminder.id: "done", second.reminder.id: "cancelled",
                                         foreign.reminder.id: "pending"}


async def test_paging(sessions: Sessions) -> None:
    uid, (lead, _) = await _creator(sessions, 7008)
    async with transaction(sessions) as s:
        s.add_all([Reminder(user_id=uid, contact_id=lead, due_at=NOW + timedelta(hours=i + 1), status="pending",
                            snoozes=0, created_at=NOW) for i in range(rem.PAGE + 3)])
    async with sessions() as s:
        user = await _user(s, uid)
        one, two = await rem.reminders_page(s, user, NOW, 1), await rem.reminders_page(s, user, NOW, 2)
        assert (one.pages, one.total, len(one.rows), len(two.rows)) == (2, rem.PAGE + 3, rem.PAGE, 3)
        assert one.rows[-1].reminder.due_at < two.rows[0].reminder.due_at
        assert (await rem.reminders_page(s, user, NOW, 99)).page == 2  # a stale page number: the last page


# ---------------------------------------------------------------- delivery


async def _due(sessions: Sessions, user_id: int, contact_id: int, n: int, at: datetime) -> list[int]:
    async with transaction(sessions) as s:
        rows = [Reminder(user_id=user_id, contact_id=contact_id, due_at=at - timedelta(minutes=i), status="pending",
                         snoozes=0, created_at=at - timedelta(hours=1)) for i in range(n)]
        s.add_all(rows)
        await s.flush()
        return [r.id for r in rows]


async def test_concurrent_claimers_deliver_each_once(sessions: Sessions) -> None:
    uid, (lead, _) = await _creator(sessions, 7010, quiet_start_hour=0, quiet_end_hour=0)
    ids = await _due(sessions, uid, lead, 12, NOW)
    claims = await asyncio.gather(*(rem.claim_due(sessions, uid, NOW) for _ in range(4)))
    claimed = [item.reminder_id for claim in claims for item in claim.items]
    assert sorted(claimed) == sorted(ids)  # every due reminder once, none twice
    assert set((await _statuses(sessions)).values()) == {"sent"}
    assert (await rem.claim_due(sessions, uid, NOW)).items == ()  # a retried job: nothing left


async def test_due_users_and_what_is_not_due(sessions: Sessions) -> None:
    uid, (lead, _) = await _creator(sessions, 7011, quiet_start_hour=0, quiet_end_hour=0)
    blocked, (theirs, _) = await _creator(sessions, 7012, quiet_start_hour=0, quiet_end_hour=0, bot_blocked_at=NOW)
    await _due(sessions, uid, lead, 1, NOW + timedelta(minutes=5))  # not yet due
    assert await rem.due_users(sessions, NOW) == []
    await _due(sessions, uid, lead, 1, NOW)
    await _due(sessions, blocked, theirs, 1, NOW)
    assert await rem.due_users(sessions, NOW) == [uid]  # the creator who blocked the bot is not spun on
    assert await rem.due_users(sessions, NOW, allowlist=frozenset({1})) == []  # removed from the allowlist
    claim = await rem.claim_due(sessions, uid, NOW)
    assert len(claim.items) == 1 and claim.chat_id == 7011
    assert (await rem.claim_due(sessions, blocked, NOW)).items == ()
    assert await rem.release(sessions, uid, [claim.items[0].reminder_id]) == 1  # the push failed: pending again
    assert await rem.due_users(sessions, NOW) == [uid]


async def test_quiet_hours_set_after_the_reminder_hold_it(sessions: Sessions) -> None:
    uid, (lead, _) = await _creator(sessions, 7013, quiet_start_hour=13, quiet_end_hour=16)  # 14:00 Berlin: quiet
    await _due(sessions, uid, lead, 1, NOW)
    claim = await rem.claim_due(sessions, uid, NOW)
    assert claim.items == () and claim.held_until == berlin(2031, 6, 4, 16, 0)
    assert await rem.due_users(sessions, NOW) == []  # moved, not spun on
    later = await rem.claim_due(sessions, uid, berlin(2031, 6, 4, 16, 0))
    assert len(later.items) == 1


async def test_deleting_the_creators_data_deletes_their_reminders(sessions: Sessions) -> None:
    uid, (lead, _) = await _creator(sessions, 7014)
    other, (theirs, _) = await _creator(sessions, 7015)
    await _due(sessions, uid, lead, 3, NOW)
    await _due(sessions, other, theirs, 1, NOW)
    async with transaction(sessions) as s:
        deleted = await account.delete_my_data(s, await _user(s, uid))
    assert deleted.reminders == 3
    async with sessions() as s:
        assert list((await s.execute(select(Reminder.user_id))).scalars()) == [other]
    async with transaction(sessions) as s:  # a real account replacing the demo: its leads' reminders go too
        await account.clear_leads(s, other)
    assert await _statuses(sessions) == {}


async def test_the_card_shows_the_soonest_open_reminder_of_that_lead_only(sessions: Sessions) -> None:
    uid, (lead, other_lead) = await _creator(sessions, 7020, quiet_start_hour=0, quiet_end_hour=0)
    stranger, (theirs, _) = await _creator(sessions, 7021, quiet_start_hour=0, quiet_end_hour=0)
    async with sessions() as s:
        user, them = await _user(s, uid), await _user(s, stranger)
        assert await rem.next_open(s, user, lead) is None
        later = await rem.set_reminder(s, user, lead, "fri 10:00", NOW, typed=True)
        sooner = await rem.set_reminder(s, user, lead, "in 1 hour", NOW, typed=True)
        assert isinstance(later, rem.ReminderSet) and isinstance(sooner, rem.ReminderSet)
        assert isinstance(await rem.set_reminder(s, them, theirs, "in 10 min", NOW, typed=True), rem.ReminderSet)
        assert isinstance(await rem.set_reminder(s, user, other_lead, "in 10 min", NOW, typed=True),
                          rem.ReminderSet)
        assert await rem.next_open(s, user, lead) == NOW + timedelta(hours=1)
        assert await rem.next_open(s, user, theirs) is None  # another creator's lead: not mine to see
        # Pushed (sent) is still open: the card keeps it until it is done.
        async with transaction(sessions) as t:
            await t.execute(update(Reminder).where(Reminder.id == sooner.reminder.id).values(status="sent"))
        assert await rem.next_open(s, user, lead) == NOW + timedelta(hours=1)
        assert isinstance(await rem.close(s, user, sooner.reminder.id, "done", NOW), rem.ReminderClosed)
        assert await rem.next_open(s, user, lead) == later.due
        assert isinstance(await rem.close(s, user, later.reminder.id, "cancelled", NOW), rem.ReminderClosed)
        assert await rem.next_open(s, user, lead) is None
