"""Telegram send pacing shared by every worker through Redis: ≈1 message/s per chat, 30/s overall.

A sender asks for a slot and waits until it; it never loops sends as fast as it can. Per chat, a "next free
time" pointer is moved in an optimistic WATCH/MULTI transaction (one creator's chat sees little contention);
overall, per-second counters (INCR) hand out at most `per_second` slots in each wall-clock second.
Plain Redis commands (no Lua), so the in-process fakeredis queue paces the same way.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import WatchError

from core.timeutil import Clock, utcnow

CHAT_GAP_MS = 1000
GLOBAL_PER_SECOND = 30
MAX_SECONDS_AHEAD = 3600

Sleep = Callable[[float], Awaitable[None]]


class SendPacer:
    def __init__(
        self, redis: Any, prefix: str = "leadgram:tg", clock: Clock = utcnow, sleep: Sleep = asyncio.sleep,
        chat_gap_ms: int = CHAT_GAP_MS, per_second: int = GLOBAL_PER_SECOND,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._sleep = sleep
        self._chat_gap_ms = chat_gap_ms
        self._per_second = per_second

    def _now_ms(self) -> int:
        return int(self._clock().timestamp() * 1000)

    async def reserve(self, chat_id: int) -> float:
        """Book the next slot for `chat_id`; returns seconds to wait before sending."""
        now = self._now_ms()
        chat_at = await self._reserve_chat(chat_id, now)
        at = await self._reserve_global(chat_at, now)
        return max(0.0, (at - now) / 1000)

    async def wait(self, chat_id: int) -> float:
        """Reserve and sleep until the slot (the sleep is injectable: tests never really sleep)."""
        delay = await self.reserve(chat_id)
        if delay > 0:
            await self._sleep(delay)
        return delay

    async def hold_chat(self, chat_id: int, seconds: float) -> None:
        """Telegram said RetryAfter: nobody sends to this chat before it has passed."""
        key = f"{self._prefix}:chat:{chat_id}"
        until = self._now_ms() + int(seconds * 1000)
        await self._redis.set(key, until, px=int(seconds * 1000) + 60_000)

    async def _reserve_chat(self, chat_id: int, now: int) -> int:
        key = f"{self._prefix}:chat:{chat_id}"
        for _ in range(50):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    at = max(now, int(raw or 0))
                    pipe.multi()
                    pipe.set(key, at + self._chat_gap_ms, px=at + self._chat_gap_ms - now + 60_000)
                    await pipe.execute()
                    return at
                except WatchError:
                    continue
        raise RuntimeError("send pacer: chat slot contention")

    async def _reserve_global(self, not_before: int, now: int) -> int:
        second = not_before // 1000
        for step in range(MAX_SECONDS_AHEAD):
            key = f"{self._prefix}:all:{second + step}"
            taken = int(await self._redis.incr(key))
            if taken == 1:
                await self._redis.expire(key, 120 + math.ceil((not_before - now) / 1000) + step)
            if taken <= self._per_second:
                return max(not_before, (second + step) * 1000)
        raise RuntimeError("send pacer: no global slot within the hour")
