"""Scoring runs: start a run (one arq job per contact), score one contact (the job body), progress from the DB.

Idempotency lives in `scoring_items`: a job writes only if its item is still `pending` (conditional UPDATE in
the same transaction as the contact and the run counters), so a job that arq runs twice counts once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clients.gemini import MAX_MESSAGES, ScoreError, ScoreInput, Scorer, ScoreResult, Turn
from core.db import repo
from core.db.models import Contact, ScoringItem, ScoringRun
from core.ratelimit import RateLimiter, TooFarAhead
from core.rules import clip
from core.services.alerts import on_scored
from core.timeutil import Clock, utcnow

log = logging.getLogger(__name__)

SCOPES = ("unscored", "all", "ids")
JOB_NAME = "score_contact"
MAX_TRIES = 5  # failed model calls per contact; arq's own max_tries is far higher (see workers/jobs/scoring.py)
LIMITER_MAX_WAIT_S = 20.0


class RetryLater(Exception):
    """Ask the queue to run this job again in `defer_s` seconds (the arq job turns it into arq.Retry)."""

    def __init__(self, defer_s: float, reason: str) -> None:
        super().__init__(reason)
        self.defer_s = defer_s


@dataclass(frozen=True)
class Started:
    """`run, created = await start_run(...)`, or `.id` / `.run` directly."""

    run: ScoringRun
    created: bool

    @property
    def id(self) -> int:
        return self.run.id

    def __iter__(self) -> Iterator[Any]:
        return iter((self.run, self.created))


def score_job_id(queue: Any, run_id: int, contact_id: int) -> str:
    """Deterministic job id, namespaced by a non-default queue name (arq keys jobs by id only)."""
    from arq.constants import default_queue_name

    name = getattr(queue, "default_queue_name", default_queue_name)
    base = f"score:{run_id}:{contact_id}"
    return base if name == default_queue_name else f"{name}:{base}"


# ---------------------------------------------------------------- starting


async def start_run(
    sessions: async_sessionmaker[AsyncSession], queue: Any, user_id: int, scope: str = "unscored",
    contact_ids: Sequence[int] | None = None, progress_chat_id: int | None = None,
) -> Started:
    """Start a run (or return the one already running for this creator) and enqueue one job per contact."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    async with _start_lock(queue, user_id):
        async with sessions() as session, session.begin():
            running = await _running_run(session, user_id)
            if running is None:
                run = await _create_run(session, user_id, scope, contact_ids, progress_chat_id)
        if running is not None:
            await enqueue_pending(sessions, queue, running.id)  # idempotent: same job ids
            return Started(running, False)
    await enqueue_pending(sessions, queue, run.id)
    return Started(run, True)


class _start_lock:
    """Serialises start_run per creator across processes (Redis SET NX), so two taps make one run."""

    def __init__(self, queue: Any, user_id: int) -> None:
        self.redis = queue
        self.key = f"{getattr(queue, 'default_queue_name', 'arq:queue')}:scoring-start:{user_id}"
        self.token = str(random.random())

    async def __aenter__(self) -> None:
        for _ in range(400):
            if await self.redis.set(self.key, self.token, nx=True, px=15000):
                return
            await asyncio.sleep(0.025)
        raise TimeoutError("another scoring run is being started")

    async def __aexit__(self, *exc: object) -> None:
        current = await self.redis.get(self.key)
        if current is not None and (current.decode() if isinstance(current, bytes) else current) == self.token:
            await self.redis.delete(self.key)


async def has_running_run(sessions: async_sessionmaker[AsyncSession], user_id: int) -> bool:
    async with sessions() as session:
        return await _running_run(session, user_id) is not None


async def _running_run(session: AsyncSession, user_id: int) -> ScoringRun | None:
    stmt = select(ScoringRun).where(ScoringRun.user_id == user_id, ScoringRun.status == "running")
    return (await session.execute(stmt.order_by(ScoringRun.id.desc()).limit(1))).scalar_one_or_none()


async def _create_run(session: AsyncSession, user_id: int, scope: str, contact_ids: Sequence[int] | None,
                      progress_chat_id: int | None) -> ScoringRun:
    ids = await _select_contacts(session, user_id, scope, contact_ids)
    now = utcnow()
    run = ScoringRun(user_id=user_id, scope=scope, status="running" if ids else "done", total=len(ids),
                     done=0, failed=0, skipped=0, tokens_in=0, tokens_out=0, hot_found=0, started_at=now,
                     finished_at=None if ids else now, progress_chat_id=progress_chat_id)
    session.add(run)
    await session.flush()
    session.add_all([ScoringItem(run_id=run.id, contact_id=cid, status="pending", attempts=0, became_hot=False)
                     for cid in ids])
    return run


async def _select_contacts(session: AsyncSession, user_id: int, scope: str,
                           contact_ids: Sequence[int] | None) -> list[int]:
    stmt = select(Contact.id).where(Contact.user_id == user_id)
    if scope == "unscored":
        stmt = stmt.where(repo.needs_scoring())
    elif scope == "ids":
        stmt = stmt.where(Contact.id.in_(list(contact_ids or [])))
    return list((await session.execute(stmt.order_by(Contact.id))).scalars())


async def enqueue_pending(sessions: async_sessionmaker[AsyncSession], queue: Any, run_id: int) -> int:
    """(Re-)enqueue every pending item of a run; job ids are deterministic, so duplicates are no-ops."""
    async with sessions() as session:
        stmt = select(ScoringItem.contact_id).where(ScoringItem.run_id == run_id, ScoringItem.status == "pending")
        pending = list((await session.execute(stmt)).scalars())
    for contact_id in pending:
        await queue.enqueue_job(JOB_NAME, run_id, contact_id, _job_id=score_job_id(queue, run_id, contact_id))
    return len(pending)


async def resume_runs(sessions: async_sessionmaker[AsyncSession], queue: Any) -> int:
    """Worker startup: re-enqueue pending items of running runs (a crash between commit and enqueue)."""
    async with sessions() as session:
        ids = list((await session.execute(select(ScoringRun.id).where(ScoringRun.status == "running"))).scalars())
    return sum([await enqueue_pending(sessions, queue, run_id) for run_id in ids])


# ---------------------------------------------------------------- the job body


@dataclass(frozen=True)
class Outcome:
    status: str  # done | failed | skipped | duplicate
    user_id: int | None = None
    became_hot: bool = False
    model_called: bool = False


async def score_one(
    sessions: async_sessionmaker[AsyncSession], scorer: Scorer, limiter: RateLimiter | None, run_id: int,
    contact_id: int, job_try: int = 1, max_tries: int = MAX_TRIES, clock: Clock = utcnow,
) -> Outcome:
    """Score one contact of a run. Raises RetryLater for transient faults until the last try.

    `job_try` is accepted for callers' convenience but the bound is the item's failed-call count in the DB."""
    async with sessions() as session:
        loaded = await _load(session, run_id, contact_id, clock)
    if isinstance(loaded, Outcome):
        return loaded
    user_id, data, scope, fresh = loaded
    if fresh and scope != "all":
        return await _finish(sessions, run_id, contact_id, "skipped", None, clock)
    try:
        if limiter is not None:
            await limiter.acquire(LIMITER_MAX_WAIT_S)
        result = await scorer.score(data)
    except TooFarAhead as exc:
        raise RetryLater(exc.wait_s + random.uniform(0, 1), "rate limiter busy") from None
    except ScoreError as exc:
        # Tries are counted in the DB (not arq's job_try): limiter bounces and worker crashes do not use them up.
        tries = await _count_try(sessions, run_id, contact_id)
        if exc.retryable and tries < max_tries:
            raise RetryLater(backoff(tries), str(exc)) from None
        return await _finish(sessions, run_id, contact_id, "failed", str(exc), clock, model_called=True)
    return await _finish(sessions, run_id, contact_id, "done", result, clock, model_called=True)


def backoff(tries: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with jitter (tries spread out instead of stampeding together)."""
    return random.uniform(base / 2, min(cap, base * 2 ** (tries - 1)))


async def _count_try(sessions: async_sessionmaker[AsyncSession], run_id: int, contact_id: int) -> int:
    """Record one failed model call on the item; return how many it has had."""
    async with sessions() as session, session.begin():
        key = (ScoringItem.run_id == run_id, ScoringItem.contact_id == contact_id)
        await session.execute(update(ScoringItem).where(*key, ScoringItem.status == "pending")
                              .values(attempts=ScoringItem.attempts + 1))
        return int((await session.execute(select(ScoringItem.attempts).where(*key))).scalar_one())


async def _load(session: AsyncSession, run_id: int, contact_id: int,
                clock: Clock) -> Outcome | tuple[int, ScoreInput, str, bool]:
    item = await session.get(ScoringItem, (run_id, contact_id))
    run = await session.get(ScoringRun, run_id)
    if item is None or run is None or item.status != "pending":
        return Outcome("duplicate")
    user = await repo.get_user_by_id(session, run.user_id)
    contact = await repo.get_contact(session, run.user_id, contact_id)
    if user is None or contact is None:
        return Outcome("duplicate")
    messages = await repo.contact_messages(session, run.user_id, contact_id, MAX_MESSAGES)
    turns = [Turn(m.from_creator, m.text or "", m.created_at) for m in reversed(messages)]
    fresh = (contact.scored_at is not None and contact.scored_through is not None
             and contact.last_message_at is not None and contact.last_message_at <= contact.scored_through)
    return run.user_id, ScoreInput(user.niche, user.goal, turns, clock()), run.scope, fresh


async def _finish(sessions: async_sessionmaker[AsyncSession], run_id: int, contact_id: int, status: str,
                  result: ScoreResult | str | None, clock: Clock, model_called: bool = False) -> Outcome:
    """One transaction: claim the item from pending, write the contact, bump counters, maybe finish."""
    now = clock()
    async with sessions() as session, session.begin():
        error = clip(result, 500) if isinstance(result, str) else None
        claim = (update(ScoringItem)
                 .where(ScoringItem.run_id == run_id, ScoringItem.contact_id == contact_id,
                        ScoringItem.status == "pending")
                 .values(status=status, error=error, finished_at=now))
        if not (await session.execute(claim)).rowcount:  # type: ignore[attr-defined]
            return Outcome("duplicate", model_called=model_called)
        run = await session.get(ScoringRun, run_id)
        assert run is not None
        hot = False
        if isinstance(result, ScoreResult):
            hot = await _write_contact(session, run, contact_id, result, now)
        await _bump(session, run_id, status, result, hot, now)
        return Outcome(status, run.user_id, hot, model_called)


async def _write_contact(session: AsyncSession, run: ScoringRun, contact_id: int, result: ScoreResult,
                         now: datetime) -> bool:
    user_id = run.user_id
    scoped = (Contact.id == contact_id, Contact.user_id == user_id)
    not_manual_tags = or_(Contact.tags_source.is_(None), Contact.tags_source != "manual")
    not_manual_score = or_(Contact.score_source.is_(None), Contact.score_source != "manual")
    await session.execute(update(Contact).where(*scoped, not_manual_tags)
                          .values(tags=result.tags, tags_source="ai"))
    await session.execute(update(Contact).where(*scoped, not_manual_score)
                          .values(lead_score=result.score, score_source="ai"))
    await session.execute(update(Contact).where(*scoped).values(
        sentiment=result.sentiment, next_action=result.next_action, score_reason=result.reason,
        scored_at=now, scored_by=result.scored_by, scored_through=Contact.last_message_at, updated_at=now))
    contact = (await session.execute(
        select(Contact).where(*scoped).execution_options(populate_existing=True))).scalar_one()
    user = await repo.get_user_by_id(session, user_id)
    assert user is not None
    became_hot = await on_scored(session, user, contact)
    if became_hot:
        await session.execute(update(ScoringItem).where(
            ScoringItem.run_id == run.id, ScoringItem.contact_id == contact_id).values(became_hot=True))
    return became_hot


async def _bump(session: AsyncSession, run_id: int, status: str, result: ScoreResult | str | None, hot: bool,
                now: datetime) -> None:
    values: dict[str, Any] = {status: getattr(ScoringRun, status) + 1}
    if isinstance(result, ScoreResult):
        values["tokens_in"] = ScoringRun.tokens_in + result.tokens_in
        values["tokens_out"] = ScoringRun.tokens_out + result.tokens_out
    if hot:
        values["hot_found"] = ScoringRun.hot_found + 1
    if isinstance(result, str):
        values["last_error"] = clip(result, 500)
    # The UPDATE locks the run row, so the pending count below sees every other item's committed state.
    await session.execute(update(ScoringRun).where(ScoringRun.id == run_id).values(**values))
    pending = (await session.execute(select(func.count()).where(
        ScoringItem.run_id == run_id, ScoringItem.status == "pending"))).scalar_one()
    if not pending:
        await session.execute(update(ScoringRun).where(ScoringRun.id == run_id, ScoringRun.status == "running")
                              .values(status="done", finished_at=now))


# ---------------------------------------------------------------- progress (read by the bot and the CLI)


async def get_run(session: AsyncSession, user_id: int, run_id: int) -> ScoringRun | None:
    if not 0 < run_id <= repo.MAX_ID:  # run ids come from callback data too
        return None
    stmt = select(ScoringRun).where(ScoringRun.id == run_id, ScoringRun.user_id == user_id)
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def latest_run(session: AsyncSession, user_id: int) -> ScoringRun | None:
    stmt = select(ScoringRun).where(ScoringRun.user_id == user_id).order_by(ScoringRun.id.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def run_hot_leads(session: AsyncSession, user_id: int, run_id: int, limit: int = 10) -> list[Contact]:
    """Contacts that became hot in this run, best score first."""
    stmt = (select(Contact).join(ScoringItem, ScoringItem.contact_id == Contact.id)
            .join(ScoringRun, ScoringRun.id == ScoringItem.run_id)
            .where(ScoringItem.run_id == run_id, ScoringRun.user_id == user_id, Contact.user_id == user_id,
                   ScoringItem.became_hot.is_(True))
            .order_by(Contact.lead_score.desc().nulls_last(), Contact.id).limit(limit))
    return list((await session.execute(stmt)).scalars())


async def retry_failed(sessions: async_sessionmaker[AsyncSession], queue: Any, user_id: int,
                       run_id: int) -> Started | None:
    """Start an `ids` run of this run's failed contacts (None when nothing failed)."""
    async with sessions() as session:
        run = await get_run(session, user_id, run_id)
        if run is None:
            return None
        stmt = select(ScoringItem.contact_id).where(ScoringItem.run_id == run_id, ScoringItem.status == "failed")
        ids = list((await session.execute(stmt)).scalars())
    if not ids:
        return None
    return await start_run(sessions, queue, user_id, scope="ids", contact_ids=ids)
