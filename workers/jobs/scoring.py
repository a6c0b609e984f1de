"""Scoring job: thin wrapper over core.services.scoring.score_one (idempotent; deterministic job id)."""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry
from arq.worker import func

from core.services import scoring

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = 90  # scorer timeout + limiter wait fit well inside it


async def score_contact(ctx: dict[str, Any], run_id: int, contact_id: int) -> str:
    try:
        outcome = await scoring.score_one(
            ctx["sessions"], ctx["scorer"], ctx.get("limiter"), run_id, contact_id,
            job_try=int(ctx.get("job_try", 1)), max_tries=int(ctx.get("score_max_tries", scoring.MAX_TRIES)),
        )
    except scoring.RetryLater as exc:
        log.info("score %s:%s retry in %.1fs: %s", run_id, contact_id, exc.defer_s, exc)
        raise Retry(defer=exc.defer_s) from None
    if outcome.became_hot and outcome.user_id is not None and ctx.get("alerts_after_scoring", True):
        from workers.enqueue import alerts_after_scoring

        await alerts_after_scoring(ctx, outcome.user_id)
    return outcome.status


# Model-call tries are bounded in the DB (scoring.MAX_TRIES); arq's bound only stops a job that keeps
# crashing its worker. It must stay high: a job arq drops would leave its item pending and the run open.
ARQ_MAX_TRIES = 1000
FUNCTIONS = [func(score_contact, name=scoring.JOB_NAME, timeout=JOB_TIMEOUT_S, max_tries=ARQ_MAX_TRIES)]
