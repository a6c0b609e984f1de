"""/settings: niche, goal, timezone, hot-lead alerts on/off, the hot threshold and the reply-window push.
Each change commits."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import User
from core.rules import HOT_THRESHOLDS, clean_goal, clean_niche, timezones, window_push_choice
from core.services import scoring


class SettingRefused(enum.Enum):
    EMPTY = "empty"  # nothing left once trimmed: the old value stays
    NOT_OFFERED = "not_offered"  # a threshold no button offers (callback data is user input)
    UNKNOWN_TIMEZONE = "unknown_timezone"


@dataclass(frozen=True)
class Saved:
    """The setting changed; `user` shows the new state."""

    user: User
    # Scores judge leads against the niche and goal: after a change, the scores made for the old one (to offer
    # rescoring everyone once) and how many contacts that rescoring would score. 0: nothing to offer.
    stale_scores: int = 0
    rescorable: int = 0


async def _saved_with_offer(session: AsyncSession, user: User, changed: bool) -> Saved:
    await session.commit()
    stale = await scoring.scored_count(session, user.id) if changed else 0
    return Saved(user, stale, await scoring.rescorable_count(session, user.id) if stale else 0)


async def set_niche(session: AsyncSession, user: User, text: str) -> Saved | SettingRefused:
    return await _set_text(session, user, "niche", clean_niche(text))


async def set_goal(session: AsyncSession, user: User, text: str) -> Saved | SettingRefused:
    return await _set_text(session, user, "goal", clean_goal(text))


async def _set_text(session: AsyncSession, user: User, field: str, cleaned: str) -> Saved | SettingRefused:
    """The niche or the goal, already cleaned by its rule; a change offers rescoring once."""
    if not cleaned:
        return SettingRefused.EMPTY
    changed = cleaned != getattr(user, field)
    setattr(user, field, cleaned)
    return await _saved_with_offer(session, user, changed)


async def set_timezone(session: AsyncSession, user: User, name: str) -> Saved | SettingRefused:
    name = (name or "").strip()
    if name not in timezones():
        return SettingRefused.UNKNOWN_TIMEZONE
    user.timezone = name
    await session.commit()
    return Saved(user)


async def toggle_alerts(session: AsyncSession, user: User) -> Saved:
    user.alerts_enabled = not user.alerts_enabled
    await session.commit()
    return Saved(user)


async def set_hot_threshold(session: AsyncSession, user: User, value: int) -> Saved | SettingRefused:
    """The hot threshold (rules.is_hot): the hot list changes at once; alerts follow the next score change."""
    if value not in HOT_THRESHOLDS:
        return SettingRefused.NOT_OFFERED
    user.alert_threshold = value
    await session.commit()
    return Saved(user)


async def set_window_push(session: AsyncSession, user: User, hours: int) -> Saved | SettingRefused:
    """How many hours before Instagram's reply window closes the creator is pushed (0 = off); the next scan
    uses it (core/services/reply_window.py)."""
    choice = window_push_choice(hours)
    if choice is None:
        return SettingRefused.NOT_OFFERED
    user.window_push_hours = choice
    await session.commit()
    return Saved(user)
