"""/stats: where the creator's leads stand — per stage and per sentiment, this week against last week.

Weeks are rolling (the last 7 days, the 7 before), so Monday morning is not an empty week. Per stage: the leads
there now, and how many entered it in each week (their stage change, or their arrival for "new"). Per sentiment
(as the bot shows it, by the one hot rule): the leads, and those who wrote in each week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Contact, User
from core.rules import CLOSED_STAGES, SHELVES, Sentiment, shown_sentiment, stage_names

WEEK = timedelta(days=7)
SENTIMENTS = (Sentiment.hot.value, Sentiment.unsure.value, Sentiment.cold.value, Sentiment.ghosted.value, None)


@dataclass(frozen=True)
class Row:
    key: str | None
    label: str
    now: int
    this_week: int
    last_week: int


@dataclass(frozen=True)
class Stats:
    stages: list[Row]
    sentiments: list[Row]
    shelves: dict[str, int]
    total: int


def _weeks(column: Any, now: datetime) -> tuple[Any, Any]:
    this = func.sum(case((column >= now - WEEK, 1), else_=0))
    last = func.sum(case((and_(column >= now - 2 * WEEK, column < now - WEEK), 1), else_=0))
    return this, last


async def stats(session: AsyncSession, user: User, now: datetime) -> Stats:
    listed = (Contact.user_id == user.id, Contact.shelf.is_(None))
    entered = func.coalesce(Contact.stage_changed_at, Contact.created_at)
    this, last = _weeks(entered, now)
    by_stage = {stage: (int(n), int(t or 0), int(p or 0)) for stage, n, t, p in (await session.execute(
        select(Contact.stage, func.count(), this, last).where(*listed).group_by(Contact.stage))).all()}
    names = stage_names(user.stage_names)
    stages = [Row(key, name, *by_stage.get(key, (0, 0, 0))) for key, name in names.items()]  # the creator's order

    over = Contact.lead_score >= user.alert_threshold
    closed = Contact.stage.in_(CLOSED_STAGES)
    this, last = _weeks(Contact.last_message_at, now)
    counts: dict[str | None, list[int]] = {s: [0, 0, 0] for s in SENTIMENTS}
    rows = await session.execute(select(Contact.sentiment, over, closed, func.count(), this, last).where(*listed)
                                 .group_by(Contact.sentiment, over, closed))
    for sentiment, is_over, is_closed, n, t, p in rows.all():
        shown = shown_sentiment(sentiment, user.alert_threshold if is_over else None, user.alert_threshold,
                                "won" if is_closed else None, None)
        bucket = counts.setdefault(shown, [0, 0, 0])
        for i, value in enumerate((n, t, p)):
            bucket[i] += int(value or 0)
    sentiments = [Row(s, s or "not scored", *counts[s]) for s in counts]

    shelved = dict((await session.execute(select(Contact.shelf, func.count()).where(
        Contact.user_id == user.id, Contact.shelf.is_not(None)).group_by(Contact.shelf))).all())
    shelves = {shelf: int(shelved.get(shelf, 0)) for shelf in SHELVES}
    return Stats(stages, sentiments, shelves, sum(r.now for r in stages))
