"""Every inline button's callback data, as aiogram CallbackData factories (≤ 64 bytes, checked on pack).

Callback data is user input: handlers re-read everything with the presser's own user id, and values that
do not parse (garbage, stale formats) never reach a handler (the fallback router answers "not found").
"""

from __future__ import annotations

import hashlib

from aiogram.filters.callback_data import CallbackData


class ListCb(CallbackData, prefix="l"):
    """A /contacts page: page number, filter (all|hot|high|unscored|tag), sort (last|score), tag key."""

    p: int = 1
    f: str = "all"
    s: str = "last"
    t: str = ""


class ContactCb(CallbackData, prefix="c"):
    """An action on one contact, carrying the list position to go back to.

    a: card | chat | tags | tog (toggle tag t) | newtag | score | set (score v) | typed | rescore
    v: chat page or score value.
    """

    a: str
    id: int
    p: int = 1
    f: str = "all"
    s: str = "last"
    t: str = ""
    v: int = 0


class TagMenuCb(CallbackData, prefix="tm"):
    """The "filter by tag" picker of the list (p: picker page)."""

    p: int = 1
    s: str = "last"


class RunCb(CallbackData, prefix="r"):
    """Scoring run buttons: retry (failed contacts of run `id`)."""

    a: str
    id: int


class SetCb(CallbackData, prefix="s"):
    """/settings buttons: niche | goal | threshold | tz | alerts (toggle) | thr (set threshold v)."""

    a: str
    v: int = 0


class StartCb(CallbackData, prefix="st"):
    """Onboarding: demo | connect."""

    a: str


LITERAL = "="
LITERAL_MAX_BYTES = 20  # keeps the longest ContactCb (all fields at their widest) within 64 bytes


def tag_key(tag: str) -> str:
    """How a tag travels in callback data: itself ("=vip") when short and plain, so a tag filter needs no
    lookup; else a short stable hash (tags may be 24 emoji = 96 bytes, and ':' separates fields)."""
    if len(tag.encode()) <= LITERAL_MAX_BYTES and ":" not in tag:
        return LITERAL + tag
    return hashlib.blake2b(tag.encode(), digest_size=5).hexdigest()


def literal_tag(key: str) -> str | None:
    """The tag a literal key names (normalised: callback data is user input), or None for a hashed key."""
    from core.rules import normalize_tag

    return (normalize_tag(key[len(LITERAL):]) or None) if key.startswith(LITERAL) else None


def find_tag(key: str, tags: list[str]) -> str | None:
    return next((tag for tag in tags if tag_key(tag) == key), None)
