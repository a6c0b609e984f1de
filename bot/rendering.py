"""Message texts (HTML). The one place the bot turns data into markup: every piece of stranger-written text
goes through aiogram's `html.quote`, and every text is clipped to Telegram's limits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from html import unescape
from html.parser import HTMLParser

from aiogram import html

from core.db.models import Contact, Message, ScoringRun, User
from core.db.repo import ContactQuery, Filter, Page, Sort
from core.rules import SENTIMENT_EMOJI, clip, one_line
from core.services.listing import Row, display_name
from core.timeutil import ago

MAX_TEXT = 4096
CHAT_PAGE = 8
CHAT_MESSAGE_CHARS = 400  # 8 × 400 stays well under 4096 with headers
NOT_FOUND = "Not found: this contact is gone or the button is out of date."
FILTER_LABEL = {Filter.hot: "🔥 hot only", Filter.high: "score ≥ 70", Filter.unscored: "unscored"}


def q(text: object) -> str:
    """Escape any untrusted text for HTML parse mode."""
    return html.quote(str(text))


# Our HTML: tags we write ourselves, entities from html.quote, and escaped text in between.
_MARKUP = re.compile(r"(<[^>]*>|&(?:[a-zA-Z]+|#[0-9]+|#[xX][0-9a-fA-F]+);)")


def _width(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji outside the BMP is 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def fit(text: str, limit: int = MAX_TEXT) -> str:
    """Clip HTML to `limit` characters *as Telegram shows them*.

    Telegram's limit applies to the text after entity parsing, and escaping can make the HTML source several
    times longer than that (every "&" is "&amp;"): count visible characters, never cut inside a tag or an
    entity, and close the tags still open where the text is cut."""
    parts = [part for part in _MARKUP.split(text) if part]
    if sum(_width(unescape(p)) for p in parts if not p.startswith("<")) <= limit:
        return text
    out: list[str] = []
    opened: list[str] = []
    room = limit - 1  # for the ellipsis
    for part in parts:
        if part.startswith("<"):
            name = (part.strip("</>").split(maxsplit=1) or [""])[0].lower()
            if part.startswith("</"):
                if opened and opened[-1] == name:
                    opened.pop()
            elif not part.endswith("/>"):
                opened.append(name)
            out.append(part)
            continue
        width = _width(unescape(part))
        if width <= room:
            out.append(part)
            room -= width
            continue
        if not part.startswith("&"):  # plain text is cut; an entity (one character) either fits or not
            kept = 0
            for n, ch in enumerate(part):
                kept += 2 if ord(ch) > 0xFFFF else 1
                if kept > room:
                    out.append(part[:n].rstrip())
                    break
        break
    return "".join(out) + "…" + "".join(f"</{name}>" for name in reversed(opened))


# ---------------------------------------------------------------- contacts list


def list_text(page: Page, rows: Sequence[Row], query: ContactQuery) -> str:
    parts = [f"📇 <b>Contacts</b> · {page.total}"]
    if query.filter is Filter.tag and query.tag:
        parts.append(f"🏷 {q(query.tag)}")
    elif query.filter in FILTER_LABEL:
        parts.append(FILTER_LABEL[query.filter])
    parts.append("by score" if query.sort is Sort.score else "newest first")
    lines = [" · ".join(parts), ""]
    for n, row in enumerate(rows, 1):
        new = " 🆕" if row.is_new else ""
        lines.append(f"{n}. {row.emoji} <b>{q(row.name)}</b> · {q(row.score)}{new}")
        detail = [f"🏷 {q(row.tags)}"] if row.tags else []
        detail.append(f"“{q(row.snippet)}”")
        detail.append(row.when)
        lines.append("    " + " · ".join(detail))
    if not rows:
        lines.append(_empty_hint(query))
    return fit("\n".join(lines))


def _empty_hint(query: ContactQuery) -> str:
    if query.filter is not Filter.all:
        return "Nobody matches this filter."
    return "No contacts yet. /sync pulls your Instagram DMs (or try the demo from /start)."


# ---------------------------------------------------------------- contact card


def card_text(contact: Contact, now: datetime) -> str:
    handle = f" · @{q(one_line(contact.username, 40))}" if contact.username else ""
    emoji = SENTIMENT_EMOJI.get(contact.sentiment, "·")
    lines = [f"{emoji} <b>{q(display_name(contact))}</b>{handle}"]
    lines.append(_score_line(contact))
    if contact.tags:
        mark = " ✍️" if contact.tags_source == "manual" else ""
        lines.append(f"🏷 {q(', '.join(contact.tags))}{mark}")
    if contact.score_reason:
        lines.append(f"💡 <i>{q(one_line(contact.score_reason))}</i>")
    if contact.next_action:
        lines.append(f"➡️ {q(one_line(contact.next_action))}")
    if contact.last_message:
        lines.append(f"💬 “{q(one_line(contact.last_message, 300))}”")
    lines.append(f"🕒 last message {ago(contact.last_message_at, now)} · {contact.message_count} messages")
    return fit("\n".join(lines))


def _score_line(contact: Contact) -> str:
    if contact.lead_score is None:
        return "🎯 not scored yet"
    source = "set by you" if contact.score_source == "manual" else f"AI ({q(contact.scored_by or 'model')})"
    sentiment = f" · {contact.sentiment}" if contact.sentiment else ""
    return f"🎯 <b>{contact.lead_score}</b>/100{sentiment} · {source}"


def chat_text(contact: Contact, messages: Sequence[Message], page: int, pages: int, now: datetime) -> str:
    """One page of the conversation, oldest first on the page (newest last)."""
    head = f"💬 <b>{q(display_name(contact))}</b> · page {page}/{pages}"
    lines = [head, ""]
    for msg in messages:
        who = "You" if msg.from_creator else q(clip(display_name(contact), 24))
        parts = [q(one_line(msg.text, CHAT_MESSAGE_CHARS))] if msg.text else []
        if msg.attachment_kind:
            parts.append(f"[{q(msg.attachment_kind)}]")
        lines.append(f"<b>{who}</b> · {ago(msg.created_at, now)}\n{' '.join(parts) or '(empty)'}")
    if not messages:
        lines.append("No messages synced for this contact.")
    return fit("\n".join(lines))


def tags_text(contact: Contact) -> str:
    current = q(", ".join(contact.tags)) if contact.tags else "none"
    return (f"🏷 <b>Tags for {q(display_name(contact))}</b>\nNow: {current}\n\n"
            "Tap a tag to add or remove it (saved at once), or ➕ for a new one.")


def new_tag_prompt(contact: Contact) -> str:
    return f"🏷 #{contact.id} · reply with a new tag for {q(display_name(contact))} (up to 24 characters)"


def score_text(contact: Contact) -> str:
    now = "not scored" if contact.lead_score is None else f"{contact.lead_score}/100"
    return (f"🎯 <b>Score for {q(display_name(contact))}</b>\nNow: {now}\n\n"
            "Pick a score, or ⌨️ to type one (0–100). Your score is kept: AI never overwrites it.")


def score_prompt(contact: Contact) -> str:
    return f"🎯 #{contact.id} · reply with a score from 0 to 100 for {q(display_name(contact))}"


# ---------------------------------------------------------------- scoring runs


def progress_text(run: ScoringRun) -> str:
    finished = run.done + run.failed + run.skipped
    failed = f" · {run.failed} failed" if run.failed else ""
    return f"⏳ {finished}/{run.total} scored{failed}"


def summary_text(run: ScoringRun, hot: Sequence[Contact]) -> str:
    lines = ["✅ <b>Scoring finished</b>" if not run.failed else "⚠️ <b>Scoring finished with failures</b>"]
    lines.append(f"{run.done} scored · {run.failed} failed · {run.skipped} skipped")
    lines.append(f"🔥 {run.hot_found} new hot lead{'s' if run.hot_found != 1 else ''}")
    lines.append(f"🔢 tokens used: {run.tokens_in} in / {run.tokens_out} out")
    if run.total == 0:
        lines = ["✅ Everyone is already scored: nothing new since the last run."]
    if run.failed and run.last_error:
        lines.append(f"Last error: {q(one_line(run.last_error, 200))}")
    if hot:
        lines.append("\nNew hot leads:")
    return "\n".join(lines)


# ---------------------------------------------------------------- sync

STOPPED = {
    "expired": "your Instagram access expired or was revoked. Send /connect to reconnect (nothing was deleted).",
    "not_connected": "no Instagram account is connected. Send /connect, or try the demo from /start.",
    "permission": "Instagram refused access to your messages. Reconnect with /connect and allow messages.",
    "rate_limited": "Instagram asked us to slow down. Leadgram will try again shortly.",
    "backoff": "Instagram asked us to slow down. Leadgram will try again shortly.",
    "unavailable": "Instagram is not answering right now. Leadgram will try again shortly.",
}


def sync_text(intro: str, result: dict[str, object]) -> str:
    stopped = result.get("stopped") or result.get("skipped")
    if stopped:
        why = STOPPED.get(str(stopped), f"it stopped ({q(stopped)}).")
        return f"⚠️ {intro} stopped: {why}"
    new, updated = int(str(result.get("new_contacts", 0))), int(str(result.get("updated_contacts", 0)))
    lines = [f"✅ {intro} done: {new} new contact{'s' if new != 1 else ''}, {updated} updated."]
    if result.get("run_id"):
        lines.append("🎯 Scoring the new messages now; hot leads will be pushed to you.")
    lines.append("See them: /contacts")
    return "\n".join(lines)


# ---------------------------------------------------------------- comparing with what is on screen


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain(html_text: str) -> str:
    """What Telegram shows for our HTML (tags dropped, entities decoded, outer whitespace trimmed)."""
    parser = _Text()
    parser.feed(html_text)
    parser.close()
    return "".join(parser.parts).strip()


def who_line(user: User) -> str:
    return f"niche: {q(user.niche or '—')} · goal: {q(user.goal or '—')}"
