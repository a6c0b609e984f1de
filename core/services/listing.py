"""What one contact row shows, in the terminal table and in the bot alike (the same columns)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.db.models import Contact
from core.db.repo import PAGE_SIZE, Page
from core.rules import display_name as rules_display_name
from core.rules import one_line, sentiment_emoji
from core.timeutil import ago, as_utc

SNIPPET = 50
NAME = 40


@dataclass(frozen=True)
class Row:
    """Plain (unescaped) text; each surface escapes for its own medium."""

    contact_id: int
    emoji: str
    name: str
    score: str
    tags: str
    snippet: str
    when: str
    is_new: bool


def display_name(contact: Contact) -> str:
    return rules_display_name(contact.name, contact.username, NAME)


def first_number(page: Page) -> int:
    """The number of a page's first lead: 1 on page 1, 11 on page 2 (the list counts on across pages)."""
    return (page.page - 1) * PAGE_SIZE + 1


def plural(count: int, word: str) -> str:
    """ "1 message", "2 messages", "0 messages"."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def attachment_label(kind: str | None) -> str:
    """How an attachment reads everywhere (list, card, chat): "[video]"."""
    return f"[{one_line(kind, 32)}]" if kind else ""


def last_message_text(contact: Contact, limit: int) -> str:
    """The last message as one line: its text, then its attachment ("[image]"), either may be missing."""
    parts = [one_line(contact.last_message or "", limit), attachment_label(contact.last_message_kind)]
    return " ".join(p for p in parts if p)


def snippet(contact: Contact) -> str:
    text = last_message_text(contact, SNIPPET)
    if text:
        return ("You: " if contact.last_message_from_creator else "") + text
    return "(attachment)" if contact.message_count else "(no messages)"


def row(contact: Contact, now: datetime, last_seen: datetime | None, hot_threshold: int) -> Row:
    return Row(
        contact_id=contact.id,
        emoji=sentiment_emoji(contact.sentiment, contact.lead_score, hot_threshold, contact.stage, contact.shelf),
        name=display_name(contact),
        score="—" if contact.lead_score is None else str(contact.lead_score),
        tags=", ".join(contact.tags or []) or "",
        snippet=snippet(contact),
        when=ago(contact.last_message_at, now),
        is_new=last_seen is not None and as_utc(contact.created_at) > as_utc(last_seen),
    )
