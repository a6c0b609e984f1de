"""What one contact row shows, in the terminal table and in the bot alike (the same columns)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.db.models import Contact
from core.rules import SENTIMENT_EMOJI, clip, one_line
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
    raw = contact.name or (f"@{contact.username}" if contact.username else "") or f"#{contact.instagram_id}"
    return one_line(raw, NAME) or f"#{contact.id}"


def snippet(contact: Contact) -> str:
    text = one_line(contact.last_message or "", SNIPPET)
    if text:
        return ("You: " if contact.last_message_from_creator else "") + text
    return "(attachment)" if contact.message_count else "(no messages)"


def row(contact: Contact, now: datetime, last_seen: datetime | None) -> Row:
    return Row(
        contact_id=contact.id,
        emoji=SENTIMENT_EMOJI.get(contact.sentiment, "·"),
        name=display_name(contact),
        score="—" if contact.lead_score is None else str(contact.lead_score),
        tags=", ".join(contact.tags or []) or "",
        snippet=snippet(contact),
        when=ago(contact.last_message_at, now),
        is_new=last_seen is not None and as_utc(contact.created_at) > as_utc(last_seen),
    )


def clip_snippet(text: str) -> str:
    return clip(text, SNIPPET)
