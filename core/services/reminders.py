"""⏰ Reminders about a lead: set from the card (a preset or a typed time), listed by /reminders, pushed once when
due (the scheduler enqueues, the job claims, the notifier pushes), snoozed, done or cancelled.

Every time is read in the creator's timezone (users.timezone) and stored in UTC. A reminder that would fall inside
the creator's quiet hours is moved to their end when it is set (the creator is told), and again at delivery if the
quiet hours changed meanwhile. Delivery is exactly once: `claim_due` takes each due row with one conditional
UPDATE (pending -> sent) before the push, so two schedulers (one job id per slot) and two workers (the claim)
still push it once; a push that fails before Telegram took it gives the row back (`release`). A crash between the
claim and the push loses that one push, never the reminder: /reminders still lists it as due.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser
from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, Reminder, User
from core.rules import (
    EVENING_HOUR,
    MAX_PENDING_REMINDERS,
    MAX_REMINDER_AHEAD_DAYS,
    MAX_REMINDER_TEXT,
    MORNING_HOUR,
    REMINDER_PRESETS,
    SNOOZE_PRESETS,
)
from core.services.alerts import in_quiet_hours, quiet_ends_at
from core.timeutil import as_utc, timezone_or_utc

PAGE = 8  # /reminders rows per page
CLAIM_BATCH = 20  # reminders one delivery job pushes (the rest: the next tick's job)
OPEN = ("pending", "sent")  # what /reminders lists: waiting, or pushed and not yet done
MAX_AHEAD = timedelta(days=MAX_REMINDER_AHEAD_DAYS)


class ReminderRefused(enum.Enum):
    NOT_FOUND = "not_found"  # no such contact / reminder of this creator
    UNREADABLE = "unreadable"  # the typed time could not be read
    PAST = "past"  # the time is not in the future
    TOO_FAR = "too_far"  # more than MAX_REMINDER_AHEAD_DAYS ahead
    TOO_MANY = "too_many"  # MAX_PENDING_REMINDERS open already
    CLOSED = "closed"  # already done or cancelled


@dataclass(frozen=True)
class ReminderSet:
    """A reminder set or snoozed. `asked` is the time asked for; `due` the time it will come (later when the
    asked time fell in quiet hours: `quiet_shifted`). Both in the creator's timezone."""

    reminder: Reminder
    contact: Contact
    asked: datetime
    due: datetime
    quiet_shifted: bool


@dataclass(frozen=True)
class ReminderClosed:
    reminder: Reminder
    contact: Contact


@dataclass(frozen=True)
class ReminderRow:
    reminder: Reminder
    contact: Contact
    due: datetime  # in the creator's timezone
    overdue: bool  # due now or earlier (pushed, or waiting for its push)


@dataclass(frozen=True)
class RemindersPage:
    rows: list[ReminderRow]
    page: int
    pages: int
    total: int


# ---------------------------------------------------------------- reading a time


def zone_of(user: User) -> ZoneInfo:
    return timezone_or_utc(user.timezone)


def local(user: User, when: datetime) -> datetime:
    return as_utc(when).astimezone(zone_of(user))


_WEEKDAYS = {"mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "weds": 2, "wednesday": 2,
             "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5, "saturday": 5,
             "sun": 6, "sunday": 6}
_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmr": 1, "tmrw": 1}
_FILLERS = {"at", "on", "next", "this", "in", "the"}
_UNITS = {"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600,
          "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800, "wk": 604800,
          "week": 604800, "weeks": 604800}
_WORD_TIMES = {"morning": time(MORNING_HOUR), "noon": time(12), "afternoon": time(14), "evening": time(EVENING_HOUR),
               "tonight": time(EVENING_HOUR)}
_RELATIVE = re.compile(r"(?:in\s+)?((?:\d+\s*[a-z]+\s*)+)")
_AMOUNT = re.compile(r"(\d+)\s*([a-z]+)")
_TIME = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a|p)?")


def _relative(text: str, now: datetime) -> datetime | ReminderRefused | None:
    """"2d", "3h", "1h30m", "in 2 days", "90 min"; None when the text is not a duration."""
    match = _RELATIVE.fullmatch(text)
    if match is None:
        return None
    seconds = 0
    for amount, unit in _AMOUNT.findall(match.group(1)):
        if unit not in _UNITS:
            return None
        seconds += int(amount) * _UNITS[unit]
    if seconds > MAX_AHEAD.total_seconds():
        return ReminderRefused.TOO_FAR  # "99999999d": said before any datetime arithmetic overflows
    return now + timedelta(seconds=seconds)


def _clock_time(text: str) -> time | None:
    """"10", "10:00", "9.30", "18h30", "6pm", "6:30 pm", "noon", "evening"; None when it is not a time of day."""
    if text in _WORD_TIMES:
        return _WORD_TIMES[text]
    match = _TIME.fullmatch(text)
    if match is None:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.startswith("p") else 0)
    return time(hour, minute) if hour <= 23 and minute <= 59 else None


def _at(zone: ZoneInfo, day: date, at: time) -> datetime:
    # zoneinfo picks the offset (DST included) for that local wall-clock time.
    return as_utc(datetime.combine(day, at, tzinfo=zone))


def _day_phrase(words: list[str], now_local: datetime, zone: ZoneInfo) -> datetime | ReminderRefused | None:
    """"fri 10:00", "tomorrow 18:30", "tomorrow at 9am", "next monday", "tonight", "10am fri"; None when no
    day word is in the text."""
    days = [w for w in words if w in _WEEKDAYS or w in _DAYS]
    if len(days) != 1:
        return None
    rest = " ".join(w for w in words if w != days[0] and w not in _FILLERS)
    day_word = days[0]
    at = _clock_time(rest) if rest else (time(EVENING_HOUR) if day_word == "tonight" else None)
    if rest and at is None:
        return ReminderRefused.UNREADABLE
    today = now_local.date()
    if day_word in _DAYS:
        if day_word in ("today",) and at is None:
            return ReminderRefused.UNREADABLE  # "today" alone says no time
        return _at(zone, today + timedelta(days=_DAYS[day_word]), at or time(MORNING_HOUR))
    ahead = (_WEEKDAYS[day_word] - today.weekday()) % 7
    when = _at(zone, today + timedelta(days=ahead), at or time(MORNING_HOUR))
    return when if when > now_local else _at(zone, today + timedelta(days=ahead + 7), at or time(MORNING_HOUR))


def _calendar(text: str, now_local: datetime, zone: ZoneInfo) -> datetime | ReminderRefused:
    """Dates by python-dateutil: "dec 3 9:00", "3 dec", "12/3 18:30", "2026-12-05 10:00". Parsed against two
    different defaults: a field that comes out the same both times was written, one that differs was not."""
    first = now_local.replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0, tzinfo=None)
    other = datetime(1999, 7 if first.month != 7 else 8, 15 if first.day != 15 else 16, 10, 17)
    try:
        a = dateutil_parser.parse(text, default=first)
        b = dateutil_parser.parse(text, default=other)
    except (ValueError, OverflowError):  # dateutil's ParserError is a ValueError
        return ReminderRefused.UNREADABLE
    if (a.month, a.day) != (b.month, b.day) and (a.month == b.month or a.day == b.day):
        return ReminderRefused.UNREADABLE  # a month without a day ("december"), or the reverse
    if a.tzinfo is not None:  # "10:00 UTC", "+02:00": the writer named the zone
        return as_utc(a)
    when = _at(zone, a.date(), a.time())
    if when > now_local:
        return when
    if (a.month, a.day) != (b.month, b.day):  # only a time: the next one
        return _at(zone, a.date() + timedelta(days=1), a.time())
    if a.year != b.year:  # a date without a year: the next one
        try:
            return _at(zone, a.date().replace(year=a.year + 1), a.time())
        except ValueError:  # 29 February
            return ReminderRefused.UNREADABLE
    return when  # a full date in the past: refused by the caller


def parse_when(text: str, now: datetime, zone: ZoneInfo) -> datetime | ReminderRefused:
    """A typed reminder time, in UTC. The past is not refused here (see `check_due`)."""
    clean = " ".join((text or "").lower().replace(",", " ").split())[:MAX_REMINDER_TEXT]
    if not clean:
        return ReminderRefused.UNREADABLE
    now_local = as_utc(now).astimezone(zone)
    relative = _relative(re.sub(r"^in an? ", "in 1 ", clean), now)  # "in an hour", "in a day"
    if relative is not None:
        return relative
    found = _day_phrase(clean.split(), now_local, zone)
    if found is not None:
        return found
    bare = clean.removeprefix("at ").strip()
    at = _clock_time(bare)
    if at is None and _TIME.fullmatch(bare):
        return ReminderRefused.UNREADABLE  # shaped like a time but not one ("13pm", "25:00"): no lenient guess
    if at is not None:  # a time only: today, else tomorrow
        when = _at(zone, now_local.date(), at)
        return when if when > now else _at(zone, now_local.date() + timedelta(days=1), at)
    return _calendar(clean, now_local, zone)


def preset_time(preset: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The card's choices (rules.REMINDER_PRESETS) and the push's snoozes (rules.SNOOZE_PRESETS), from `now`."""
    now_local = as_utc(now).astimezone(zone)
    if preset == "1h":
        return now + timedelta(hours=1)
    if preset == "3d":
        return now + timedelta(days=3)
    if preset == "evening":
        when = _at(zone, now_local.date(), time(EVENING_HOUR))
        return when if when > now else _at(zone, now_local.date() + timedelta(days=1), time(EVENING_HOUR))
    if preset == "tomorrow":
        return _at(zone, now_local.date() + timedelta(days=1), time(MORNING_HOUR))
    raise ValueError(f"unknown reminder preset {preset!r}")


def check_due(user: User, asked: datetime, now: datetime) -> tuple[datetime, bool] | ReminderRefused:
    """The time a reminder asked for `asked` will come: refused in the past or too far ahead; moved to the end of
    the creator's quiet hours when inside them (second value True)."""
    if asked <= now:
        return ReminderRefused.PAST
    if asked - now > MAX_AHEAD:
        return ReminderRefused.TOO_FAR
    if in_quiet_hours(user, asked):
        return quiet_ends_at(user, asked), True
    return asked, False


# ---------------------------------------------------------------- the creator's use cases


async def _count_open(session: AsyncSession, user_id: int) -> int:
    stmt = select(func.count()).select_from(Reminder).where(Reminder.user_id == user_id, Reminder.status.in_(OPEN))
    return int((await session.execute(stmt)).scalar_one())


async def set_reminder(session: AsyncSession, user: User, contact_id: int, when: str, now: datetime,
                       typed: bool = False) -> ReminderSet | ReminderRefused:
    """⏰ on the card: `when` is a preset key (rules.REMINDER_PRESETS) or, `typed`, the creator's own words."""
    zone = zone_of(user)
    if typed:
        asked = parse_when(when, now, zone)
    elif when in REMINDER_PRESETS:
        asked = preset_time(when, now, zone)
    else:
        asked = ReminderRefused.UNREADABLE  # callback data is user input
    if isinstance(asked, ReminderRefused):
        return asked
    checked = check_due(user, asked, now)
    if isinstance(checked, ReminderRefused):
        return checked
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None:
        return ReminderRefused.NOT_FOUND
    if await _count_open(session, user.id) >= MAX_PENDING_REMINDERS:
        return ReminderRefused.TOO_MANY
    due, shifted = checked
    reminder = Reminder(user_id=user.id, contact_id=contact.id, due_at=due, status="pending", snoozes=0,
                        created_at=now)
    session.add(reminder)
    await session.commit()
    return ReminderSet(reminder, contact, local(user, asked), local(user, due), shifted)


async def _own(session: AsyncSession, user: User, reminder_id: int) -> tuple[Reminder, Contact] | None:
    if not 0 < reminder_id <= repo.MAX_ID:  # ids come from callback data (user input)
        return None
    stmt = (select(Reminder, Contact)
            .join(Contact, and_(Contact.id == Reminder.contact_id, Contact.user_id == Reminder.user_id))
            .where(Reminder.id == reminder_id, Reminder.user_id == user.id))
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def snooze(session: AsyncSession, user: User, reminder_id: int, preset: str,
                 now: datetime) -> ReminderSet | ReminderRefused:
    """⏰ Snooze (rules.SNOOZE_PRESETS): from now, or from the due time of a reminder not yet due (a snooze never
    brings a reminder earlier). The reminder is pending again, to be pushed at the new time."""
    found = await _own(session, user, reminder_id)
    if found is None or preset not in SNOOZE_PRESETS:
        return ReminderRefused.NOT_FOUND
    reminder, contact = found
    if reminder.status not in OPEN:
        return ReminderRefused.CLOSED
    base = max(now, as_utc(reminder.due_at))
    asked = preset_time(preset, base, zone_of(user))
    checked = check_due(user, asked, now)
    if isinstance(checked, ReminderRefused):
        return checked
    due, shifted = checked
    reminder.due_at, reminder.status, reminder.sent_at = due, "pending", None
    reminder.snoozes += 1
    await session.commit()
    return ReminderSet(reminder, contact, local(user, asked), local(user, due), shifted)


async def close(session: AsyncSession, user: User, reminder_id: int, status: str,
                now: datetime) -> ReminderClosed | ReminderRefused:
    """✅ Done (status "done") or ✖️ Cancel ("cancelled") an open reminder."""
    found = await _own(session, user, reminder_id)
    if found is None or status not in ("done", "cancelled"):
        return ReminderRefused.NOT_FOUND
    reminder, contact = found
    result = await session.execute(
        update(Reminder).where(Reminder.id == reminder.id, Reminder.user_id == user.id, Reminder.status.in_(OPEN))
        .values(status=status, closed_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return ReminderRefused.CLOSED  # nothing was written
    await session.commit()
    await session.refresh(reminder)
    return ReminderClosed(reminder, contact)


async def next_open(session: AsyncSession, user: User, contact_id: int) -> datetime | None:
    """The lead's soonest open reminder (UTC), shown on its card; None when there is none."""
    stmt = (select(Reminder.due_at).where(Reminder.user_id == user.id, Reminder.contact_id == contact_id,
                                          Reminder.status.in_(OPEN))
            .order_by(Reminder.due_at).limit(1))
    at = (await session.execute(stmt)).scalar_one_or_none()
    return as_utc(at) if at is not None else None


async def reminders_page(session: AsyncSession, user: User, now: datetime, page: int = 1,
                         size: int = PAGE) -> RemindersPage:
    """/reminders: what is open (due first, then the soonest), with the lead."""
    scoped = (Reminder.user_id == user.id, Reminder.status.in_(OPEN))
    total = int((await session.execute(select(func.count()).select_from(Reminder).where(*scoped))).scalar_one())
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    stmt = (select(Reminder, Contact)
            .join(Contact, and_(Contact.id == Reminder.contact_id, Contact.user_id == Reminder.user_id))
            .where(*scoped).order_by(Reminder.due_at, Reminder.id).offset((page - 1) * size).limit(size))
    rows = [ReminderRow(r, c, local(user, r.due_at), as_utc(r.due_at) <= now)
            for r, c in (await session.execute(stmt)).all()]
    return RemindersPage(rows, page, pages, total)


# ---------------------------------------------------------------- delivery (the scheduler and the job)


@dataclass(frozen=True)
class ReminderItem:
    """One claimed reminder to push (plain data; the notifier renders the lead's card)."""

    reminder_id: int
    user_id: int
    contact_id: int
    due_at: datetime
    snoozes: int


@dataclass(frozen=True)
class ReminderClaim:
    chat_id: int | None = None
    items: tuple[ReminderItem, ...] = ()
    held_until: datetime | None = None  # quiet hours began after it was set: moved to their end


async def due_users(sessions: async_sessionmaker[AsyncSession], now: datetime,
                    allowlist: frozenset[int] = frozenset()) -> list[int]:
    """Creators with a reminder due by `now` who can be written to (not blocking the bot, allowed): the
    scheduler enqueues one delivery job for each. A creator who blocked the bot is skipped, not retried: their
    reminders wait, pending, until any update from them clears the mark."""
    from core.services.account import allowed

    async with sessions() as session:
        return [u.id for u in (await session.execute(due_users_query(now))).scalars() if allowed(u, allowlist)]


def due_users_query(now: datetime) -> Select[User]:
    """Creators who can be written to with a pending reminder due by `now` (ix_reminders_status_due)."""
    due = select(Reminder.user_id).where(Reminder.status == "pending", Reminder.due_at <= now)
    return (select(User).where(User.bot_blocked_at.is_(None), User.chat_id.is_not(None), User.id.in_(due))
            .order_by(User.id))


async def claim_due(sessions: async_sessionmaker[AsyncSession], user_id: int, at: datetime) -> ReminderClaim:
    """Claim the creator's reminders due by `at` (pending -> sent, one conditional UPDATE each: a row another
    worker claimed first is skipped)."""
    async with transaction(sessions) as session:
        user = await session.get(User, user_id)
        if user is None or user.chat_id is None or user.bot_blocked_at is not None:
            return ReminderClaim()
        due = (Reminder.user_id == user_id, Reminder.status == "pending", Reminder.due_at <= at)
        if in_quiet_hours(user, at):  # quiet hours set (or moved) after the reminder was
            until = quiet_ends_at(user, at)
            await session.execute(update(Reminder).where(*due).values(due_at=until)
                                  .execution_options(synchronize_session=False))
            return ReminderClaim(held_until=until)
        rows = list((await session.execute(select(Reminder).where(*due).order_by(Reminder.due_at, Reminder.id)
                                           .limit(CLAIM_BATCH))).scalars())
        items = []
        for row in rows:
            taken = await session.execute(
                update(Reminder).where(Reminder.id == row.id, Reminder.status == "pending")
                .values(status="sent", sent_at=at).execution_options(synchronize_session=False))
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                items.append(ReminderItem(row.id, user_id, row.contact_id, as_utc(row.due_at), row.snoozes))
        return ReminderClaim(chat_id=user.chat_id, items=tuple(items))


async def push_subject(session: AsyncSession, item: ReminderItem) -> tuple[User, Contact] | None:
    """The creator and the lead a claimed reminder's push shows (None: deleted meanwhile)."""
    user = await session.get(User, item.user_id)
    contact = await repo.get_contact(session, item.user_id, item.contact_id)
    return (user, contact) if user is not None and contact is not None else None


async def release(sessions: async_sessionmaker[AsyncSession], user_id: int, reminder_ids: Sequence[int]) -> int:
    """A push that did not go out (network, timeout, the creator blocked the bot): sent -> pending, so it comes
    with a later tick (a blocked creator's once they are back)."""
    if not reminder_ids:
        return 0
    async with transaction(sessions) as session:
        result = await session.execute(
            update(Reminder).where(Reminder.user_id == user_id, Reminder.id.in_(list(reminder_ids)),
                                   Reminder.status == "sent")
            .values(status="pending", sent_at=None).execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]
