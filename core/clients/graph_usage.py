"""Graph usage headers: how close the app and the account are to their rate limits.

`X-App-Usage: {"call_count":28,"total_time":25,"total_cputime":25}` (percent of the app's limit) and
`X-Business-Use-Case-Usage: {"<id>":[{"call_count":5,...,"estimated_time_to_regain_access":0}]}`
(percent of the business use case limit; the regain estimate is in minutes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PERCENT_KEYS = ("call_count", "total_time", "total_cputime")
SLOW_AT = 75.0  # percent: start pacing well before 100
CRAWL_AT = 90.0
SLOW_DELAY = 0.5  # seconds before each call once usage passes SLOW_AT
CRAWL_DELAY = 3.0


@dataclass(frozen=True)
class Usage:
    percent: float = 0.0  # the highest of every usage figure seen in the headers
    regain_seconds: float = 0.0  # Graph's estimate until a throttled account may call again

    def delay(self) -> float:
        """Seconds to wait before the next call, so we slow down instead of hitting the wall."""
        if self.percent >= CRAWL_AT:
            return CRAWL_DELAY
        if self.percent >= SLOW_AT:
            return SLOW_DELAY
        return 0.0


def parse_usage(headers: Mapping[str, str]) -> Usage:
    percents: list[float] = []
    regain = 0.0
    app = _json(headers.get("x-app-usage"))
    if isinstance(app, dict):
        percents.extend(_percents(app))
    buc = _json(headers.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    percents.extend(_percents(entry))
                    regain = max(regain, _num(entry.get("estimated_time_to_regain_access")) * 60.0)
    return Usage(percent=max(percents, default=0.0), regain_seconds=regain)


def _percents(entry: dict[str, Any]) -> list[float]:
    return [_num(entry.get(key)) for key in _PERCENT_KEYS]


def _json(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _num(value: Any) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0
