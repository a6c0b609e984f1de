"""The reply-window scan job: pushes "reply before it closes" for every creator's due leads.

Enqueued by the scheduler once per slot (core.jobs.enqueue_window_scan); idempotent, because every push is
claimed in the database first (core/services/reply_window.py). Telegram only through the Notifier.
"""

from __future__ import annotations

from typing import Any

from core.notifier import Notifier
from core.services import reply_window
from core.timeutil import utcnow
from workers.jobs.alerts import notifier_of


async def scan_reply_windows(ctx: dict[str, Any]) -> dict[str, Any]:
    clock = ctx.get("clock", utcnow)
    allowlist = ctx["settings"].allowed_telegram_ids if "settings" in ctx else frozenset()

    async def notifier() -> Notifier:  # built only when something is due
        return await notifier_of(ctx)

    result = await reply_window.scan(ctx["sessions"], notifier, clock(), allowlist)
    return {"pushed": len(result.pushed), "failed": len(result.failed), "quiet": len(result.quiet)}
