"""🤖 Draft: a reply written from the conversation, the creator's niche and goal, the lead's tags and next move.
Shown as a draft only (core.services.reply sends nothing without the press on Send)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import jobs
from core.clients.drafter import Drafter, DraftInput, OfflineDrafter, check_draft
from core.clients.gemini import ScoreError
from core.clients.prompt import MAX_MESSAGES, Turn
from core.db import repo
from core.db.models import Contact, User
from core.ratelimit import RateLimiter, TooFarAhead
from core.services import reply as replies
from core.services import saved_replies
from core.timeutil import Clock, utcnow

log = logging.getLogger(__name__)
RATE_WAIT_S = 10.0


@dataclass(frozen=True)
class Drafted:
    reply_id: int
    fallback: bool  # Gemini failed or wrote nothing usable: the offline template was used instead


async def draft_reply(session: AsyncSession, user: User, contact: Contact, drafter: Drafter, *,
                      limiter: RateLimiter | None = None, clock: Clock = utcnow) -> Drafted | replies.Refused:
    newest = await repo.contact_messages(session, user.id, contact.id, MAX_MESSAGES)
    turns = [Turn(m.from_creator, m.text, m.created_at) for m in reversed(newest)]
    links = sorted(await saved_replies.allowed_links(session, user))
    data = DraftInput(niche=user.niche, goal=user.goal, first_name=saved_replies.first_name(contact),
                      tags=list(contact.tags or []), next_action=contact.next_action, turns=turns, links=links,
                      now=clock())
    fallback = False
    try:
        if limiter is not None:  # Gemini's pace is shared with the scoring workers
            await limiter.acquire(RATE_WAIT_S, priority=True)  # the creator is waiting
        text = check_draft((await drafter.draft(data)).text, set(links))
    except (ScoreError, TooFarAhead) as exc:
        log.info("AI draft fell back to the template: %s", exc)
        text, fallback = check_draft((await OfflineDrafter().draft(data)).text, set(links)), True
    made = await replies.create_draft(session, user, contact, text, source="ai")
    return made if isinstance(made, replies.Refused) else Drafted(made.id, fallback)


def gemini_limiter(redis: Any, rpm: int) -> RateLimiter:
    """The same Redis key the scoring workers pace Gemini with (core.jobs.gemini_limiter_key)."""
    return RateLimiter(redis, jobs.gemini_limiter_key(redis), rpm)
