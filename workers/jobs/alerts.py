"""Alert delivery job: claim a creator's pending alerts and push them as one message (or one digest).

Enqueued with a deterministic id per creator and short time slot (core.jobs.enqueue_alerts, deferred to the
slot's end), so a burst of hot leads found within the slot coalesces into one job and one digest. Idempotent:
a second run finds nothing pending, because claiming is a conditional UPDATE in the database. Telegram is
reached only through the Notifier (core/notifier.py) the process wiring put into the worker ctx.
"""

from __future__ import annotations

import logging
from typing import Any

from core import jobs
from core.notifier import Notifier, Undeliverable
from core.services import account, alerts
from core.timeutil import utcnow

log = logging.getLogger(__name__)


async def notifier_of(ctx: dict[str, Any]) -> Notifier:
    """ctx["notifier"], or the one ctx["make_notifier"](ctx) builds on the first push (a worker process pays
    for the Telegram client only when it has something to send; shutdown closes it). The module it lives in
    (ctx["warm_module"]) is imported off the loop at startup; a push waits for that import, never repeats it."""
    if "notifier" not in ctx:
        make = ctx.get("make_notifier")
        if make is None:
            raise RuntimeError("no notifier wired into this worker: it cannot push to Telegram")
        if ctx.get("warm_module"):
            from workers.alerting import module_ready

            await module_ready(ctx["warm_module"])
        ctx["notifier"] = make(ctx)
        ctx["owns_notifier"] = True
    notifier: Notifier = ctx["notifier"]
    return notifier


async def deliver_alerts(ctx: dict[str, Any], user_id: int) -> dict[str, Any]:
    clock = ctx.get("clock", utcnow)
    sessions = ctx["sessions"]
    claim = await alerts.claim_due(sessions, user_id, clock())
    if claim.retry_at is not None:
        await jobs.enqueue_alerts_at(ctx["redis"], user_id, claim.retry_at)
        return {"held_until": claim.retry_at.isoformat()}
    if not claim.items or claim.chat_id is None:
        return {"sent": 0}
    ids = [item.alert_id for item in claim.items]
    allowlist = ctx["settings"].allowed_telegram_ids if "settings" in ctx else frozenset()
    refusal = await account.alert_refusal(sessions, user_id, allowlist)
    if refusal is not None:  # removed from the allowlist, or blocked the bot: nothing is pushed
        await alerts.finish(sessions, user_id, ids, alerts.DROPPED, clock())
        return {"dropped": len(ids), "why": refusal}
    try:
        message_id = await (await notifier_of(ctx)).hot_leads(claim.chat_id, claim.items)
    except Undeliverable as exc:
        # Blocked the bot or the chat is gone: retrying cannot help; keep the record, do not resend.
        log.warning("alerts for user %s undeliverable: %s", user_id, exc)
        await alerts.finish(sessions, user_id, ids, alerts.DROPPED, clock())
        if exc.blocked:  # blocked: stop syncing and scoring until they come back
            await account.mark_bot_blocked(sessions, user_id, clock())
        return {"dropped": len(ids)}
    except BaseException:
        # Not sent (network, timeout, cancelled): back to pending so the next run sends them.
        await alerts.finish(sessions, user_id, ids, "pending", clock())
        raise
    await alerts.finish(sessions, user_id, ids, "sent", clock(), message_id)
    return {"sent": len(ids), "message_id": message_id}
