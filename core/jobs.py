"""The one module that names Leadgram's background jobs, builds their ids and enqueues them.

Job ids are deterministic, so enqueuing twice is a no-op (arq refuses an id it still holds). arq keys jobs by id
alone, not by queue, so a non-default queue name (tests, side-by-side deployments on one Redis) namespaces the ids
and every Redis key Leadgram derives from the queue. Callers pass the queue (an ArqRedis pool, or arq's
`ctx["redis"]` inside a job); nothing else in the code base spells a job name or an id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.constants import default_queue_name, job_key_prefix, result_key_prefix
from redis.exceptions import WatchError

from core.timeutil import as_utc, utcnow

# Job names (workers/ registers its functions under these).
SYNC = "sync_creator"
SCORE = "score_contact"
RESCORE = "rescore_contacts"
ALERTS = "deliver_alerts"
SEND_REPLY = "send_reply"
WINDOW_SCAN = "scan_reply_windows"
REMINDERS = "deliver_reminders"

ALERT_WINDOW_S = 2.0  # hot leads found within this window become one digest
RESCORE_RETRY_S = 15  # contacts a sync changed while another run held the creator: looked at again after this
REMINDER_TICK_S = 30  # the scheduler looks for due reminders this often (a reminder comes at most this late)


def queue_name(queue: Any) -> str:
    name: str = getattr(queue, "default_queue_name", default_queue_name)
    return name


def namespaced(queue: Any, key: str) -> str:
    """`key` as a job id (or Redis key) of this queue: unchanged on the default queue, prefixed on any other."""
    name = queue_name(queue)
    return key if name == default_queue_name else f"{name}:{key}"


def redis_key(queue: Any, *parts: object) -> str:
    """Every Redis key Leadgram writes beside arq's own (locks, rate limits, claims): in this queue's namespace,
    so deployments and tests sharing one Redis never see each other's."""
    return ":".join([queue_name(queue), *map(str, parts)])


def _future(at: datetime) -> datetime | None:
    # arq schedules on Redis wall time; a time already past (an injected clock, a late worker) means "now".
    return at if at > datetime.now(UTC) else None


# ---------------------------------------------------------------- sync


def sync_job_id(user_id: int, slot: int) -> str:
    """The scheduler's sync of one creator in one time slot (slot = floor(epoch / interval))."""
    return f"sync:{user_id}:{slot}"


async def enqueue_scheduled_sync(queue: Any, user_id: int, slot: int, interval_s: float) -> bool:
    """One sync per creator per slot, whatever the number of scheduler replicas. True when this call enqueued."""
    job_id = namespaced(queue, sync_job_id(user_id, slot))
    # arq dedupes ids only while it keeps the job or its result (keep_result); this marker holds the slot
    # for two intervals whatever the worker settings, so a late replica cannot re-run a finished sync.
    ttl = max(2, math.ceil(2 * interval_s))
    if not await queue.set(redis_key(queue, "slot", job_id), b"1", nx=True, ex=ttl):
        return False
    # A sync nobody started soon is superseded by a later slot's (with slack for busy workers).
    job = await queue.enqueue_job(SYNC, user_id, _job_id=job_id,
                                  _expires=timedelta(seconds=max(2 * interval_s, 30)))
    return job is not None


# One manual sync per creator in flight: a Redis slot names the job holding it. The slot is free again when that
# job finishes or fails (the job releases it), or as soon as arq no longer holds the job (a crash after the end,
# a lost job): a claim younger than MANUAL_SYNC_GRACE_S counts as in flight even before its job is visible (the
# claim is set just before the enqueue), and MANUAL_SYNC_TTL_S bounds any claim (the sync job's timeout is 600 s).
MANUAL_SYNC_GRACE_S = 30.0
MANUAL_SYNC_TTL_S = 900


@dataclass(frozen=True)
class ManualSync:
    job_id: str  # the sync job (this request's, or the one already in flight)
    started_at: datetime  # when that sync was asked for (UTC)
    enqueued: bool  # False: one was already in flight; no second job


async def enqueue_manual_sync(queue: Any, user_id: int, tap: str, exclusive: bool = True,
                              now: datetime | None = None) -> ManualSync:
    """A sync the creator asked for (/sync, the demo, a new connection); `tap` makes its id unique per request.
    `exclusive` (/sync): while the creator's last manual sync is in flight, that one is returned and nothing is
    enqueued. A new account's first sync (exclusive=False) is always enqueued and takes the slot."""
    slot = redis_key(queue, "manual-sync", user_id)
    job_id = namespaced(queue, f"sync:{user_id}:manual:{tap}")
    at = (now or utcnow()).timestamp()
    while True:
        async with queue.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(slot)
                held = await pipe.get(slot)
                other = json.loads(held) if held else None
                if exclusive and other is not None and await _in_flight(pipe, other, at):
                    return ManualSync(other["job"], datetime.fromtimestamp(float(other["at"]), UTC), False)
                pipe.multi()
                pipe.set(slot, json.dumps({"job": job_id, "at": at}), ex=MANUAL_SYNC_TTL_S)
                await pipe.execute()
                break
            except WatchError:
                continue  # another request claimed meanwhile: look again
    await queue.enqueue_job(SYNC, user_id, _job_id=job_id)
    return ManualSync(job_id, datetime.fromtimestamp(at, UTC), True)


async def _in_flight(redis: Any, claim: dict[str, Any], at: float) -> bool:
    return at - float(claim["at"]) < MANUAL_SYNC_GRACE_S or bool(await redis.exists(job_key_prefix + claim["job"]))


async def release_manual_sync(queue: Any, user_id: int, job_id: str) -> None:
    """The sync job `job_id` ended (done or failed): free the creator's slot if this job holds it."""
    slot = redis_key(queue, "manual-sync", user_id)
    while True:
        async with queue.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(slot)
                held = await pipe.get(slot)
                if not held or json.loads(held)["job"] != job_id:
                    return  # a scheduled sync, or a newer claim
                pipe.multi()
                pipe.delete(slot)
                await pipe.execute()
                return
            except WatchError:
                continue


# ---------------------------------------------------------------- scoring


def score_job_id(queue: Any, run_id: int, contact_id: int) -> str:
    return namespaced(queue, f"score:{run_id}:{contact_id}")


PRIORITY_HEAD_START = timedelta(hours=1)


async def enqueue_score(queue: Any, run_id: int, contact_id: int, priority: bool = False) -> bool:
    """Enqueue one scoring item's job. arq refuses an id while it holds the job OR a kept result of it; only a
    queued or running job may block: a remembered result of a finished try (the item is still pending, so that
    try did not settle it) is forgotten and the job enqueued again. An alert-path item is queued ahead of bulk
    items (arq takes jobs in time order: it is given a time PRIORITY_HEAD_START in the past)."""
    job_id = score_job_id(queue, run_id, contact_id)
    at = datetime.now(UTC) - PRIORITY_HEAD_START if priority else None
    if await queue.enqueue_job(SCORE, run_id, contact_id, _job_id=job_id, _defer_until=at) is not None:
        return True
    if await queue.exists(job_key_prefix + job_id):
        return False  # queued, deferred for a retry, or running: it will settle the item
    await queue.delete(result_key_prefix + job_id)
    return await queue.enqueue_job(SCORE, run_id, contact_id, _job_id=job_id, _defer_until=at) is not None


async def enqueue_scores(queue: Any, run_id: int, contact_ids: Sequence[int], priority: bool = False) -> int:
    """enqueue_score for many items, skipping in one round trip those whose job is queued, deferred or running
    (a bulk run's window is topped up after every item: most of it is already there). Returns how many were
    enqueued."""
    if not contact_ids:
        return 0
    async with queue.pipeline(transaction=False) as pipe:
        for contact_id in contact_ids:
            pipe.exists(job_key_prefix + score_job_id(queue, run_id, contact_id))
        held = await pipe.execute()
    return sum([await enqueue_score(queue, run_id, contact_id, priority)
                for contact_id, there in zip(contact_ids, held, strict=True) if not there])


async def enqueue_rescore(queue: Any, user_id: int, run_id: int, contact_ids: Sequence[int],
                          now: datetime) -> None:
    """Look again at contacts a sync changed while run `run_id` was active (one job per run and short slot)."""
    slot = int(now.timestamp() // RESCORE_RETRY_S)
    job_id = namespaced(queue, f"rescore:{user_id}:{run_id}:{slot}")
    await queue.enqueue_job(RESCORE, user_id, list(contact_ids), _job_id=job_id, _defer_by=RESCORE_RETRY_S)


def scoring_start_lock_key(queue: Any, user_id: int) -> str:
    return redis_key(queue, "scoring-start", user_id)


def gemini_limiter_key(queue: Any) -> str:
    """The shared GEMINI_RPM pace: one key per queue namespace, for every worker on it."""
    return redis_key(queue, "ratelimit", "gemini")


# ---------------------------------------------------------------- alerts


def alert_job_id(user_id: int, now: datetime, window: float = ALERT_WINDOW_S) -> tuple[str, datetime]:
    """Job id and run time for the slot containing `now`: every enqueue in the slot maps to one job."""
    slot = math.floor(now.timestamp() / window)
    return f"alerts:{user_id}:{slot}", datetime.fromtimestamp((slot + 1) * window, UTC)


async def enqueue_alerts(queue: Any, user_id: int, now: datetime | None = None,
                         window: float = ALERT_WINDOW_S) -> bool:
    """Call after writing alert rows (scoring, sync, the scheduler's kick): a burst becomes one digest.
    True when this call created the job."""
    job_id, run_at = alert_job_id(user_id, now or utcnow(), window)
    job = await queue.enqueue_job(ALERTS, user_id, _job_id=namespaced(queue, job_id), _defer_until=_future(run_at))
    return job is not None


async def enqueue_alerts_at(queue: Any, user_id: int, at: datetime) -> bool:
    """A look-again at a fixed time (end of quiet hours, end of a scoring hold): one job per creator and time."""
    job_id = namespaced(queue, f"alerts:{user_id}:at:{int(at.timestamp())}")
    job = await queue.enqueue_job(ALERTS, user_id, _job_id=job_id, _defer_until=_future(at))
    return job is not None


# ---------------------------------------------------------------- replies


async def enqueue_send_reply(queue: Any, user_id: int, reply_id: int, after_s: float, attempt: int) -> bool:
    """The background attempt of a throttled (or unsettled) send: one job per reply and attempt."""
    job_id = namespaced(queue, f"reply:{user_id}:{reply_id}:{attempt}")
    job = await queue.enqueue_job(SEND_REPLY, user_id, reply_id, _job_id=job_id, _defer_by=max(0.0, after_s))
    return job is not None


# ---------------------------------------------------------------- the reply-window push


async def enqueue_window_scan(queue: Any, slot: int, interval_s: float) -> bool:
    """The scheduler's reply-window scan for one time slot, once whatever the number of scheduler replicas
    (the pushes themselves are claimed in the database, so a duplicate scan would push nothing twice)."""
    job_id = namespaced(queue, f"window:{slot}")
    job = await queue.enqueue_job(WINDOW_SCAN, _job_id=job_id, _expires=timedelta(seconds=max(2 * interval_s, 30)))
    return job is not None


# ---------------------------------------------------------------- reminders


def reminder_job_id(user_id: int, at: datetime, tick_s: float = REMINDER_TICK_S) -> str:
    return f"reminders:{user_id}:{math.floor(at.timestamp() / tick_s)}"


async def enqueue_reminders(queue: Any, user_id: int, at: datetime, tick_s: float = REMINDER_TICK_S) -> bool:
    """The delivery of a creator's reminders due by `at`: one job per creator and tick slot, whatever the number
    of schedulers (the claim in the job keeps two jobs of different slots from pushing one reminder twice).
    `at` travels with the job: the job claims what was due at the scheduler's time (an injected clock in tests)."""
    job_id = namespaced(queue, reminder_job_id(user_id, at, tick_s))
    job = await queue.enqueue_job(REMINDERS, user_id, as_utc(at).isoformat(), _job_id=job_id)
    return job is not None
