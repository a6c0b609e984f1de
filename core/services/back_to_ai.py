"""↩️ Back to AI: the creator drops a manual score or manual tags; the AI's value returns.

The AI's latest values are kept beside the creator's (contacts.ai_score / ai_tags, written by every scoring), so
the usual case needs no model call. A lead the AI never scored (or scored before those were kept) gets a rescore:
the manual mark is dropped now and the scorer fills the value in. (The stage has its own: stages.stage_back_to_ai.)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import repo
from core.db.models import Contact, User
from core.db.search import refresh_search
from core.services import scoring
from core.timeutil import utcnow


class BackRefused(enum.Enum):
    NOT_FOUND = "not_found"
    NOT_MANUAL = "not_manual"  # nothing of the creator's to drop


@dataclass(frozen=True)
class BackToAi:
    contact: Contact
    rescore: bool  # no AI value was kept: a rescore was started for this lead


async def score_back_to_ai(session: AsyncSession, sessions: async_sessionmaker[AsyncSession], queue: Any,
                           user: User, contact_id: int) -> BackToAi | BackRefused:
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None:
        return BackRefused.NOT_FOUND
    if contact.score_source != "manual":
        return BackRefused.NOT_MANUAL
    contact.lead_score = contact.ai_score
    contact.score_source = "ai" if contact.ai_score is not None else None
    return await _finish(session, sessions, queue, user, contact, contact.ai_score is None)


async def tags_back_to_ai(session: AsyncSession, sessions: async_sessionmaker[AsyncSession], queue: Any,
                          user: User, contact_id: int) -> BackToAi | BackRefused:
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None:
        return BackRefused.NOT_FOUND
    if contact.tags_source != "manual":
        return BackRefused.NOT_MANUAL
    contact.tags = list(contact.ai_tags or [])
    contact.tags_source = "ai" if contact.ai_tags is not None else None
    await refresh_search(session, user.id, [contact.id])  # tags are searchable
    return await _finish(session, sessions, queue, user, contact, contact.ai_tags is None)


async def _finish(session: AsyncSession, sessions: async_sessionmaker[AsyncSession], queue: Any, user: User,
                  contact: Contact, rescore: bool) -> BackToAi:
    contact.updated_at = utcnow()
    await session.commit()
    if rescore and contact.shelf is None:
        await scoring.start_run(sessions, queue, user.id, scope="rescore", contact_ids=[contact.id])
    return BackToAi(contact, rescore and contact.shelf is None)
