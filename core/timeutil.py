"""UTC helpers. Every datetime in Leadgram is timezone-aware UTC; the clock is injectable for tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: treat naive as UTC, convert aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_graph_time(value: str | int | float | None) -> datetime | None:
    """Graph sends `2024-05-01T12:34:56+0000`, sometimes epoch seconds; accept both."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        return as_utc(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z"))
    except ValueError:
        try:
            return as_utc(datetime.fromisoformat(value))
        except ValueError:
            return None


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """Short relative time for a phone screen: "now", "5m ago", "3h ago", "2d ago", "4w ago"."""
    if when is None:
        return "—"
    seconds = int(((now or utcnow()) - as_utc(when)).total_seconds())
    if seconds < 60:
        return "now"
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "now"


def timezone_or_utc(name: str | None) -> ZoneInfo:
    """A creator's timezone by its IANA name; UTC when it is unset or no longer known to this server."""
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError; odd keys raise the others
        return ZoneInfo("UTC")
