"""The reply-window push: "reply before it closes".

Instagram lets a creator answer a lead for 24 h after the lead's last message (core.services.reply.reply_window).
When a hot or unsure lead's last message is unanswered and that window closes within the creator's N hours
(users.window_push_hours, rules.WINDOW_PUSH_HOURS; 0 = off), the creator gets one push.

Once per lead message: `contacts.window_pushed_for` holds the lead message time that was pushed for; the push is
claimed by one conditional UPDATE (rowcount 1 wins), so a re-scan, a retried job or a second scheduler never
pushes twice, and a newer lead message (a new window) may push again.

Quiet hours (core.services.alerts.in_quiet_hours) are never pushed into. A lead that would become due during
them is pushed at their start instead: the scans of the last PRE_QUIET before quiet hours begin push every lead due
before they end (its window is still open then, with more than N hours left). A lead that became due during them
anyway (the scheduler was down, say) is pushed by the first scan after they end if its window is still open then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.engine import transaction
from core.db.models import Contact, User
from core.notifier import Notifier, Undeliverable
from core.rules import CLOSED_STAGES, WINDOW_PUSH_SENTIMENTS, hot_clause, is_open, shown_sentiment
from core.services import account
from core.services.alerts import in_quiet_hours, quiet_ends_at, quiet_starts_at
from core.services.reply import WINDOW, WindowKind, reply_window

log = logging.getLogger(__name__)

BATCH = 50  # leads pushed per creator per scan at most (the most urgent first); the next scan takes the rest
PRE_QUIET = timedelta(minutes=30)  # scans run every 5 min: several get the chance before quiet hours begin


@dataclass(frozen=True)
class WindowItem:
    """What the push shows about one lead (plain data: rendering lives in bot/notifier.py)."""

    contact_id: int
    name: str | None
    username: str | None
    left: timedelta  # until Instagram's window closes
    last_message: str | None
    score: int | None
    scored_by: str | None = None


@dataclass
class ScanResult:
    pushed: list[int] = field(default_factory=list)  # contact ids pushed by this scan
    quiet: list[int] = field(default_factory=list)  # creators inside their quiet hours (nothing pushed)
    failed: list[int] = field(default_factory=list)  # contacts whose push failed (released: the next scan retries)


GetNotifier = Callable[[], Awaitable[Notifier]]


async def scan(sessions: async_sessionmaker[AsyncSession], get_notifier: GetNotifier, now: datetime,
               allowlist: frozenset[int] = frozenset()) -> ScanResult:
    """Push every due lead of every creator who wants these pushes, once. Safe to run concurrently."""
    result = ScanResult()
    for user in await _creators(sessions):
        if not account.allowed(user, allowlist):
            continue
        if in_quiet_hours(user, now):
            result.quiet.append(user.id)
            continue
        await _scan_creator(sessions, get_notifier, user, now, result)
    return result


async def _creators(sessions: async_sessionmaker[AsyncSession]) -> list[User]:
    """Creators with the push on, a chat to push to, an Instagram account, and the bot not blocked."""
    async with sessions() as session:
        stmt = select(User).where(User.window_push_hours > 0, User.chat_id.is_not(None),
                                  User.bot_blocked_at.is_(None), User.ig_source.is_not(None)).order_by(User.id)
        return list((await session.execute(stmt)).scalars())


def _not_pushed() -> ColumnElement[bool]:
    return or_(Contact.window_pushed_for.is_(None), Contact.window_pushed_for != Contact.last_lead_message_at)


def push_horizon(user: User, now: datetime) -> datetime:
    """The latest time a lead may become due (its window closing within N hours) to be pushed now: now itself;
    in the last PRE_QUIET before quiet hours, their end (what they would swallow comes at their start)."""
    starts = quiet_starts_at(user, now)
    if starts is not None and starts - now <= PRE_QUIET:
        return quiet_ends_at(user, starts)
    return now


def due_query(user: User, now: datetime, limit: int = BATCH, horizon: datetime | None = None) -> Select[Contact]:
    """The creator's leads whose window closes within N hours (of the push horizon) and is still open,
    unanswered, not yet pushed, hot or unsure (an index range on ix_contacts_user_lead_message), the soonest
    closing first."""
    horizon = horizon or push_horizon(user, now)
    lead_at = Contact.last_lead_message_at
    still_open = and_(Contact.stage.not_in(CLOSED_STAGES), Contact.shelf.is_(None))
    wanted = or_(hot_clause(Contact.lead_score, user.alert_threshold, Contact.stage, Contact.shelf),
                 and_(still_open, Contact.sentiment.in_(WINDOW_PUSH_SENTIMENTS)))
    # Instagram said they cannot receive messages since their last one (reply_window's "unavailable"): no push.
    reachable = or_(Contact.reply_unavailable_at.is_(None), Contact.reply_unavailable_at < lead_at)
    return (select(Contact)
            .where(Contact.user_id == user.id, lead_at > now - WINDOW,
                   lead_at <= horizon - WINDOW + timedelta(hours=user.window_push_hours),
                   Contact.last_message_from_creator.is_(False), _not_pushed(), wanted, reachable)
            .order_by(lead_at, Contact.id).limit(limit))


def wants_push(user: User, contact: Contact, now: datetime, horizon: datetime) -> bool:
    """The same decision in Python on one contact (the rules' own forms): open, hot or unsure, window closing."""
    shown = shown_sentiment(contact.sentiment, contact.lead_score, user.alert_threshold, contact.stage,
                            contact.shelf)
    window = reply_window(contact, now, human_agent=False)
    return (is_open(contact.stage, contact.shelf) and shown in WINDOW_PUSH_SENTIMENTS
            and window.kind is WindowKind.open and not contact.last_message_from_creator
            and window.remaining <= timedelta(hours=user.window_push_hours) + (horizon - now))


async def _scan_creator(sessions: async_sessionmaker[AsyncSession], get_notifier: GetNotifier, user: User,
                        now: datetime, result: ScanResult) -> None:
    async with sessions() as session:
        horizon = push_horizon(user, now)  # once per creator and scan, for the query and each lead alike
        found = (await session.execute(due_query(user, now, horizon=horizon))).scalars()
        due = [c for c in found if wants_push(user, c, now, horizon)]
    for contact in due:
        if not await _claim(sessions, contact):
            continue  # another scan pushed it, or the lead wrote again / was answered meanwhile
        item = _item(contact, now)
        try:
            await (await get_notifier()).window_closing(user.chat_id or 0, item)
        except Undeliverable as exc:  # blocked or gone: keep the claim (no resend), stop for this creator
            log.warning("window push for user %s undeliverable: %s", user.id, exc)
            if exc.blocked:
                await account.mark_bot_blocked(sessions, user.id, now)
            return
        except Exception:  # not sent (network, timeout): released, the next scan tries again
            log.exception("window push for contact %s failed", contact.id)
            await _release(sessions, contact)
            result.failed.append(contact.id)
            continue
        except BaseException:  # cancelled mid-push (shutdown): released too, then the cancellation goes on
            await asyncio.shield(_release(sessions, contact))
            raise
        result.pushed.append(contact.id)


async def _claim(sessions: async_sessionmaker[AsyncSession], contact: Contact) -> bool:
    """window_pushed_for := this lead message, if nobody did and nothing changed since the scan read it. The
    UPDATE is the transaction's first statement: SQLite takes the write lock at once (no read upgrade)."""
    async with transaction(sessions) as session:
        res = await session.execute(
            update(Contact)
            .where(Contact.id == contact.id, Contact.user_id == contact.user_id,
                   Contact.last_lead_message_at == contact.last_lead_message_at,
                   Contact.last_message_from_creator.is_(False), _not_pushed())
            .values(window_pushed_for=Contact.last_lead_message_at)
            .execution_options(synchronize_session=False))
        return int(res.rowcount) == 1  # type: ignore[attr-defined]


async def _release(sessions: async_sessionmaker[AsyncSession], contact: Contact) -> None:
    """Undo our claim (the push did not leave), unless a newer lead message moved on meanwhile."""
    async with transaction(sessions) as session:
        await session.execute(
            update(Contact)
            .where(Contact.id == contact.id, Contact.user_id == contact.user_id,
                   Contact.window_pushed_for == contact.last_lead_message_at)
            .values(window_pushed_for=contact.window_pushed_for)
            .execution_options(synchronize_session=False))


def _item(contact: Contact, now: datetime) -> WindowItem:
    left = reply_window(contact, now, human_agent=False).remaining
    return WindowItem(contact_id=contact.id, name=contact.name, username=contact.username, left=left,
                      last_message=contact.last_message, score=contact.lead_score, scored_by=contact.scored_by)
