"""The one place for Leadgram's data rules: tags, scores, sentiments, text clipping."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable

MAX_TAG_LEN = 24
MAX_TAGS_AI = 3
MAX_TAGS = 20
MAX_LINE = 200  # next_action / score_reason: one line on a phone


class Sentiment(enum.StrEnum):
    hot = "hot"
    cold = "cold"
    ghosted = "ghosted"
    unsure = "unsure"


SENTIMENT_EMOJI = {"hot": "🔥", "cold": "🧊", "ghosted": "💤", "unsure": "❄️", None: "·"}

_SPACE = re.compile(r"\s+")
# Zero-width and bidi control characters make tags look identical while differing.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def normalize_tag(raw: str) -> str:
    """Trim, fold whitespace, lowercase, drop a leading '#', cap length. Empty means invalid."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = _INVISIBLE.sub("", text)
    text = _SPACE.sub(" ", text).strip().lstrip("#").strip().lower()
    return text[:MAX_TAG_LEN].strip()


def normalize_tags(raw: Iterable[str], limit: int = MAX_TAGS) -> list[str]:
    """Normalise each tag, merge case-insensitive duplicates, keep order, cap the count."""
    out: list[str] = []
    for item in raw:
        tag = normalize_tag(item if isinstance(item, str) else str(item))
        if tag and tag not in out:
            out.append(tag)
        if len(out) >= limit:
            break
    return out


def clamp_score(value: object) -> int | None:
    """Scores are ints 0..100; anything unparseable is None (not scored)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if number != number:  # NaN
        return None
    return max(0, min(100, int(round(number))))


def parse_sentiment(value: object) -> Sentiment:
    """Unknown or malformed sentiments become 'unsure' rather than failing the contact."""
    text = str(value or "").strip().lower()
    try:
        return Sentiment(text)
    except ValueError:
        return Sentiment.unsure


def one_line(text: object, limit: int = MAX_LINE) -> str:
    """Collapse to one line of at most `limit` characters."""
    flat = _SPACE.sub(" ", str(text or "")).strip()
    return clip(flat, limit)


def clip(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis, never splitting a surrogate pair (Python strs are safe)."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def is_hot(sentiment: str | None, score: int | None, threshold: int) -> bool:
    """A lead is hot when the model says so or the score reaches the creator's threshold."""
    return sentiment == Sentiment.hot or (score is not None and score >= threshold)
