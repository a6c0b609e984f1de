"""The one place for Leadgram's data rules: tags, scores, sentiments, what "hot" means, input limits, text clipping.

Every constant that validates input lives here; keyboards offer these values, handlers never re-check them."""

from __future__ import annotations

import enum
import functools
import math
import re
import unicodedata
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import regex

MAX_TAG_LEN = 24  # graphemes (what a reader counts: 👩‍👩‍👧‍👦 is one)
MAX_TAG_CHARS = 96  # code points, whatever the graphemes: bounds storage and rendering
MAX_TAGS_AI = 3
MAX_TAGS = 20
MAX_LINE = 200  # next_action / score_reason: one line on a phone
SCORE_SANE = 1000  # beyond this a "score" is broken output, not a high score
STRANGER_REPLY_EVERY_S = 3600  # a sender refused by ALLOWED_TELEGRAM_IDS is told at most once per hour

MAX_NICHE = 200  # users.niche / users.goal: one line each, told to the scorer with every lead
MAX_GOAL = 300

SCORE_PRESETS = (0, 25, 50, 75, 90, 100)  # the score screen's buttons; any 0..100 may be typed
HOT_THRESHOLDS = (60, 70, 80, 90)  # users.alert_threshold: the creator's choice in /settings
DEFAULT_HOT_THRESHOLD = 80


class Sentiment(enum.StrEnum):
    hot = "hot"
    cold = "cold"
    ghosted = "ghosted"
    unsure = "unsure"


SENTIMENT_EMOJI = {"hot": "🔥", "cold": "🧊", "ghosted": "💤", "unsure": "❄️", None: "·"}

_SPACE = re.compile(r"\s+")
_GRAPHEME = regex.compile(r"\X")
_CANCEL_TAG = "\U000e007f"  # ends a flag's tag sequence (🏴󠁧󠁢󠁳󠁣󠁴󠁿): part of the emoji, invisible on its own


@dataclass(frozen=True)
class CleanTag:
    text: str  # empty means invalid
    shortened: bool  # cut to MAX_TAG_LEN: the creator is told


def clean_tag(raw: str) -> CleanTag:
    """Trim, fold whitespace, drop a leading '#', keep the creator's case, cap at MAX_TAG_LEN graphemes.

    Invisible format characters (zero-width space, bidi controls, a stray joiner) make tags look identical while
    differing, so they go, except inside a grapheme: the joiners of 👩‍👩‍👧‍👦, 🏳️‍🌈 and ❤️‍🔥 stay, and a
    long tag is cut between graphemes, never inside an emoji sequence."""
    text = visible_text(unicodedata.normalize("NFKC", raw or ""))
    text = _SPACE.sub(" ", text).strip().lstrip("#").strip()
    kept: list[str] = []
    size = 0
    for grapheme in _GRAPHEME.findall(text):
        size += len(grapheme)
        if len(kept) == MAX_TAG_LEN or size > MAX_TAG_CHARS:  # a Zalgo "letter" can be 1,000 code points
            return CleanTag("".join(kept).strip(), True)
        kept.append(grapheme)
    return CleanTag(text, False)


def visible_text(text: str) -> str:
    """Drop invisible format characters (zero-width, bidi controls) except where they join a grapheme."""
    return "".join(_visible(cluster) for cluster in _GRAPHEME.findall(text))


def _visible(cluster: str) -> str:
    """A format character (Cf) joins something only in the middle of a grapheme; at its edges it is noise."""
    last = len(cluster) - 1
    return "".join(ch for i, ch in enumerate(cluster)
                   if unicodedata.category(ch) != "Cf" or (0 < i < last) or (i == last > 0 and ch == _CANCEL_TAG))


def normalize_tag(raw: str) -> str:
    return clean_tag(raw).text


def tag_fold(tag: str) -> str:
    """Tags compare case-insensitively ("VIP" is "vip"); each keeps the spelling it was first written with."""
    return tag.casefold()


def find_same_tag(tag: str, tags: Iterable[str]) -> str | None:
    """The spelling among `tags` of the same tag (case-insensitively), if any."""
    folded = tag_fold(tag)
    return next((t for t in tags if tag_fold(t) == folded), None)


def normalize_tags(raw: Iterable[str], limit: int = MAX_TAGS) -> list[str]:
    """Normalise each tag, merge case-insensitive duplicates (the first spelling wins), keep order, cap the count."""
    out: list[str] = []
    for item in raw:
        tag = normalize_tag(item if isinstance(item, str) else str(item))
        if tag and find_same_tag(tag, out) is None:
            out.append(tag)
        if len(out) >= limit:
            break
    return out


def parse_score(text: str) -> int | None:
    """A score the creator typed: a whole number 0..100 ("85", " 85 ", "85%"); anything else is None (refused,
    never clamped: "150" is a typo, not a 100)."""
    raw = (text or "").strip().removesuffix("%").strip()
    if not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 <= value <= 100 else None


def clamp_score(value: object) -> int | None:
    """THE clamp: scores are ints 0..100; anything unparseable or non-finite is None (not scored).

    Model output is untrusted: `1e999` parses as infinity and a 400-digit integer does not fit a float. A value a
    little out of range (150, -3) is clamped; one far outside any score scale (beyond ±SCORE_SANE) or not finite
    is garbage, not a top score: None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return max(0, min(100, value)) if abs(value) <= SCORE_SANE else None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or abs(number) > SCORE_SANE:
        return None
    return max(0, min(100, int(round(number))))


def parse_sentiment(value: object) -> Sentiment:
    """Unknown or malformed sentiments become 'unsure' rather than failing the contact."""
    text = str(value or "").strip().lower()
    try:
        return Sentiment(text)
    except ValueError:
        return Sentiment.unsure


# Bidi controls (embeddings, overrides, isolates, marks) in a stranger's text could reorder what follows it on
# the line (a name with U+202E turns "· 85 · 2h ago" around). They are dropped; right-to-left text is kept and
# wrapped in an isolate (FSI…PDI), so it reads correctly without moving its neighbours.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]")
FSI, PDI = "\u2068", "\u2069"


def strip_bidi(text: str) -> str:
    return _BIDI_CONTROLS.sub("", text)


def bidi_isolated(text: str) -> str:
    """Text that cannot reorder the rest of its line: no bidi controls, right-to-left text isolated."""
    text = strip_bidi(text)
    return f"{FSI}{text}{PDI}" if _RTL.search(text) else text


def clean_niche(text: object) -> str:
    return one_line(text, MAX_NICHE)


def clean_goal(text: object) -> str:
    return one_line(text, MAX_GOAL)


@functools.cache
def timezones() -> frozenset[str]:
    """IANA names only: "localtime", "posixrules" and "Factory" depend on the server."""
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "posixrules", "Factory"}


MAX_NAME = 40
NO_NAME = "Unnamed lead"


def display_name(name: str | None, username: str | None, limit: int = MAX_NAME) -> str:
    """How a lead is called on every surface: their name, else @username, else "Unnamed lead"; one line, capped
    (strangers choose names: newlines, 10,000 characters)."""
    return one_line(name, limit) or (one_line(f"@{username}", limit) if username else "") or NO_NAME


def one_line(text: object, limit: int = MAX_LINE) -> str:
    """Collapse to one line of at most `limit` characters, safe to put beside other text (bidi_isolated)."""
    flat = _SPACE.sub(" ", strip_bidi(str(text or ""))).strip()
    return bidi_isolated(clip(flat, limit))


def clip(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis, never splitting a surrogate pair (Python strs are safe);
    an isolated text stays isolated."""
    if len(text) <= limit:
        return text
    if len(text) > 2 and text[0] == FSI and text[-1] == PDI:
        return FSI + clip(text[1:-1], max(1, limit - 2)) + PDI
    return text[: max(0, limit - 1)].rstrip() + "…"


# ---------------------------------------------------------------- hot leads
#
# THE definition of a hot lead, used by the list filter, /hot, alerts, the digest and the export:
# a lead is hot iff its effective score (`contacts.lead_score`: the creator's manual score if set, else the AI's)
# is >= the creator's hot threshold (`users.alert_threshold`), and it is still open: won/lost (its stage) and spam/
# archived (its shelf) leads are never hot. The model's sentiment alone never makes a lead hot: a "hot"
# sentiment below the threshold is shown as unsure.


def is_hot(score: int | None, threshold: int, stage: str | None = None, shelf: str | None = None) -> bool:
    """Python form of the rule (one contact in hand: pass its stage and shelf)."""
    return score is not None and score >= threshold and is_open(stage, shelf)


def hot_clause(score_column: Any, threshold: int, stage_column: Any = None, shelf_column: Any = None) -> Any:
    """SQL form of the same rule (`NULL >= n` is not true, as `is_hot(None, n)` is False)."""
    from sqlalchemy import and_

    conds = [score_column >= threshold]
    if stage_column is not None:
        conds.append(stage_column.not_in(CLOSED_STAGES))
    if shelf_column is not None:
        conds.append(shelf_column.is_(None))
    return and_(*conds)


def shown_sentiment(sentiment: str | None, score: int | None, threshold: int, stage: str | None = None,
                    shelf: str | None = None) -> str | None:
    """The sentiment a screen shows: hot iff the rule says so; a model's "hot" that the rule does not make hot
    (below the threshold, or a closed/shelved lead) is unsure."""
    if is_hot(score, threshold, stage, shelf):
        return Sentiment.hot.value
    if sentiment == Sentiment.hot or (score is not None and score >= threshold):
        return Sentiment.unsure.value
    return sentiment


def sentiment_emoji(sentiment: str | None, score: int | None, threshold: int, stage: str | None = None,
                    shelf: str | None = None) -> str:
    """A closed or shelved lead shows where it is (🏆 won, 🪦 lost, 🚫 spam, 🗄 archived), never 🔥."""
    if shelf in SHELF_EMOJI:
        return SHELF_EMOJI[shelf]
    if stage in CLOSED_STAGES:
        return STAGE_EMOJI[stage]
    return SENTIMENT_EMOJI.get(shown_sentiment(sentiment, score, threshold), SENTIMENT_EMOJI[None])


# ---------------------------------------------------------------- lifecycle: stages and the shelf

# Stage keys in their fixed order. The creator may rename any (users.stage_names); the AI only ever
# suggests these keys. won and lost close a lead (it leaves /hot and alerts; reopening is a stage change).
class Stage(enum.StrEnum):
    new = "new"
    talking = "talking"
    offer = "offer"
    won = "won"
    lost = "lost"


STAGE_KEYS = tuple(stage.value for stage in Stage)
DEFAULT_STAGE_NAMES = {"new": "new", "talking": "talking", "offer": "offer sent", "won": "won", "lost": "lost"}
CLOSED_STAGES = ("won", "lost")
MAX_STAGE_NAME = 20
STAGE_EMOJI = {"new": "🆕", "talking": "💬", "offer": "📨", "won": "🏆", "lost": "🪦"}
SHELVES = ("spam", "archived")
MAX_NOTE = 2000  # characters of one note (a card shows the latest ones clipped)
NOTES_FOR_SCORER = 5  # the newest notes the scorer reads, each clipped to one line
SHELF_EMOJI = {"spam": "🚫", "archived": "🗄"}


def is_open(stage: str | None, shelf: str | None) -> bool:
    """Still a lead to work on: not won/lost, not in spam or the archive."""
    return stage not in CLOSED_STAGES and shelf is None


def parse_stage(value: object) -> str | None:
    """A built-in stage key (the AI's suggestion), else None (nothing changes). The AI never names the
    creator's own stages; a key from callback data is checked against the creator's list (services/stages)."""
    text = str(value or "").strip().lower()
    return text if text in STAGE_KEYS else None


# The creator's own stages (at most MAX_STAGES in all) sit among the open ones, where they were added; their keys
# are "c<code>" (code >= 5, never the position: renaming or adding keeps every key), short enough for
# contacts.stage (16) and callback data, which carries the code (built-in codes = their STAGE_KEYS index).
MAX_STAGES = 8
FIRST_CUSTOM_CODE = len(STAGE_KEYS)
MAX_CUSTOM_CODE = 999
CUSTOM_STAGE_EMOJI = "🔹"
_CUSTOM_KEY = re.compile(r"c([1-9]\d{0,2})")


def custom_stage_code(key: object) -> int | None:
    """The code of a well-formed custom key ("c5" -> 5), else None."""
    match = _CUSTOM_KEY.fullmatch(str(key or ""))
    code = int(match.group(1)) if match else -1
    return code if FIRST_CUSTOM_CODE <= code <= MAX_CUSTOM_CODE else None


def stage_code(key: str) -> int:
    """How a stage travels in callback data (ints are short and never contain ':'); -1 for no stage."""
    if key in STAGE_KEYS:
        return STAGE_KEYS.index(key)
    code = custom_stage_code(key)
    return -1 if code is None else code


def stage_key(code: int) -> str:
    """The key callback data's code names ("" when it names none: callback data is user input)."""
    if 0 <= code < len(STAGE_KEYS):
        return STAGE_KEYS[code]
    return f"c{code}" if FIRST_CUSTOM_CODE <= code <= MAX_CUSTOM_CODE else ""


def stage_emoji(key: str | None) -> str:
    return STAGE_EMOJI.get(key or "", CUSTOM_STAGE_EMOJI)


def stage_list(stored: object) -> list[tuple[str, str]]:
    """The creator's stages in their fixed order as (key, name): new first, their own stages where they added
    them among the open ones, won and lost last; at most MAX_STAGES. users.stage_names holds [{key, name}, ...]
    (before 0015 it was {key: name}); anything malformed falls back to the defaults, the five are always there."""
    entries: list[tuple[object, object]]
    if isinstance(stored, dict):
        entries = [(key, stored.get(key)) for key in STAGE_KEYS]
    elif isinstance(stored, list):
        entries = [(item.get("key"), item.get("name")) for item in stored
                   if isinstance(item, dict) and not item.get("removed")]
    else:
        entries = []
    names: dict[str, str] = {}
    for key, name in entries:
        if not isinstance(key, str) or key in names or (key not in STAGE_KEYS and custom_stage_code(key) is None):
            continue
        clean = normalize_stage_name(str(name or ""))
        if clean or key in STAGE_KEYS:  # an own stage without a name is dropped, a built-in one keeps its default
            names[key] = clean or DEFAULT_STAGE_NAMES[key]
    middle = [key for key in names if key not in ("new", *CLOSED_STAGES)]
    if "talking" not in middle:
        middle.insert(0, "talking")
    if "offer" not in middle:
        middle.append("offer")
    while len(middle) > MAX_STAGES - 3:  # too many (edited by hand): the newest own stages go
        middle.remove(max((k for k in middle if k not in STAGE_KEYS), key=lambda k: custom_stage_code(k) or 0))
    return [(key, names.get(key) or DEFAULT_STAGE_NAMES[key]) for key in ("new", *middle, *CLOSED_STAGES)]


def removed_stage_keys(stored: object) -> list[str]:
    """Own stages the creator removed: remembered ({key, removed: true}) so their keys are never given again (a
    card's button from before the removal must not set a lead to a newer stage)."""
    items = stored if isinstance(stored, list) else []
    return [str(item["key"]) for item in items
            if isinstance(item, dict) and item.get("removed") and custom_stage_code(item.get("key"))]


def next_custom_key(stored: object) -> str | None:
    """A key for a new own stage: never one in use or used before; None once the codes are spent."""
    used = [custom_stage_code(key) or 0 for key in [*stage_names(stored), *removed_stage_keys(stored)]]
    code = max([FIRST_CUSTOM_CODE - 1, *used]) + 1
    return f"c{code}" if code <= MAX_CUSTOM_CODE else None


def stored_stages(stages: Iterable[tuple[str, str]], removed: Iterable[str] = ()) -> list[dict[str, Any]]:
    """users.stage_names as written: the whole ordered list (so the order is the stored one), then the keys of
    removed own stages."""
    return [*({"key": key, "name": name} for key, name in stages), *({"key": key, "removed": True} for key in removed)]


def stage_names(stored: object) -> dict[str, str]:
    """Every stage's display name by key, in the creator's order."""
    return dict(stage_list(stored))


def next_stage(order: Iterable[str], stage: str) -> str:
    """The card's one-tap move in the creator's order: the next stage (the last open one moves to won); a closed
    lead reopens at talking."""
    keys = list(order)
    if stage in CLOSED_STAGES:
        return "talking"
    return keys[keys.index(stage) + 1] if stage in keys else "talking"


def normalize_stage_name(raw: str) -> str:
    """A stage name: one line, no invisible characters, at most MAX_STAGE_NAME characters. Empty = invalid."""
    text = visible_text(unicodedata.normalize("NFKC", raw or ""))
    graphemes = _GRAPHEME.findall(_SPACE.sub(" ", text).strip())
    return "".join(graphemes[:MAX_STAGE_NAME]).strip()  # cut between graphemes, never inside an emoji


# ---------------------------------------------------------------- model text shown to the creator
#
# Telegram turns URLs, bare domains, e-mails, @mentions and /commands in a message into taps. Model text is
# written under the influence of strangers' DMs, so a link it invents (or copies from a forged instruction) must
# not become one: everything link-like that did not appear in the conversation itself is defanged.

_LINKISH = re.compile(
    r"(?P<url>(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"']+"
    r"|(?:[\w-]+@)?(?:[\w-]+\.)+[a-z]{2,}(?::\d+)?(?:/[^\s<>\"']*)?)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{2,})"
    r"|(?P<command>(?<![\w/])/[A-Za-z][A-Za-z0-9_]*)",
    re.IGNORECASE,
)


def defang_links(text: str, allowed: str = "") -> str:
    """Neutralise links, @mentions and /commands in `text` unless they appear verbatim in `allowed`
    (the conversation): `evil.com/x` -> `evil[.]com/x`, `@handle` -> `＠handle`, `/cmd` -> `⁄cmd`."""
    seen = allowed.casefold()

    def fix(match: re.Match[str]) -> str:
        token = match.group(0).rstrip(".,;:!?)")
        rest = match.group(0)[len(token):]
        if token.casefold() in seen:
            return token + rest
        if match.group("mention"):
            return "＠" + token[1:] + rest
        if match.group("command"):
            return "⁄" + token[1:] + rest
        bare = re.sub(r"^[a-z][a-z0-9+.-]*://", "", token, flags=re.IGNORECASE)
        return bare.replace("@", "＠").replace(".", "[.]") + rest

    return _LINKISH.sub(fix, text)

# ---------------------------------------------------------------- search

SEARCH_MAX = 2000  # characters of contacts.search_text: name, username, tags, then the newest messages
MIN_FIND = 1
MAX_FIND = 100
# /find at 100k leads (core/db/find.py): matches are counted up to FIND_EXACT_MAX; beyond it ("1,000+") only the
# first FIND_PAGED_MAX in list order can be paged through (the list walks its own index to them: add a word to
# narrow). A query shorter than FIND_INDEXED_MIN characters is below the trigram indexes' reach: it is looked for
# in the first FIND_SHORT_WINDOW leads of the list only (said so).
FIND_EXACT_MAX = 1000
FIND_PAGED_MAX = 100
FIND_INDEXED_MIN = 3
FIND_SHORT_WINDOW = 1000


# ---------------------------------------------------------------- paged lists

MAX_PAGE_DIGITS = 6  # a typed page number (a list's 🔢 jump, /contacts N): 1 to 999,999; longer is not a page


def parse_page(text: object) -> int | None:
    """A page number the creator typed: a whole number from 1 ("7", " 7 "); None for anything else ("#7", "0",
    "-2", "7.5", "٧", 20 digits). Whether the list has that page is the list's call (core/services/paging.py)."""
    raw = str(text or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw.lstrip("0")) > MAX_PAGE_DIGITS:
        return None
    value = int(raw)
    return value if value >= 1 else None


def search_key(text: object) -> str:
    """Accent- and case-insensitive form of text for /find: NFKD without combining marks, casefolded, one space
    between words. Both the stored search_text and the typed query go through it ("Léa" finds "lea")."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf")
    return _SPACE.sub(" ", bare).strip().casefold()

# ---------------------------------------------------------------- the reply-window push
#
# A hot or unsure lead's unanswered message: Instagram lets the creator answer for 24 h after it. When that
# window closes within the creator's N hours (users.window_push_hours), one push says so; 0 is off.
WINDOW_PUSH_HOURS = (2, 4, 8)  # the /settings presets (plus off)
WINDOW_PUSH_OFF = 0
DEFAULT_WINDOW_PUSH_HOURS = 4
WINDOW_PUSH_SENTIMENTS = ("hot", "unsure")  # shown_sentiment values worth a push (closed/shelved leads never)


def window_push_choice(value: object) -> int | None:
    """A window-push setting a button offered (callback data is user input): a preset or off, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value in (*WINDOW_PUSH_HOURS, WINDOW_PUSH_OFF) else None


# ---------------------------------------------------------------- reminders (core/services/reminders.py)

# The card's ⏰ choices, in button order (keys travel in callback data as their index): in 1 h, this evening
# (EVENING_HOUR today, else tomorrow), tomorrow at MORNING_HOUR, in 3 days. A typed time is the fifth choice.
REMINDER_PRESETS = ("1h", "evening", "tomorrow", "3d")
SNOOZE_PRESETS = ("1h", "tomorrow")  # a pushed reminder's ⏰ buttons
MORNING_HOUR = 9  # "tomorrow", a day without a time ("fri"), "morning"
EVENING_HOUR = 19  # "this evening", "tonight"
MAX_REMINDER_AHEAD_DAYS = 365  # further ahead is refused (most likely a typo)
MAX_PENDING_REMINDERS = 200  # open (pending or pushed, not done) reminders of one creator
MAX_REMINDER_TEXT = 60  # characters of a typed time that are read
