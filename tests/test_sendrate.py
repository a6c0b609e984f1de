"""Telegram send pacing through Redis: 1 message/s per chat, 30/s overall, shared by every sender."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from core.services.sendrate import SendPacer


class FakeTime:
    """An injected clock: `sleep` advances it instead of waiting."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 12, 0, 0, 250000, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def redis(redis_url: str, unique: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{unique}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_one_message_per_second_per_chat(redis: Redis, unique: str) -> None:
    clock = FakeTime()
    pacer = SendPacer(redis, prefix=unique, clock=clock, sleep=clock.sleep)
    waits = [await pacer.reserve(42) for _ in range(3)]
    assert waits == [0.0, 1.0, 2.0]
    assert await pacer.reserve(43) == 0.0  # another chat is not held up


async def test_thirty_per_second_overall_across_senders(redis: Redis, unique: str) -> None:
    clock = FakeTime()
    senders = [SendPacer(redis, prefix=unique, clock=clock) for _ in range(2)]  # two worker processes
    waits = [await senders[n % 2].reserve(1000 + n) for n in range(35)]
    assert waits[:30] == [0.0] * 30
    assert all(0.7 <= w <= 0.75 for w in waits[30:])  # the next wall-clock second


async def test_retry_after_holds_the_chat(redis: Redis, unique: str) -> None:
    clock = FakeTime()
    pacer = SendPacer(redis, prefix=unique, clock=clock, sleep=clock.sleep)
    await pacer.hold_chat(7, 12)
    assert await pacer.wait(7) == 12.0 and clock.slept == [12.0]
