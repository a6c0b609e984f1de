"""Every inline button's callback data, as aiogram CallbackData factories (≤ 64 bytes, checked on pack).

Callback data is user input: handlers re-read everything with the presser's own user id, and values that
do not parse (garbage, stale formats) never reach a handler (the fallback router answers "not found").
"""

from __future__ import annotations

import hashlib

from aiogram.filters.callback_data import CallbackData


class ListCb(CallbackData, prefix="l"):
    """A /contacts page: page number, filter (all|hot|high|unscored|tag|stage|spam|archived|search), sort
    (last|score), t: the tag key (tag filter), the stage key (stage filter) or the /find text's key (search)."""

    p: int = 1
    f: str = "all"
    s: str = "last"
    t: str = ""


class StatsCb(CallbackData, prefix="sx"):
    """/stats' buttons: a: "chart" (the picture of this week against last week)."""

    a: str = "chart"


class JumpCb(CallbackData, prefix="lj"):
    """The list's "page 3/12" button: ask for a page number to jump to (the list's filter and sort ride along)."""

    p: int = 1
    f: str = "all"
    s: str = "last"
    t: str = ""


class ContactCb(CallbackData, prefix="c"):
    """An action on one contact, carrying the list position to go back to.

    a: card | chat | tags | tog (toggle tag t) | newtag | score | set (score v) | typed | rescore
       | stages (stage picker) | stg (set stage: v = the stage's code, core.rules.stage_code)
       | shelf (v: 0 back in the list, 1 spam, 2 archived)
       | reply (✍️ prompt) | aidraft (🤖) | saved (💾 picker) | usesaved (saved reply v)
    v: chat page, score value, stage index, shelf or saved reply id.
    """

    a: str
    id: int
    p: int = 1
    f: str = "all"
    s: str = "last"
    t: str = ""
    v: int = 0


class ReplyCb(CallbackData, prefix="rp"):
    """A draft's buttons: send | edit | cancel (reply `id`, re-read with the presser's own user id)."""

    a: str
    id: int


class SavedCb(CallbackData, prefix="sv"):
    """/replies: list | add | edit | del (saved reply `id`)."""

    a: str
    id: int = 0


class TagMenuCb(CallbackData, prefix="tm"):
    """The "filter by tag" picker of the list (p: picker page)."""

    p: int = 1
    s: str = "last"


class FindCb(CallbackData, prefix="fd"):
    """🔎 on the list: asks for what to find (a ForceReply prompt)."""


class StageMenuCb(CallbackData, prefix="sm"):
    """The "filter by stage" picker of the list (stages and the spam/archive shelves)."""

    s: str = "last"


class StageCb(CallbackData, prefix="sg"):
    """/stages, k = a stage's code (core.rules.stage_code; the five built-in stages' codes are their old indexes):
    list (the screen) | ren (ask a new name) | new (pick the place) | after (ask the new stage's name, after k)
    | del (ask: remove own stage k?) | delok (remove it)."""

    a: str
    k: int = 0


class RunCb(CallbackData, prefix="r"):
    """Scoring run buttons: retry (failed contacts of run `id`); all (ask to rescore everyone: `id` = how many
    were counted), allok (confirmed: start it), no (cancelled)."""

    a: str
    id: int


class SetCb(CallbackData, prefix="s"):
    """/settings buttons: niche | goal | threshold | tz | alerts (toggle) | thr (set threshold v) | win (the
    reply-window push: v hours before the window closes, 0 = off)."""

    a: str
    v: int = 0


class StartCb(CallbackData, prefix="st"):
    """Onboarding: demo | connect; demo_ok | demo_no answer "replace your real account with the demo?"."""

    a: str


class AccountCb(CallbackData, prefix="acc"):
    """/delete_my_data confirmation: delete | keep."""

    a: str


MAX_BYTES = 64  # Telegram's limit on callback data
LITERAL = "="
# A literal fits any ListCb; a ContactCb whose other fields are wide falls back to the hash (keyboards.contact_cb).
LITERAL_MAX_BYTES = 20


def tag_key(tag: str) -> str:
    """How a tag (or a /find text) travels in callback data: itself ("=vip") when short and plain, so a tag
    filter needs no lookup; else a short stable hash (tags may be 24 emoji = 96 bytes, ':' separates fields)."""
    if len(tag.encode()) <= LITERAL_MAX_BYTES and ":" not in tag:
        return LITERAL + tag
    return hashed_key(tag)


def hashed_key(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


def packs(data: CallbackData) -> bool:
    """Whether `data` fits Telegram's 64 bytes (aiogram raises on pack otherwise)."""
    try:
        data.pack()
    except ValueError:
        return False
    return True


def literal_of(key: str) -> str | None:
    """The text a literal key carries, as it came (callback data is user input: callers normalise it), or None
    for a hashed key."""
    return key[len(LITERAL):] if key.startswith(LITERAL) else None


def literal_tag(key: str) -> str | None:
    """The tag a literal key names (normalised), or None for a hashed key."""
    from core.rules import normalize_tag

    raw = literal_of(key)
    return (normalize_tag(raw) or None) if raw is not None else None


def find_tag(key: str, tags: list[str]) -> str | None:
    """The tag a key names, literal or hashed (a short tag is hashed where its literal would not fit)."""
    return next((tag for tag in tags if key in (tag_key(tag), hashed_key(tag))), None)


class AlertOpen(CallbackData, prefix="alert"):
    """Buttons on a push alert. `what`: card | chat (of `contact_id`) | hot (the hot-leads list).
    Callback data is user input: the handler fetches the contact with the presser's own user id."""

    what: str
    contact_id: int = 0


class ReminderCb(CallbackData, prefix="rm"):
    """⏰ A reminder's buttons (on its push and in /reminders): done | snz (snooze: v = index in
    core.rules.SNOOZE_PRESETS) | cancel | page (/reminders page v). `id`: the reminder, re-read with the presser's
    own user id. `p`: the /reminders page the button is on (0: a push, which then shows the lead's card)."""

    a: str
    id: int = 0
    v: int = 0
    p: int = 0
