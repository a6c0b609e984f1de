"""The background side of a reply: a throttled send retried with backoff, or an unknown outcome reconciled.

Idempotent: the reply row is claimed (retrying -> sending) by a conditional UPDATE, so a second run of the same
job, or a job racing a press, finds it taken; an unknown outcome is settled by reading the conversation first.
"""

from __future__ import annotations

from typing import Any

from core.services import reply as replies
from core.timeutil import utcnow
from workers.jobs.alerts import notifier_of
from workers.jobs.sync import _cipher, _http


async def send_reply(ctx: dict[str, Any], user_id: int, reply_id: int) -> dict[str, Any]:
    send_ctx = replies.send_context(ctx["settings"], ctx["sessions"], _cipher(ctx), _http(ctx), ctx["redis"],
                                    ctx.get("clock", utcnow))
    result = await replies.settle(send_ctx, user_id, reply_id)
    if result.outcome not in (replies.Outcome.in_progress, replies.Outcome.not_found):
        await (await notifier_of(ctx)).reply_settled(user_id, reply_id)
    return {"outcome": result.outcome.value}
