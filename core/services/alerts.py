"""Hot-lead alerts: one alert per time a lead crosses into hot (rules.is_hot), claimed once, delivered by a job.

`on_scored` is called inside the transaction that writes a score, with the effective score from before the
write, so the transition and its alert row commit together; a job that runs twice finds the item already
done (core/services/scoring.py) or the score unchanged, and records nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.engine import transaction
from core.db.models import Alert, Contact, ScoringRun, User
from core.rules import is_hot
from core.timeutil import as_utc, timezone_or_utc, utcnow


async def on_scored(session: AsyncSession, user: User, contact: Contact, previous_score: int | None) -> bool:
    """Insert one pending alert when the new score made the contact hot (it was not, with `previous_score`,
    under the creator's current threshold). Returns True when this call made the contact hot.

    Changing the threshold alerts nobody by itself: the hot list shows the new set at once, and an alert
    follows the next time a lead's score crosses the threshold."""
    threshold = user.alert_threshold
    if is_hot(previous_score, threshold) or not is_hot(contact.lead_score, threshold, contact.stage, contact.shelf):
        return False
    contact.hot_episode += 1
    session.add(Alert(user_id=user.id, contact_id=contact.id, episode=contact.hot_episode,
                      status="pending", created_at=utcnow()))
    return True


# ---------------------------------------------------------------- delivery (claimed by the alert job)

# A claim older than this is a sender that crashed mid-send: the alert goes back to pending.
CLAIM_LEASE = timedelta(minutes=5)
# While a scoring run is still finding hot leads, hold alerts (up to this long) so they become one digest.
RUN_HOLD_MAX = timedelta(seconds=60)
RUN_HOLD_STEP = timedelta(seconds=3)
DROPPED = "dropped"


@dataclass(frozen=True)
class AlertItem:
    """What a push message shows about one hot lead (plain data: rendering lives in bot/notifier.py)."""

    alert_id: int
    contact_id: int
    name: str | None
    username: str | None
    score: int | None
    sentiment: str | None
    reason: str | None
    next_action: str | None
    last_message: str | None
    last_message_at: datetime | None
    scored_by: str | None = None  # "offline" (rules) or the model id: model text is marked as AI's


@dataclass(frozen=True)
class Claim:
    """Outcome of one claim: alerts to send now, or a time to look again (quiet hours, running scoring)."""

    chat_id: int | None = None
    items: tuple[AlertItem, ...] = ()
    retry_at: datetime | None = None


def in_quiet_hours(user: User, now: datetime) -> bool:
    """Quiet hours are local wall-clock hours [start, end) in the creator's timezone; may span midnight."""
    start, end = user.quiet_start_hour, user.quiet_end_hour
    if start == end:
        return False
    hour = as_utc(now).astimezone(timezone_or_utc(user.timezone)).hour
    return start <= hour < end if start < end else (hour >= start or hour < end)


def quiet_ends_at(user: User, now: datetime) -> datetime:
    """The next local `quiet_end_hour:00` after `now`, in UTC (DST handled by zoneinfo)."""
    return _next_local_hour(user, now, user.quiet_end_hour)


def quiet_starts_at(user: User, now: datetime) -> datetime | None:
    """The next local `quiet_start_hour:00` after `now`, in UTC; None when the creator has no quiet hours."""
    if user.quiet_start_hour == user.quiet_end_hour:
        return None
    return _next_local_hour(user, now, user.quiet_start_hour)


def _next_local_hour(user: User, now: datetime, hour: int) -> datetime:
    local = as_utc(now).astimezone(timezone_or_utc(user.timezone))
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    # Re-attach the zone after the date change so a DST switch gets the right offset.
    return as_utc(at.replace(tzinfo=timezone_or_utc(user.timezone)))



async def claim_due(sessions: async_sessionmaker[AsyncSession], user_id: int, now: datetime) -> Claim:
    """Claim the creator's pending alerts for sending (pending -> sending), or say when to look again.

    The conditional UPDATE is the exactly-once guard: two senders racing for a row cannot both claim it.
    """
    async with transaction(sessions) as session:
        user = await session.get(User, user_id)
        if user is None:
            return Claim()
        await _recover_stale(session, user_id, now)
        if not user.alerts_enabled or user.chat_id is None:
            await _drop_pending(session, user_id)
            return Claim()
        rows = await _pending_rows(session, user_id)
        if not rows:
            return Claim()
        if in_quiet_hours(user, now):
            return Claim(retry_at=quiet_ends_at(user, now))
        hold = await _run_hold(session, user_id, rows, now)
        if hold is not None:
            return Claim(retry_at=hold)
        items = [await _claim_one(session, user, alert, contact, now) for alert, contact in rows]
        return Claim(chat_id=user.chat_id, items=tuple(item for item in items if item is not None))


async def _pending_rows(session: AsyncSession, user_id: int) -> list[tuple[Alert, Contact]]:
    stmt = (
        select(Alert, Contact)
        .join(Contact, and_(Contact.id == Alert.contact_id, Contact.user_id == Alert.user_id))
        .where(Alert.user_id == user_id, Alert.status == "pending")
        .order_by(Alert.created_at, Alert.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def _run_hold(
    session: AsyncSession, user_id: int, rows: list[tuple[Alert, Contact]], now: datetime
) -> datetime | None:
    """While a scoring run is active, wait (bounded) so its hot leads arrive as one digest."""
    running = await session.execute(
        select(ScoringRun.id).where(ScoringRun.user_id == user_id, ScoringRun.status == "running").limit(1)
    )
    if running.first() is None:
        return None
    oldest = min(as_utc(alert.created_at) for alert, _ in rows)
    if now - oldest >= RUN_HOLD_MAX:
        return None
    return min(now + RUN_HOLD_STEP, oldest + RUN_HOLD_MAX)


async def _claim_one(
    session: AsyncSession, user: User, alert: Alert, contact: Contact, now: datetime
) -> AlertItem | None:
    # Still news? The contact may have cooled, re-heated (a newer episode), or the threshold changed.
    current = contact.hot_episode == alert.episode and is_hot(contact.lead_score, user.alert_threshold,
                                                              contact.stage, contact.shelf)
    status = "sending" if current else DROPPED
    result = await session.execute(
        update(Alert).where(Alert.id == alert.id, Alert.status == "pending")
        .values(status=status, claimed_at=now).execution_options(synchronize_session=False)
    )
    if not current or result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return AlertItem(
        alert_id=alert.id, contact_id=contact.id, name=contact.name, username=contact.username,
        score=contact.lead_score, sentiment=contact.sentiment, reason=contact.score_reason,
        next_action=contact.next_action, last_message=contact.last_message,
        last_message_at=contact.last_message_at, scored_by=contact.scored_by,
    )


async def _recover_stale(session: AsyncSession, user_id: int, now: datetime) -> None:
    await session.execute(
        update(Alert).where(Alert.user_id == user_id, Alert.status == "sending", Alert.claimed_at < now - CLAIM_LEASE)
        .values(status="pending", claimed_at=None).execution_options(synchronize_session=False)
    )


async def _drop_pending(session: AsyncSession, user_id: int) -> None:
    # Alerts off means off: what piled up is not sent later when they are switched back on.
    await session.execute(
        update(Alert).where(Alert.user_id == user_id, Alert.status == "pending")
        .values(status=DROPPED).execution_options(synchronize_session=False)
    )


async def finish(
    sessions: async_sessionmaker[AsyncSession], user_id: int, alert_ids: Sequence[int], status: str, now: datetime,
    message_id: int | None = None,
) -> int:
    """Settle claimed alerts: "sent" (delivered), "pending" (retry later) or "dropped" (undeliverable)."""
    if not alert_ids:
        return 0
    values: dict[str, Any] = {"status": status}
    if status == "sent":
        values.update(sent_at=now, detail={"message_id": message_id})
    if status == "pending":
        values.update(claimed_at=None)
    async with transaction(sessions) as session:
        result = await session.execute(
            update(Alert).where(Alert.user_id == user_id, Alert.id.in_(list(alert_ids)), Alert.status == "sending")
            .values(**values).execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


async def users_with_pending(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    """Creators with alerts waiting (held by quiet hours, or a sender that crashed): the scheduler re-kicks them."""
    async with sessions() as session:
        stmt = select(Alert.user_id).where(Alert.status.in_(("pending", "sending"))).distinct()
        return sorted(int(uid) for uid in (await session.execute(stmt)).scalars())
