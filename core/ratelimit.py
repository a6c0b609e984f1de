"""A rate limiter shared by every worker through Redis: GCRA with slot reservation.

One key holds the "theoretical arrival time" (TAT) of the next free slot. A caller atomically (WATCH/MULTI,
which fakeredis supports too; it has no Lua) reserves the next slot and sleeps until it. Slots are spaced
60/RPM seconds apart, so calls never exceed the RPM in any window, whichever worker makes them.

Priority lane (the alert path: scoring a lead who just wrote, an AI draft the creator asked for): a priority
caller does not queue behind slots other callers booked ahead (a bulk item may book up to a short horizon); it
waits only for earlier priority calls and 429 holds, and pushes the shared pace back by one slot. It borrows a
slot from the near future that the shared pace then repays: over any window the calls exceed the pace by at most
the slots booked ahead at that moment (bulk books at most BULK_MAX_WAIT_S: a handful of calls), and the long-run
rate stays the RPM.
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
        self.priority_key = f"{key}:priority"
        self.interval = 60.0 / rpm
        self.clock = clock
        self.sleep = sleep

    async def reserve(self, max_wait_s: float, priority: bool = False) -> float:
        """Reserve the next slot; return the seconds to wait for it. Raises TooFarAhead past max_wait_s.
        `priority`: the next slot of the priority lane (see the module doc), ahead of slots booked by others."""
        keys = (self.key, self.priority_key) if priority else (self.key,)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(*keys)
                    shared = _float(await pipe.get(self.key))
                    lane = _float(await pipe.get(self.priority_key)) if priority else shared
                    now = self.clock()
                    slot = max(lane, now)
                    wait = slot - now
                    if wait > max_wait_s:
                        raise TooFarAhead(wait - max_wait_s)
                    pipe.multi()
                    if priority:
                        pipe.set(self.priority_key, repr(slot + self.interval), px=int((wait + 60) * 1000))
                    # The shared pace moves on by one slot: a priority call pushes every booked-ahead caller back.
                    nxt = max(shared, slot) + self.interval
                    pipe.set(self.key, repr(nxt), px=int((nxt - now + 60) * 1000))
                    await pipe.execute()
                    return wait
                except WatchError:
                    continue  # another worker reserved meanwhile: look again

    async def hold(self, seconds: float) -> None:
        """Push the next free slot to at least `seconds` from now (a 429's RetryInfo.retryDelay: the quota is
        the project's, so every worker waits it out instead of each finding out with its own 429). Both lanes."""
        for key in (self.key, self.priority_key):
            await self._hold(key, seconds)

    async def _hold(self, key: str, seconds: float) -> None:
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    until = self.clock() + seconds
                    if raw and float(raw) >= until:
                        return
                    pipe.multi()
                    pipe.set(key, repr(until), px=int((seconds + 60) * 1000))
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def acquire(self, max_wait_s: float = 30.0, priority: bool = False) -> None:
        wait = await self.reserve(max_wait_s, priority)
        if wait > 0:
            await self.sleep(wait)


def _float(raw: Any) -> float:
    return float(raw) if raw else 0.0
