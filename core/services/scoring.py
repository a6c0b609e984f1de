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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import jobs
from core.clients.gemini import MAX_MESSAGES, RateLimited, ScoreError, ScoreInput, Scorer, ScoreResult, Turn
from core.config import LIMITER_MAX_WAIT_S, SCORE_JOB_TIMEOUT_S
from core.db import repo
from core.db.models import Alert, Contact, ScoringItem, ScoringRun
from core.db.search import refresh_search
from core.ratelimit import RateLimiter, TooFarAhead
from core.rules import clip
from core.services.alerts import on_scored
from core.services.notes import for_scorer
from core.timeutil import Clock, as_utc, utcnow

log = logging.getLogger(__name__)

# ids: contacts that changed (sync), skipped if scored meanwhile; rescore: the creator asked for these (card ♻️,
# ↩️ Back to AI), so they are scored even when unchanged.
SCOPES = ("unscored", "all", "ids", "rescore", "retry")
IN_SUMMARY = "in_summary"  # alerts.status: named by a watched run's summary instead of a push
MAX_TRIES = 5  # failed model calls per contact; arq's own max_tries is far higher (see workers/jobs/scoring.py)
# The alert path: runs a sync starts for leads that wrote (ids) and the creator's own ♻️ (rescore) go ahead of
# bulk runs (/autoscore, retries): their jobs are queued first, and bulk items only reserve a model-call slot when
# it is at most BULK_MAX_WAIT_S away (otherwise they step back and come again), so a new alert-path item finds the
# shared GEMINI_RPM pace at most that far booked instead of LIMITER_MAX_WAIT_S.
# An alert-path call takes the limiter's priority lane: it does not wait behind the slots bulk items booked.
PRIORITY_SCOPES = ("ids", "rescore")
# ...when small: a first sync of thousands of conversations (an `ids` run) shares the pace like any bulk run, and
# so does a retry of a run's failures (`retry`), whatever its size.
PRIORITY_MAX_ITEMS = 50
BULK_MAX_WAIT_S = 0.5
BULK_SPREAD_CAP_S = 300.0
# Fair share between creators: a bulk run does not put all its items in the queue (arq takes jobs in time order,
# so a creator's 5,000 queued items would run before a second creator's run began). Only the first `window`
# pending items of each bulk run are queued, and each settled item tops its run's window up again: the creators
# with a bulk run each hold an equal number of jobs, BULK_QUEUED in all (at least BULK_MIN_WINDOW each), so they
# compete for the shared pace on equal terms, whoever started first and however large their run.
BULK_QUEUED = 40
BULK_MIN_WINDOW = 2
# The item's own deadline, inside the arq job timeout: a slow item is a failed try we record, not a job arq
# cancels (which would leave the item pending and the run open).
ITEM_TIMEOUT_S = SCORE_JOB_TIMEOUT_S - 10


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
            if scope in PRIORITY_SCOPES and contact_ids and not is_priority(running):
                await _expedite(sessions, queue, running, contact_ids)
            return Started(running, False)
    await enqueue_pending(sessions, queue, run.id)
    return Started(run, True)


async def _expedite(sessions: async_sessionmaker[AsyncSession], queue: Any, run: ScoringRun,
                    contact_ids: Sequence[int]) -> None:
    """Leads who just wrote, while their creator's own bulk run goes on: they join that run (one run per
    creator) and their jobs go to the head of the queue, so the creator's own new hot lead is not held back for
    the hours a bulk run may take. A lead the run already settled is looked at again after it (the sync's
    rescore job)."""
    async with sessions() as session, session.begin():
        # The run's row first, as _bump locks it: a run that finished meanwhile is left alone, not joined (the
        # sync's rescore job starts a run of its own for these leads then).
        alive = await session.execute(update(ScoringRun).where(ScoringRun.id == run.id, ScoringRun.status == "running")
                                      .values(total=ScoringRun.total))
        if not alive.rowcount:  # type: ignore[attr-defined]
            return
        wanted = await _select_contacts(session, run.user_id, "ids", contact_ids)
        held = set((await session.execute(select(ScoringItem.contact_id).where(
            ScoringItem.run_id == run.id, ScoringItem.contact_id.in_(wanted)))).scalars())
        new = [cid for cid in wanted if cid not in held]
        session.add_all([ScoringItem(run_id=run.id, contact_id=cid, status="pending", attempts=0, became_hot=False)
                         for cid in new])
        if new:
            await session.execute(update(ScoringRun).where(ScoringRun.id == run.id)
                                  .values(total=ScoringRun.total + len(new)))
        pending = list((await session.execute(select(ScoringItem.contact_id).where(
            ScoringItem.run_id == run.id, ScoringItem.contact_id.in_(wanted),
            ScoringItem.status == "pending"))).scalars())
    await jobs.enqueue_scores(queue, run.id, pending, priority=True)


class _start_lock:
    """Serialises start_run per creator across processes (Redis SET NX), so two taps make one run."""

    def __init__(self, queue: Any, user_id: int) -> None:
        self.redis = queue
        self.key = jobs.scoring_start_lock_key(queue, user_id)
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
    # Spam and archived leads are out of bulk scoring: no model call is spent on them.
    stmt = select(Contact.id).where(Contact.user_id == user_id, Contact.shelf.is_(None))
    if scope == "unscored":
        stmt = stmt.where(repo.needs_scoring())
    elif scope in ("ids", "rescore", "retry"):
        stmt = stmt.where(Contact.id.in_(list(contact_ids or [])))
    return list((await session.execute(stmt.order_by(Contact.id))).scalars())


async def rescorable_count(session: AsyncSession, user_id: int) -> int:
    """How many contacts "rescore everyone" would send to the model (the `all` scope: spam/archived are out)."""
    stmt = select(func.count()).select_from(Contact).where(Contact.user_id == user_id, Contact.shelf.is_(None))
    return int((await session.execute(stmt)).scalar_one())


async def scored_count(session: AsyncSession, user_id: int) -> int:
    """Contacts with a score already (the ones a niche or goal change makes stale)."""
    stmt = select(func.count()).select_from(Contact).where(Contact.user_id == user_id, Contact.scored_at.is_not(None))
    return int((await session.execute(stmt)).scalar_one())


def is_priority(run: ScoringRun) -> bool:
    """The alert path (see PRIORITY_SCOPES): queued whole, ahead of bulk runs, in the limiter's priority lane."""
    return run.scope in PRIORITY_SCOPES and run.total <= PRIORITY_MAX_ITEMS


def wrote_during(run: ScoringRun, contact: Contact) -> bool:
    """The lead wrote after the run started (a sync joined them to it, see _expedite): alert-path work."""
    wrote = contact.last_lead_message_at
    return wrote is not None and as_utc(wrote) > as_utc(run.started_at)


def _priority_clause() -> ColumnElement[bool]:
    return and_(ScoringRun.scope.in_(PRIORITY_SCOPES), ScoringRun.total <= PRIORITY_MAX_ITEMS)


async def enqueue_pending(sessions: async_sessionmaker[AsyncSession], queue: Any, run_id: int) -> int:
    """(Re-)enqueue the pending items of a run: all of an alert-path run, a bulk run's window (see BULK_QUEUED).
    Job ids are deterministic, so items already queued or running are left as they are. Returns how many
    items the run has queued (at most)."""
    async with sessions() as session:
        run = await session.get(ScoringRun, run_id)
        if run is None:
            return 0
        priority = is_priority(run)
        stmt = (select(ScoringItem.contact_id).where(ScoringItem.run_id == run_id, ScoringItem.status == "pending")
                .order_by(ScoringItem.contact_id))
        if not priority:
            stmt = stmt.limit(bulk_window(await _bulk_runs(session)))
        pending = list((await session.execute(stmt)).scalars())
    await jobs.enqueue_scores(queue, run_id, pending, priority)
    return len(pending)


async def feed(sessions: async_sessionmaker[AsyncSession], queue: Any, run_id: int) -> None:
    """After an item of a bulk run settled: top the run's window up (the next pending items)."""
    async with sessions() as session:
        run = await session.get(ScoringRun, run_id)
        bulk = run is not None and run.status == "running" and not is_priority(run)
    if bulk:
        await enqueue_pending(sessions, queue, run_id)


def bulk_window(bulk_runs: int) -> int:
    """How many jobs each of `bulk_runs` running bulk runs keeps queued."""
    return max(BULK_MIN_WINDOW, BULK_QUEUED // max(1, bulk_runs))


async def _bulk_runs(session: AsyncSession) -> int:
    stmt = select(func.count()).select_from(ScoringRun).where(
        ScoringRun.status == "running", not_(_priority_clause()))
    return int((await session.execute(stmt)).scalar_one())


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
    timeout_s: float = ITEM_TIMEOUT_S,
) -> Outcome:
    """Score one contact of a run. Raises RetryLater for transient faults until the last try.

    ANY exception (a model fault, an unreadable answer, a database error, the item taking longer than
    `timeout_s`) is a failed try recorded on the item: after `max_tries` the item is `failed` with its reason and
    the run can complete; nothing escapes to strand it. Tries are counted in the DB, not by arq's `job_try`
    (rate-limiter bounces and worker crashes do not use them up); `job_try` only paces retries when the
    database itself cannot record a try."""
    try:
        async with asyncio.timeout(timeout_s):
            return await _score(sessions, scorer, limiter, run_id, contact_id, clock)
    except RetryLater:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a recorded try, never a stranded item
        reason, retryable = failure_reason(exc, timeout_s)
        if not isinstance(exc, ScoreError):
            log.exception("score %s:%s failed: %s", run_id, contact_id, reason)
        try:
            return await _failed_try(sessions, run_id, contact_id, exc, reason, retryable, max_tries, clock)
        except RetryLater:
            raise
        except Exception:  # noqa: BLE001 - the database cannot record it either: ask again later
            log.exception("score %s:%s: could not record the failed try", run_id, contact_id)
            raise RetryLater(backoff(job_try, cap=60.0), reason) from None


async def _score(sessions: async_sessionmaker[AsyncSession], scorer: Scorer, limiter: RateLimiter | None,
                 run_id: int, contact_id: int, clock: Clock) -> Outcome:
    async with sessions() as session:
        loaded = await _load(session, run_id, contact_id, clock)
    if isinstance(loaded, Outcome):
        return loaded
    user_id, data, skip, priority = loaded
    if skip:
        return await _finish(sessions, run_id, contact_id, "skipped", None, clock)
    budget = DailyBudget.of(scorer, limiter, user_id)
    if budget is not None and await budget.spent() >= budget.limit:
        return await _finish(sessions, run_id, contact_id, "failed", budget.reason(), clock)
    try:
        if limiter is not None:
            await limiter.acquire(LIMITER_MAX_WAIT_S if priority else BULK_MAX_WAIT_S, priority=priority)
        result = await scorer.score(data)
        if budget is not None:
            await budget.add(result.tokens_in + result.tokens_out)
    except TooFarAhead as exc:
        spread = 1.0 if priority else await _bulk_spread(sessions, limiter)
        raise RetryLater(exc.wait_s + random.uniform(0, spread), "rate limiter busy") from None
    except RateLimited as exc:
        if limiter is not None and exc.retry_after_s:
            await limiter.hold(exc.retry_after_s)  # the quota is the project's: every worker waits it out
        raise
    return await _finish(sessions, run_id, contact_id, "done", result, clock, model_called=True)


@dataclass(frozen=True)
class DailyBudget:
    """GEMINI_DAILY_TOKENS_PER_CREATOR: tokens (in + out) one creator's scoring may spend per UTC day, counted in
    Redis across workers. Once spent, the creator's leads fail with a reason that says so (shown in the run's
    summary) until the next UTC day; 0 = unlimited."""

    redis: Any
    key: str
    limit: int

    @classmethod
    def of(cls, scorer: Scorer, limiter: RateLimiter | None, user_id: int) -> DailyBudget | None:
        limit = int(getattr(getattr(scorer, "settings", None), "gemini_daily_tokens_per_creator", 0) or 0)
        if not limit or limiter is None:
            return None
        day = datetime.now(UTC).strftime("%Y%m%d")
        return cls(limiter.redis, f"{limiter.key}:tokens:{user_id}:{day}", limit)

    async def spent(self) -> int:
        return int(await self.redis.get(self.key) or 0)

    async def add(self, tokens: int) -> None:
        if tokens:
            await self.redis.incrby(self.key, tokens)
            await self.redis.expire(self.key, 2 * 86400)

    def reason(self) -> str:
        return (f"daily Gemini budget reached ({self.limit:,} tokens, GEMINI_DAILY_TOKENS_PER_CREATOR): "
                "scoring resumes tomorrow (UTC)")


async def _bulk_spread(sessions: async_sessionmaker[AsyncSession], limiter: RateLimiter | None) -> float:
    """How far to scatter a bulk item that found the pace booked: over the time the queued bulk jobs (every
    creator's window) need at the pace (capped), so they come back a few times each instead of spinning."""
    async with sessions() as session:
        runs = await _bulk_runs(session)
    queued = max(1, runs) * bulk_window(runs)
    interval = limiter.interval if limiter is not None else 1.0
    return max(1.0, min(BULK_SPREAD_CAP_S, queued * interval / 2))


def failure_reason(exc: BaseException, timeout_s: float) -> tuple[str, bool]:
    """The item's reason in words (never a class name or a traceback) and whether another try may help."""
    if isinstance(exc, ScoreError):
        return str(exc), exc.retryable
    if isinstance(exc, TimeoutError):
        return f"scoring took longer than {timeout_s:g} s", True
    if isinstance(exc, SQLAlchemyError | OSError):
        return "database unavailable while scoring", True
    if isinstance(exc, ArithmeticError | ValueError | TypeError):
        return "the model's answer could not be read", True
    return "internal error while scoring (see the worker log)", True


async def _failed_try(sessions: async_sessionmaker[AsyncSession], run_id: int, contact_id: int, exc: Exception,
                      reason: str, retryable: bool, max_tries: int, clock: Clock) -> Outcome:
    tries = await _count_try(sessions, run_id, contact_id, exc)
    if tries is None:
        return Outcome("duplicate")
    if retryable and tries < max_tries:
        wait = backoff(tries)
        if isinstance(exc, RateLimited) and exc.retry_after_s:
            wait = max(wait, exc.retry_after_s + random.uniform(0, 1))  # RetryInfo.retryDelay: at least that
        raise RetryLater(wait, reason)
    return await _finish(sessions, run_id, contact_id, "failed", reason, clock, model_called=True)


def backoff(tries: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with jitter (tries spread out instead of stampeding together)."""
    return random.uniform(base / 2, min(cap, base * 2 ** (max(1, tries) - 1)))


async def _count_try(sessions: async_sessionmaker[AsyncSession], run_id: int, contact_id: int,
                     exc: Exception) -> int | None:
    """Record one failed try on a pending item (and the tokens a failed call was billed for); return how many it
    has had, or None when the item is no longer pending."""
    async with sessions() as session, session.begin():
        key = (ScoringItem.run_id == run_id, ScoringItem.contact_id == contact_id)
        counted = await session.execute(update(ScoringItem).where(*key, ScoringItem.status == "pending")
                                        .values(attempts=ScoringItem.attempts + 1))
        if not counted.rowcount:  # type: ignore[attr-defined]
            return None
        tokens_in, tokens_out = getattr(exc, "tokens_in", 0), getattr(exc, "tokens_out", 0)
        if tokens_in or tokens_out:
            await session.execute(update(ScoringRun).where(ScoringRun.id == run_id).values(
                tokens_in=ScoringRun.tokens_in + tokens_in, tokens_out=ScoringRun.tokens_out + tokens_out))
        return int((await session.execute(select(ScoringItem.attempts).where(*key))).scalar_one())


async def _load(session: AsyncSession, run_id: int, contact_id: int,
                clock: Clock) -> Outcome | tuple[int, ScoreInput, bool, bool]:
    item = await session.get(ScoringItem, (run_id, contact_id))
    run = await session.get(ScoringRun, run_id)
    if item is None or run is None or item.status != "pending":
        return Outcome("duplicate")
    user = await repo.get_user_by_id(session, run.user_id)
    contact = await repo.get_contact(session, run.user_id, contact_id)
    if user is None or contact is None:
        return Outcome("duplicate")
    messages = await repo.contact_messages(session, run.user_id, contact_id, MAX_MESSAGES)
    turns = [Turn(m.from_creator, m.text or "", m.created_at, m.attachment_kind) for m in reversed(messages)]
    fresh = (contact.scored_at is not None and contact.scored_through is not None
             and contact.last_message_at is not None and contact.last_message_at <= contact.scored_through)
    # Unchanged since its score (unless "score everyone"), or shelved after the run started: no model call.
    skip = (fresh and run.scope in ("unscored", "ids", "retry")) or contact.shelf is not None
    notes = await for_scorer(session, run.user_id, contact_id)
    priority = is_priority(run) or wrote_during(run, contact)
    return run.user_id, ScoreInput(user.niche, user.goal, turns, clock(), notes), skip, priority


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
    previous_score = (await session.execute(select(Contact.lead_score).where(*scoped))).scalar_one_or_none()
    await session.execute(update(Contact).where(*scoped, not_manual_tags)
                          .values(tags=result.tags, tags_source="ai"))
    await session.execute(update(Contact).where(*scoped, not_manual_score)
                          .values(lead_score=result.score, score_source="ai"))
    if result.stage is not None:  # a suggestion: the creator's own stage stays (like tags and scores)
        not_manual_stage = or_(Contact.stage_source.is_(None), Contact.stage_source != "manual")
        await session.execute(update(Contact).where(*scoped, not_manual_stage, Contact.stage != result.stage)
                              .values(stage=result.stage, stage_changed_at=now))
        await session.execute(update(Contact).where(*scoped, not_manual_stage).values(stage_source="ai"))
    await session.execute(update(Contact).where(*scoped).values(
        sentiment=result.sentiment, next_action=result.next_action, score_reason=result.reason,
        scored_at=now, scored_by=result.scored_by, scored_through=Contact.last_message_at, updated_at=now,
        ai_score=result.score, ai_tags=result.tags, ai_stage=result.stage, spam_suggested=result.spam))
    await refresh_search(session, user_id, [contact_id])  # AI tags are searchable
    contact = (await session.execute(
        select(Contact).where(*scoped).execution_options(populate_existing=True))).scalar_one()
    user = await repo.get_user_by_id(session, user_id)
    assert user is not None
    became_hot = await on_scored(session, user, contact, previous_score)
    if became_hot:
        await session.execute(update(ScoringItem).where(
            ScoringItem.run_id == run.id, ScoringItem.contact_id == contact_id).values(became_hot=True))
        if run.progress_chat_id is not None and not wrote_during(run, contact):
            # The creator is watching this run (/autoscore): its summary names the hot leads, with all of them a
            # tap away, so no push tells them the same thing a second time. A lead who wrote while the run went
            # on is news, though: pushed as usual, not kept for a summary that may be hours away.
            await session.flush()
            await session.execute(update(Alert).where(
                Alert.user_id == user_id, Alert.contact_id == contact_id, Alert.episode == contact.hot_episode,
                Alert.status == "pending").values(status=IN_SUMMARY))
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


async def runs_on_screen(sessions: async_sessionmaker[AsyncSession]) -> list[ScoringRun]:
    """Running runs with a progress message (a restarted bot keeps updating them)."""
    async with sessions() as session:
        stmt = select(ScoringRun).where(ScoringRun.status == "running", ScoringRun.progress_message_id.is_not(None))
        return list((await session.execute(stmt)).scalars())


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
    """Start a `retry` run of this run's failed contacts (None when nothing failed): bulk, sharing the pace."""
    async with sessions() as session:
        run = await get_run(session, user_id, run_id)
        if run is None:
            return None
        stmt = select(ScoringItem.contact_id).where(ScoringItem.run_id == run_id, ScoringItem.status == "failed")
        ids = list((await session.execute(stmt)).scalars())
    if not ids:
        return None
    return await start_run(sessions, queue, user_id, scope="retry", contact_ids=ids)
