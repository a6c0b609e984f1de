"""Alert delivery job: claim a creator's pending alerts and push them as one message (or one digest).

Enqueued with a deterministic id per creator and short time slot (deferred to the slot's end), so a burst
of hot leads found within the slot coalesces into one job and one digest. Idempotent: a second run finds
nothing pending, because claiming is a conditional UPDATE in the database.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from core.services import alerts
from core.services.sendrate import SendPacer
from core.timeutil import utcnow
from workers.enqueue import enqueue_alerts_at

if TYPE_CHECKING:
    from aiogram import Bot

# aiogram (and bot.notify) are imported where a message is sent: building its ~400 pydantic models costs
# seconds of CPU at import, which every worker, scheduler and CLI process would otherwise pay at start.
log = logging.getLogger(__name__)

def pacer_of(ctx: dict[str, Any]) -> SendPacer:
    """One pacer per worker process, on the queue's Redis (shared by every worker)."""
    if "send_pacer" not in ctx:
        ctx["send_pacer"] = SendPacer(ctx["redis"], clock=ctx.get("clock", utcnow))
    pacer: SendPacer = ctx["send_pacer"]
    return pacer


def bot_of(ctx: dict[str, Any]) -> Bot:
    from bot import notify

    """The worker's push-only Bot: ctx["bot"] when startup made one, else built once from settings."""
    if "bot" not in ctx:
        settings = ctx["settings"]
        if settings.telegram_bot_token is None:
            raise RuntimeError("TELEGRAM_BOT_TOKEN is not set: cannot push alerts")
        ctx["bot"] = notify.make_push_bot(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base)
        ctx["owns_bot"] = True
    bot: Bot = ctx["bot"]
    return bot


async def deliver_alerts(ctx: dict[str, Any], user_id: int) -> dict[str, Any]:
    from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

    from bot import notify

    clock = ctx.get("clock", utcnow)
    sessions = ctx["sessions"]
    claim = await alerts.claim_due(sessions, user_id, clock())
    if claim.retry_at is not None:
        await enqueue_alerts_at(ctx["redis"], user_id, claim.retry_at)
        return {"held_until": claim.retry_at.isoformat()}
    if not claim.items or claim.chat_id is None:
        return {"sent": 0}
    ids = [item.alert_id for item in claim.items]
    try:
        message_id = await notify.send_alerts(bot_of(ctx), pacer_of(ctx), claim.chat_id, claim.items)
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        # Blocked the bot or the chat is gone: retrying cannot help; keep the record, do not resend.
        log.warning("alerts for user %s undeliverable: %s", user_id, exc)
        await alerts.finish(sessions, user_id, ids, alerts.DROPPED, clock())
        return {"dropped": len(ids)}
    except BaseException:
        # Not sent (network, timeout, cancelled): back to pending so the next run sends them.
        await alerts.finish(sessions, user_id, ids, "pending", clock())
        raise
    await alerts.finish(sessions, user_id, ids, "sent", clock(), message_id)
    return {"sent": len(ids), "message_id": message_id}
