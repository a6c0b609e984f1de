"""Reminder delivery job: claim the creator's due reminders and push each through the Notifier.

Enqueued by the scheduler (core.jobs.enqueue_reminders: one job per creator and tick slot, `at` = the
scheduler's time). Idempotent: claiming is a conditional UPDATE per reminder (pending -> sent), so a second run,
a second worker or a second scheduler's job pushes nothing twice. Telegram only through the Notifier.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from core.notifier import Undeliverable
from core.services import account, reminders
from core.timeutil import as_utc, utcnow
from workers.jobs.alerts import notifier_of

log = logging.getLogger(__name__)


async def deliver_reminders(ctx: dict[str, Any], user_id: int, at: str) -> dict[str, Any]:
    sessions = ctx["sessions"]
    allowlist = ctx["settings"].allowed_telegram_ids if "settings" in ctx else frozenset()
    refusal = await account.alert_refusal(sessions, user_id, allowlist)
    if refusal is not None:  # gone, removed from the allowlist, or blocked the bot: nothing claimed, nothing lost
        return {"sent": 0, "why": refusal}
    claim = await reminders.claim_due(sessions, user_id, as_utc(datetime.fromisoformat(at)))
    if claim.held_until is not None:
        return {"held_until": claim.held_until.isoformat()}
    if not claim.items or claim.chat_id is None:
        return {"sent": 0}
    notifier = await notifier_of(ctx)
    for n, item in enumerate(claim.items):
        unsent = [later.reminder_id for later in claim.items[n:]]
        try:
            await notifier.reminder(claim.chat_id, item)
        except Undeliverable as exc:
            log.warning("reminders for user %s undeliverable: %s", user_id, exc)
            if exc.blocked:  # pending again; the scheduler skips them until the creator is back (no spinning)
                await reminders.release(sessions, user_id, unsent)
                await account.mark_bot_blocked(sessions, user_id, ctx.get("clock", utcnow)())
            # The chat is gone: the reminders stay "sent" (listed by /reminders), never retried in a loop.
            return {"sent": n, "undeliverable": len(unsent)}
        except BaseException:
            await reminders.release(sessions, user_id, unsent)  # not pushed: the next tick's job pushes them
            raise
    return {"sent": len(claim.items)}
