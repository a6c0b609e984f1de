"""Strangers (not on ALLOWED_TELEGRAM_IDS): at most one refusal per STRANGER_REPLY_EVERY_S, across bot replicas.

A refused sender who keeps writing (or a bot flooding us) costs one Telegram message per hour, not one per
update: the claim is a Redis key set only if absent, so any number of replicas answer once.
"""

from __future__ import annotations

from typing import Any

from core.jobs import redis_key
from core.rules import STRANGER_REPLY_EVERY_S


async def claim_refusal(redis: Any, telegram_id: int) -> bool:
    """True when this stranger may be told (once per window); False: stay silent."""
    return bool(await redis.set(redis_key(redis, "refused", telegram_id), b"1", nx=True, ex=STRANGER_REPLY_EVERY_S))
