"""/autoscore and ♻️ on a card: start scoring runs for the creator, and remember where their progress shows.

The runs themselves (one job per contact, progress in the DB) are core/services/scoring.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.engine import transaction
from core.db.models import ScoringRun, User
from core.services import scoring
from core.services.scoring import Started


class RescoreRefused(enum.Enum):
    RUN_IN_PROGRESS = "run_in_progress"  # one run per creator: this contact waits for it to finish


# Each function first ends the caller's transaction (`session`): a run is written in sessions of its own, and
# SQLite has one writer.


async def score_new(session: AsyncSession, sessions: async_sessionmaker[AsyncSession], queue: Any, user: User,
                    chat_id: int | None = None) -> Started:
    """Score every contact not scored yet (or changed since); a running run is returned, not duplicated."""
    await session.commit()
    return await scoring.start_run(sessions, queue, user.id, progress_chat_id=chat_id)


async def rescore_all(session: AsyncSession, sessions: async_sessionmaker[AsyncSession], queue: Any, user: User,
                      chat_id: int | None = None) -> Started:
    """♻️ Rescore everyone (after the creator confirmed): a running run is returned, not duplicated."""
    await session.commit()
    return await scoring.start_run(sessions, queue, user.id, scope="all", progress_chat_id=chat_id)


async def rescorable_count(sessions: async_sessionmaker[AsyncSession], user: User) -> int:
    """How many contacts "rescore everyone" would score (the number the confirmation shows)."""
    async with sessions() as session:
        return await scoring.rescorable_count(session, user.id)


async def retry_failed(session: AsyncSession, sessions: async_sessionmaker[AsyncSession], queue: Any, user: User,
                       run_id: int) -> Started | None:
    """Score again the contacts that failed in run `run_id` (None: that run had no failures, or is not theirs)."""
    await session.commit()
    return await scoring.retry_failed(sessions, queue, user.id, run_id)


async def run_in_progress(session: AsyncSession, sessions: async_sessionmaker[AsyncSession], user: User) -> bool:
    await session.commit()
    return await scoring.has_running_run(sessions, user.id)


async def rescore(session: AsyncSession, sessions: async_sessionmaker[AsyncSession], queue: Any, user: User,
                  contact_id: int) -> Started | RescoreRefused:
    """♻️: score this contact again now, even if nothing changed."""
    await session.commit()
    if await scoring.has_running_run(sessions, user.id):
        return RescoreRefused.RUN_IN_PROGRESS
    return await scoring.start_run(sessions, queue, user.id, scope="rescore", contact_ids=[contact_id])


@dataclass(frozen=True)
class ProgressMoved:
    previous: tuple[int, int] | None  # (chat id, message id) of the run's older progress message, to remove


async def show_progress_at(sessions: async_sessionmaker[AsyncSession], run_id: int, chat_id: int,
                           message_id: int) -> ProgressMoved:
    """One progress message per run: record the new one (any replica can keep editing it)."""
    async with transaction(sessions) as session:
        run = await session.get(ScoringRun, run_id)
        if run is None:
            return ProgressMoved(None)
        old = (run.progress_chat_id, run.progress_message_id)
        run.progress_chat_id, run.progress_message_id = chat_id, message_id
    if old[0] is None or old[1] is None or old == (chat_id, message_id):
        return ProgressMoved(None)
    return ProgressMoved((old[0], old[1]))

