"""Lead profiles (Instagram User Profile API): name and picture for each lead, refreshed now and then.

Conversation participants carry only `id` and `username` on Instagram; `name` and `profile_pic` come from
`GET /{IGSID}`, one call per lead. So every sync fetches the profiles of leads never looked up, then refreshes
the oldest ones of recently active leads (profile_pic URLs expire after a few days), within a per-sync budget:
a first sync of a big inbox spreads its profile calls over the next syncs instead of bursting into the
account's rate limit. A lead who never messaged (no consent) or who blocked the account has no profile to give:
that answer is remembered like a fetch, so it is asked again only at the next refresh.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clients.instagram import BadRequest, GraphError, IgProfile, PermissionDenied, RateLimited, TokenInvalid
from core.db.engine import transaction
from core.db.models import Contact
from core.db.search import refresh_search

log = logging.getLogger(__name__)

CALLS_PER_SYNC = 150  # profile calls one sync may spend (a sync runs every few minutes)
CONCURRENCY = 4  # profile calls in flight at once (the client also slows down on Graph's usage headers)
REFRESH_AFTER = timedelta(days=2)  # profile_pic URLs expire "after a few days"
ACTIVE_WITHIN = timedelta(days=30)  # only leads active lately get their picture refreshed
CONSENT_CODE = 230  # "User consent is required to access user profile"


class ProfileSource(Protocol):
    calls: int

    async def profile(self, igsid: str) -> IgProfile: ...


@dataclass
class ProfileResult:
    fetched: int = 0
    unavailable: int = 0  # no consent, blocked or gone: nothing to show


def is_unavailable(exc: GraphError) -> bool:
    """A refusal about this one lead (no consent, blocked, deleted), not about the account or the app."""
    if isinstance(exc, PermissionDenied):
        return exc.code == CONSENT_CODE
    return isinstance(exc, BadRequest)


async def refresh_profiles(
    sessions: async_sessionmaker[AsyncSession], user_id: int, client: ProfileSource, now: datetime, *,
    budget: int = CALLS_PER_SYNC,
) -> ProfileResult:
    """Fetch due profiles. Token and rate-limit errors are raised (the sync records them); other Graph
    failures end this round quietly (the leads stay due)."""
    due = await _due(sessions, user_id, now, budget)
    result = ProfileResult()
    rows: list[dict[str, object]] = []
    stop: GraphError | None = None
    for start in range(0, len(due), CONCURRENCY):
        chunk = due[start:start + CONCURRENCY]
        answers = await asyncio.gather(*(client.profile(igsid) for _, igsid in chunk), return_exceptions=True)
        got, stop = _rows(chunk, answers, result)
        rows += got
        if stop is not None:
            break
    await _store(sessions, user_id, rows, now)  # one transaction for the round: what was fetched is kept
    if isinstance(stop, (TokenInvalid, RateLimited)):
        raise stop
    if stop is not None:
        log.warning("profile lookups paused until the next sync: %s", stop.message)
    return result


async def _due(sessions: async_sessionmaker[AsyncSession], user_id: int, now: datetime,
               budget: int) -> list[tuple[int, str]]:
    never = Contact.profile_checked_at.is_(None)
    stale = (Contact.profile_checked_at < now - REFRESH_AFTER) & (Contact.last_message_at >= now - ACTIVE_WITHIN)
    stmt = (select(Contact.id, Contact.instagram_id).where(Contact.user_id == user_id, or_(never, stale))
            .order_by(Contact.profile_checked_at.is_not(None), Contact.last_message_at.desc(), Contact.id)
            .limit(budget))
    async with sessions() as session:
        return [(cid, igsid) for cid, igsid in (await session.execute(stmt)).all()]


def _rows(chunk: list[tuple[int, str]], answers: list[IgProfile | BaseException],
          result: ProfileResult) -> tuple[list[dict[str, object]], GraphError | None]:
    rows: list[dict[str, object]] = []
    stop: GraphError | None = None
    for (cid, _), answer in zip(chunk, answers, strict=True):
        if isinstance(answer, IgProfile):
            result.fetched += 1
            rows.append({"cid": cid, "known": True, "p_name": answer.name, "p_username": answer.username,
                         "p_avatar": answer.profile_pic})
        elif isinstance(answer, GraphError) and is_unavailable(answer):
            result.unavailable += 1
            rows.append({"cid": cid, "known": False})
        elif isinstance(answer, GraphError):
            stop = stop or answer
        else:
            raise answer
    return rows, stop


async def _store(sessions: async_sessionmaker[AsyncSession], user_id: int, rows: list[dict[str, object]],
                 now: datetime) -> None:
    known = [r for r in rows if r["known"]]
    refused = [r["cid"] for r in rows if not r["known"]]
    if not rows:
        return
    async with transaction(sessions) as session:
        if known:
            # A profile answer is the truth now: a removed name or picture is removed here too (an old picture
            # URL has expired anyway). Graph may omit username: keep the one the conversation gave us.
            stmt = (update(Contact).where(Contact.user_id == user_id, Contact.id == bindparam("cid"))
                    .values(name=bindparam("p_name"), avatar_url=bindparam("p_avatar"),
                            username=func.coalesce(bindparam("p_username"), Contact.__table__.c.username),
                            profile_checked_at=now))
            conn = await session.connection()
            await conn.execute(stmt, [{k: v for k, v in r.items() if k != "known"} for r in known])
            await refresh_search(session, user_id, [int(str(r["cid"])) for r in known])  # name/username: /find
        if refused:
            await session.execute(update(Contact).where(Contact.user_id == user_id, Contact.id.in_(refused))
                                  .values(profile_checked_at=now))

