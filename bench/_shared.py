"""What the bench scripts share: the CPU reference, a timing summary and a private PostgreSQL database.

Imported by the scripts as `_shared` (a script's own folder is on sys.path; bench/bot.py puts it last, so its
name does not hide the `bot` package).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

PG_ADMIN = os.environ.get("LEADGRAM_TEST_PG", "postgresql://root@127.0.0.1:5432/test")


def cpu_reference_ms() -> float:
    """A fixed pure-Python workload (best of 3), to read the timings against how busy the machine was
    (~55 ms on an idle 2-vCPU box)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, (time.perf_counter() - t0) * 1000)
    return round(best, 1)


def pct(samples: list[float], q: float) -> float:
    """The q-quantile (nearest rank); 0.0 for no samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def summary(samples: list[float]) -> dict[str, Any]:
    return {"p50_ms": round(statistics.median(samples), 2) if samples else 0.0,
            "p95_ms": round(pct(samples, 0.95), 2), "max_ms": round(max(samples, default=0.0), 2),
            "n": len(samples)}


@contextlib.asynccontextmanager
async def pg_database(prefix: str = "lg_bench") -> AsyncIterator[str]:
    """A new PostgreSQL database of its own (SQLAlchemy asyncpg URL), dropped afterwards whatever happens."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
