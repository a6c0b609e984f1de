"""Scoring job: thin wrapper over core.services.scoring.score_one (idempotent; deterministic job id)."""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry
from arq.worker import func

from core import jobs
from core.config import SCORE_JOB_TIMEOUT_S
from core.services import scoring
from core.timeutil import utcnow

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = SCORE_JOB_TIMEOUT_S  # GEMINI_TIMEOUT_S + limiter wait fit inside it (checked by Settings)


async def score_contact(ctx: dict[str, Any], run_id: int, contact_id: int) -> str:
    try:
        outcome = await scoring.score_one(
            ctx["sessions"], ctx["scorer"], ctx.get("limiter"), run_id, contact_id,
            job_try=int(ctx.get("job_try", 1)), max_tries=int(ctx.get("score_max_tries", scoring.MAX_TRIES)),
            timeout_s=float(ctx.get("score_item_timeout_s", scoring.ITEM_TIMEOUT_S)),
        )
    except scoring.RetryLater as exc:
        log.info("score %s:%s retry in %.1fs: %s", run_id, contact_id, exc.defer_s, exc)
        raise Retry(defer=exc.defer_s) from None
    if outcome.became_hot and outcome.user_id is not None and ctx.get("alerts_after_scoring", True):
        # `alert_window_s` overrides the digest window (benches, tests).
        now = ctx.get("clock", utcnow)()
        await jobs.enqueue_alerts(ctx["redis"], outcome.user_id, now, ctx.get("alert_window_s", jobs.ALERT_WINDOW_S))
    try:
        await scoring.feed(ctx["sessions"], ctx["redis"], run_id)  # a bulk run's next item takes this one's place
    except Exception:  # noqa: BLE001 - the run's next items must be queued: this job runs again, only to feed
        log.exception("score %s:%s: could not queue the run's next items", run_id, contact_id)
        raise Retry(defer=scoring.backoff(int(ctx.get("job_try", 1)), cap=60.0)) from None
    return outcome.status


# Model-call tries are bounded in the DB (scoring.MAX_TRIES); arq's bound only stops a job that keeps
# crashing its worker. It must stay high: a job arq drops would leave its item pending and the run open.
# keep_result=0: the outcome lives in scoring_items; a kept result would make arq refuse the same id again.
ARQ_MAX_TRIES = 1_000_000  # a bulk item may step back from a booked pace many times in a long run
FUNCTIONS = [func(score_contact, name=jobs.SCORE, timeout=JOB_TIMEOUT_S, max_tries=ARQ_MAX_TRIES, keep_result=0)]
