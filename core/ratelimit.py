"""A rate limiter shared by every worker through Redis: GCRA with slot reservation.

One key holds the "theoretical arrival time" (TAT) of the next free slot. A caller atomically (WATCH/MULTI,
which fakeredis supports too; it has no Lua) reserves the next slot and sleeps until it. Slots are spaced
60/RPM seconds apart, so calls never exceed the RPM in any window, whichever worker makes them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import WatchError

Clock = Callable[[], float]


class TooFarAhead(Exception):
    """The next free slot is later than the caller is willing to wait; retry after `wait_s`."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"rate limited for {wait_s:.2f}s")
        self.wait_s = wait_s


class RateLimiter:
    def __init__(self, redis: Any, key: str, rpm: int, clock: Clock = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.redis = redis
        self.key = key
        self.interval = 60.0 / rpm
        self.clock = clock
        self.sleep = sleep

    async def reserve(self, max_wait_s: float) -> float:
        """Reserve the next slot; return the seconds to wait for it. Raises TooFarAhead past max_wait_s."""
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(self.key)
                    raw = await pipe.get(self.key)
                    now = self.clock()
                    slot = max(float(raw) if raw else 0.0, now)
                    wait = slot - now
                    if wait > max_wait_s:
                        raise TooFarAhead(wait - max_wait_s)
                    pipe.multi()
                    pipe.set(self.key, repr(slot + self.interval), px=int((wait + 60) * 1000))
                    await pipe.execute()
                    return wait
                except WatchError:
                    continue  # another worker reserved meanwhile: look again

    async def acquire(self, max_wait_s: float = 30.0) -> None:
        wait = await self.reserve(max_wait_s)
        if wait > 0:
            await self.sleep(wait)
