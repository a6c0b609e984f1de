"""Deterministic arq job ids. arq keys jobs by id alone (not by queue), so a non-default queue name (tests,
side-by-side deployments on one Redis) namespaces the ids too."""

from __future__ import annotations

from typing import Any

from arq.constants import default_queue_name


def namespaced(redis: Any, job_id: str) -> str:
    queue = getattr(redis, "default_queue_name", default_queue_name)
    return job_id if queue == default_queue_name else f"{queue}:{job_id}"
