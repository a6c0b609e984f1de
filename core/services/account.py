"""The creator owns their data: disconnect Instagram, delete everything, demo kept apart from a real account,
and who gets synced at all (allowlist, a creator who blocked the bot)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.engine import transaction
from core.db.models import Alert, Contact, Message, Note, Reminder, ScoringItem, ScoringRun, User
from core.timeutil import utcnow

# What a connection leaves on the user row; cleared by /disconnect (the contacts stay).
_CONNECTION: dict[str, Any] = {
    "ig_source": None, "ig_token_encrypted": None, "ig_account_id": None, "ig_username": None,
    "ig_token_expires_at": None, "ig_token_refreshed_at": None, "ig_status": None, "ig_status_detail": None,
    "ig_backoff_until": None, "ig_reconnect_notified": False,
}


class Disconnect(enum.StrEnum):
    DONE = "done"  # syncing stopped, the stored token deleted
    NOTHING = "nothing"  # no Instagram account was connected


@dataclass(frozen=True)
class Disconnected:
    outcome: Disconnect
    account: str | None = None  # "@username", "the demo account", or None
    had_token: bool = False


def account_label(user: User) -> str | None:
    if user.ig_source == "demo":
        return "the demo account"
    if user.ig_source == "graph":
        return f"@{user.ig_username}" if user.ig_username else "your Instagram account"
    return None


async def disconnect(session: AsyncSession, user: User, now: datetime | None = None) -> Disconnected:
    """Stop syncing and delete the stored token; contacts, scores and settings stay. Commits."""
    if not user.ig_source:
        return Disconnected(Disconnect.NOTHING)
    label, had_token = account_label(user), user.ig_token_encrypted is not None
    await session.execute(update(User).where(User.id == user.id)
                          .values(**_CONNECTION, updated_at=now or utcnow())
                          .execution_options(synchronize_session=False))
    await session.commit()
    await session.refresh(user)
    return Disconnected(Disconnect.DONE, label, had_token)


@dataclass(frozen=True)
class Deleted:
    contacts: int
    messages: int
    runs: int
    alerts: int
    notes: int
    token: bool
    settings: bool
    reminders: int = 0


async def delete_my_data(session: AsyncSession, user: User) -> Deleted:
    """Everything of this creator: contacts, messages, scoring runs, alerts, the stored token and the settings
    (the user row itself; the next message starts a new, empty one). Explicit deletes for the counts, then the
    row, whose foreign keys cascade to anything else that belongs to it. Commits."""
    uid = user.id
    counts = [int((await session.execute(select(func.count()).select_from(model)
                                         .where(model.user_id == uid))).scalar_one())
              for model in (Contact, Message, ScoringRun, Alert, Note, Reminder)]
    had_token = user.ig_token_encrypted is not None
    await _delete_leads(session, uid)
    await session.execute(delete(User).where(User.id == uid))
    await session.commit()
    session.expunge(user)
    contacts, messages, runs, alerts, notes, reminders = counts
    return Deleted(contacts, messages, runs, alerts, notes, token=had_token, settings=True, reminders=reminders)


async def clear_leads(session: AsyncSession, user_id: int) -> int:
    """Remove every lead (with messages, run items, alerts, notes, reminders) of one creator: used when the demo
    and a real account change places, so demo leads never show in a real account's list or export (nor the
    reverse)."""
    count = int((await session.execute(select(func.count()).select_from(Contact)
                                       .where(Contact.user_id == user_id))).scalar_one())
    await _delete_leads(session, user_id)
    return count


async def _delete_leads(session: AsyncSession, user_id: int) -> None:
    """Children first (SQLite may run without foreign-key enforcement): reminders, alerts, notes, run items,
    runs, messages, contacts."""
    await session.execute(delete(Reminder).where(Reminder.user_id == user_id))
    await session.execute(delete(Alert).where(Alert.user_id == user_id))
    await session.execute(delete(Note).where(Note.user_id == user_id))
    run_ids = select(ScoringRun.id).where(ScoringRun.user_id == user_id).scalar_subquery()
    await session.execute(delete(ScoringItem).where(ScoringItem.run_id.in_(run_ids)))
    await session.execute(delete(ScoringRun).where(ScoringRun.user_id == user_id))
    await session.execute(delete(Message).where(Message.user_id == user_id))
    await session.execute(delete(Contact).where(Contact.user_id == user_id))


async def switch_to_demo(session: AsyncSession, user: User) -> int:
    """The creator confirmed: the demo replaces their real account. Its token is deleted and its leads removed
    (offered /export first), so demo and real leads never mix. Returns the leads removed. Commits."""
    from core.services.connect import connect_demo

    removed = await clear_leads(session, user.id) if user.ig_source == "graph" else 0
    await session.execute(update(User).where(User.id == user.id).values(**_CONNECTION)
                          .execution_options(synchronize_session=False))
    await connect_demo(session, user.id)
    await session.execute(update(User).where(User.id == user.id).values(onboarding_step="done")
                          .execution_options(synchronize_session=False))
    await session.commit()
    await session.refresh(user)
    return removed


def demo_would_replace(user: User) -> str | None:
    """The real account /demo would replace (the creator must confirm), or None."""
    return account_label(user) if user.ig_source == "graph" else None


# ---------------------------------------------------------------- who is synced and alerted


def allowed(user: User, allowlist: frozenset[int]) -> bool:
    """ALLOWED_TELEGRAM_IDS (empty = everyone). The CLI creator (telegram id 0) is the operator's own."""
    return not allowlist or user.telegram_id in allowlist or user.telegram_id == 0


async def alert_refusal(sessions: async_sessionmaker[AsyncSession], user_id: int, allowlist: frozenset[int]
                        ) -> str | None:
    """Why alerts must not be pushed to this creator (None: push)."""
    async with sessions() as session:
        user = await session.get(User, user_id)
    if user is None:
        return "gone"
    if not allowed(user, allowlist):
        return "not_allowed"
    return "bot_blocked" if user.bot_blocked_at is not None else None


async def mark_bot_blocked(sessions: async_sessionmaker[AsyncSession], user_id: int, now: datetime) -> None:
    """Telegram said 403 (the creator blocked the bot): no syncing and no scoring until they come back."""
    async with transaction(sessions) as session:
        await session.execute(update(User).where(User.id == user_id, User.bot_blocked_at.is_(None))
                              .values(bot_blocked_at=now).execution_options(synchronize_session=False))


async def chat_blocked(session: AsyncSession, telegram_id: int, blocked: bool, now: datetime | None = None) -> None:
    """The creator blocked (kicked) the bot, or is back (any update from them)."""
    await session.execute(update(User).where(User.telegram_id == telegram_id)
                          .values(bot_blocked_at=(now or utcnow()) if blocked else None)
                          .execution_options(synchronize_session=False))


async def chat_member_changed(sessions: async_sessionmaker[AsyncSession], telegram_id: int, blocked: bool) -> None:
    """Telegram's my_chat_member update: "kicked" = blocked, "member" = restarted."""
    async with transaction(sessions) as session:
        await chat_blocked(session, telegram_id, blocked)
