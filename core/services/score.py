"""🎯 The creator's own score for a lead: a preset button or a typed number. AI never overwrites it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import repo
from core.db.models import Contact, User
from core.rules import SCORE_PRESETS, parse_score


class ScoreRefused(enum.Enum):
    NOT_FOUND = "not_found"
    NOT_OFFERED = "not_offered"  # a preset no button offers (callback data is user input)
    NOT_A_SCORE = "not_a_score"  # typed text that is not a whole number 0..100


@dataclass(frozen=True)
class ScoreSet:
    contact: Contact
    score: int


async def choose_preset(session: AsyncSession, user: User, contact_id: int, value: int) -> ScoreSet | ScoreRefused:
    if value not in SCORE_PRESETS:
        return ScoreRefused.NOT_OFFERED
    return await _set(session, user, contact_id, value)


async def type_score(session: AsyncSession, user: User, contact_id: int, text: str) -> ScoreSet | ScoreRefused:
    value = parse_score(text)
    if value is None:
        return ScoreRefused.NOT_A_SCORE
    return await _set(session, user, contact_id, value)


async def _set(session: AsyncSession, user: User, contact_id: int, value: int) -> ScoreSet | ScoreRefused:
    if not await repo.set_manual_score(session, user.id, contact_id, value):
        return ScoreRefused.NOT_FOUND
    await session.commit()
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None:
        return ScoreRefused.NOT_FOUND
    await session.refresh(contact)  # the UPDATE bypassed the identity map
    return ScoreSet(contact, value)
