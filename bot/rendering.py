"""Message texts (HTML). The one place the bot turns data into markup: every piece of stranger-written text
goes through aiogram's `html.quote`, and every text is clipped to Telegram's limits."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from typing import TypeVar
from urllib.parse import quote, unquote

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import MessageEntity

from bot.callbacks import ContactCb, ListCb, StageCb
from core.clients.instagram import MAX_TEXT_BYTES
from core.db.models import Contact, Message, Note, Reply, SavedReply, ScoringRun, User
from core.db.repo import PAGE_SIZE, ContactQuery, Filter, Page, Sort
from core.rules import (
    CLOSED_STAGES,
    FIND_INDEXED_MIN,
    MAX_NOTE,
    MAX_PENDING_REMINDERS,
    MAX_REMINDER_AHEAD_DAYS,
    MAX_STAGE_NAME,
    MAX_STAGES,
    MAX_TAG_LEN,
    SENTIMENT_EMOJI,
    STAGE_KEYS,
    clip,
    one_line,
    sentiment_emoji,
    shown_sentiment,
    stage_emoji,
)
from core.services.account import Deleted, Disconnect, Disconnected
from core.services.listing import Row, attachment_label, display_name, first_number, last_message_text, plural
from core.services.paging import Beyond, Jumped
from core.services.reminders import ReminderClosed, ReminderRefused, ReminderSet, RemindersPage
from core.services.reply import MAX_DRAFT_CHARS, Outcome, Window, WindowKind, byte_size
from core.services.reply import Refused as ReplyRefused
from core.services.stages import StageAdded, StageRefused, StageRemoval, StageRenamed
from core.services.stats import Row as StatRow
from core.services.stats import Stats
from core.timeutil import ago

MAX_TEXT = 4096
CAPTION_MAX = 1024  # a photo's caption
CHAT_MESSAGE_CHARS = 400  # 8 × 400 stays well under 4096 with headers
NOT_FOUND = "Not found: this contact is gone or the button is out of date."
FILTER_LABEL = {Filter.hot: "🔥 hot only", Filter.high: "score ≥ 70", Filter.unscored: "unscored",
                Filter.spam: "🚫 spam", Filter.archived: "🗄 archived"}


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


def list_text(page: Page, rows: Sequence[Row], query: ContactQuery, names: Mapping[str, str]) -> str:
    parts = [f"📇 <b>Contacts</b> · {page.total:,}{'+' if page.more else ''}"]
    if query.filter is Filter.tag and query.tag:
        parts.append(f"🏷 {q(query.tag)}")
    elif query.filter is Filter.stage and query.stage:
        parts.append(f"🏁 {q(names.get(query.stage, query.stage))}")
    elif query.filter is Filter.search and query.text:
        parts.append(f"🔎 “{q(query.text)}”")
    elif query.filter in FILTER_LABEL:
        parts.append(FILTER_LABEL[query.filter])
    parts.append("by score" if query.sort is Sort.score else "newest first")
    lines = [" · ".join(parts), *_find_notes(page, query), ""]
    for n, row in enumerate(rows, first_number(page)):  # page 2 numbers its leads 11-20
        new = " 🆕" if row.is_new else ""
        lines.append(f"{n}. {row.emoji} <b>{q(row.name)}</b> · {q(row.score)}{new}")
        detail = [f"🏷 {q(row.tags)}"] if row.tags else []
        detail.append(f"“{q(row.snippet)}”")
        detail.append(row.when)
        lines.append("    " + " · ".join(detail))
    if not rows:
        lines.append(_empty_hint(query))
    return fit("\n".join(lines))


def _find_notes(page: Page, query: ContactQuery) -> list[str]:
    """What a /find page left out, said where the results are (core/db/find.py)."""
    order = "best score first" if query.sort is Sort.score else "newest message first"
    if page.more:
        return [f"More than {page.total:,} leads match: the first {page.pages * PAGE_SIZE} ({order}) can be "
                "paged. Add a word to narrow it."]
    if page.window:
        return [f"A search of 1–2 letters looks only at the first {page.window:,} leads of your list ({order}): type "
                f"{FIND_INDEXED_MIN} or more to search everyone."]
    return []


def jump_notice(jumped: Jumped) -> str | None:
    """Why the page shown is not the page typed (None when it is)."""
    page = jumped.shown.page
    if jumped.beyond is Beyond.FIND_CAP:
        return (f"Only the first {page.pages} pages of a search with more than {page.total:,} matches can be shown: "
                f"here is page {page.page}. Add a word to narrow it.")
    if jumped.beyond is Beyond.LAST:
        return (f"There {'is' if page.pages == 1 else 'are'} {plural(page.pages, 'page')}: page {jumped.asked} is "
                f"out of range, here is page {page.page}.")
    return None


def _empty_hint(query: ContactQuery) -> str:
    if query.filter is Filter.search:
        return "Nobody matches. /find looks in names, @usernames, tags and messages (accents and case ignored)."
    if query.filter in (Filter.spam, Filter.archived):
        return "Nothing here. 🚫 Spam and 🗄 Archive on a contact's card move it here; undo from the same place."
    if query.filter is not Filter.all:
        return "Nobody matches this filter."
    return "No contacts yet. /sync pulls your Instagram DMs (or try the demo from /start)."


# ---------------------------------------------------------------- contact card


def card_text(contact: Contact, now: datetime, hot_threshold: int, names: Mapping[str, str],
              window: Window | None = None, reminder: tuple[datetime, bool] | None = None) -> str:
    """`reminder`: the soonest open reminder, in the creator's time, and whether it is due."""
    # The @handle beside a display name; without a name the title already is the @handle.
    handle = f" · @{q(one_line(contact.username, 40))}" if contact.username and contact.name else ""
    emoji = sentiment_emoji(contact.sentiment, contact.lead_score, hot_threshold, contact.stage, contact.shelf)
    lines = [f"{emoji} <b>{q(display_name(contact))}</b>{handle}"]
    if contact.shelf:
        lines.append(SHELF_NOTE[contact.shelf])
    elif contact.spam_suggested:
        lines.append("⚠️ This looks like spam or a scam. 🚫 Spam moves it out of your list (nothing is sent).")
    lines.append(_score_line(contact, hot_threshold))
    lines.append(_stage_line(contact, names))
    if reminder is not None:
        lines.append(f"⏰ Reminder{' due' if reminder[1] else ''}: {when_text(reminder[0])} · /reminders")
    if contact.last_note:
        more = f" · {plural(contact.note_count, 'note')}" if contact.note_count > 1 else ""
        lines.append(f"📝 {ago(contact.last_note_at, now)}{more}: {q(one_line(contact.last_note, 160))}")
    if contact.tags:
        mark = " ✍️" if contact.tags_source == "manual" else ""
        lines.append(f"🏷 {q(', '.join(contact.tags))}{mark}")
    by = machine_label(contact.scored_by)
    if contact.score_reason:
        lines.append(f"💡 {by}: <i>{q(one_line(contact.score_reason))}</i>")
    if contact.next_action:
        lines.append(f"➡️ {by} suggests: {q(one_line(contact.next_action))}")
    last = last_message_text(contact, 300)
    if last:
        lines.append(f"💬 “{q(last)}”")
    lines.append(f"🕒 last message {ago(contact.last_message_at, now)} · {plural(contact.message_count, 'message')}")
    if window is not None:
        lines.append(f"✍️ {window_text(window)}")
    return fit("\n".join(lines))


SHELF_NOTE = {"spam": "🚫 In spam: out of your list, /hot, alerts and scoring.",
              "archived": "🗄 Archived: out of your list, /hot, alerts and scoring."}


def _stage_line(contact: Contact, names: Mapping[str, str]) -> str:
    stage = contact.stage if contact.stage in names else "new"
    source = " · set by you" if contact.stage_source == "manual" else (" · AI" if contact.stage_source else "")
    closed = " (closed: not in 🔥 hot)" if stage in CLOSED_STAGES else ""
    return f"🏁 {stage_emoji(stage)} {q(names.get(stage, stage))}{source}{closed}"


def stage_picker_text(contact: Contact, names: Mapping[str, str]) -> str:
    ai = f"\nAI suggests: {q(names.get(contact.ai_stage, contact.ai_stage))}" if contact.ai_stage else ""
    return (f"🏁 <b>Stage for {q(display_name(contact))}</b>\n{_stage_line(contact, names)}{ai}\n\n"
            "Tap a stage to set it. A stage you set is kept: AI never changes it. Won and lost leave 🔥 hot "
            "and alerts; any other stage reopens the lead.")


def stages_text(names: Mapping[str, str], note: str = "") -> str:
    order = " → ".join(f"{stage_emoji(k)} {q(name)}" for k, name in names.items())
    own = len(names) - len(STAGE_KEYS)
    room = (f"➕ adds your own stage after one you pick ({MAX_STAGES - len(names)} more possible)"
            if len(names) < MAX_STAGES else f"You have {MAX_STAGES} stages, the most there can be")
    head = f"{note}\n\n" if note else ""
    return (f"{head}🏁 <b>Your stages</b>\n{order}\n\n"
            f"New comes first; won and lost close a lead. ✏️ renames a stage (up to {MAX_STAGE_NAME} characters). "
            f"{room}. 🗑 removes one of yours{'' if own else ' (none yet)'}: its leads move to the stage before it.")


def stage_places_text(names: Mapping[str, str]) -> str:
    return (f"➕ <b>New stage</b>: after which stage? (Stages stay in the order you add them.)\n"
            f"{' → '.join(q(name) for name in names.values())}")


def stage_name_prompt(action: StageCb, name: str) -> str:
    """A ForceReply prompt for a stage name; the stage it is about rides in the hidden anchor."""
    if action.a == "add":
        return f"{prompt_anchor(action)}🏁 New stage after “{q(name)}” · reply with its name"
    return f"{prompt_anchor(action)}🏁 Stage “{q(name)}” · reply with a new name"


def stage_removal_text(plan: StageRemoval) -> str:
    leads = (f"Its {plural(plan.leads, 'lead')} move to “{q(plan.to_name)}”, the stage before it (set by you)."
             if plan.leads else "No lead is in it.")
    return f"🗑 <b>Remove the stage “{q(plan.name)}”?</b>\n{leads}"


def stage_removed(done: StageRemoval) -> str:
    moved = f"; {plural(done.leads, 'lead')} moved to “{q(done.to_name)}”" if done.leads else ""
    return f"✅ Removed “{q(done.name)}”{moved}."


def stage_changed(done: StageAdded | StageRenamed) -> str:
    if isinstance(done, StageAdded):
        return f"✅ Added <b>{q(done.name)}</b>."
    return f"✅ Renamed to <b>{q(done.name)}</b>."


STAGE_REFUSED = {
    StageRefused.NOT_FOUND: NOT_FOUND,
    StageRefused.UNKNOWN_STAGE: "That stage does not exist (the button is out of date).",
    StageRefused.EMPTY_NAME: f"❌ A stage name needs a letter or digit (up to {MAX_STAGE_NAME} characters).",
    StageRefused.NAME_TAKEN: "❌ Another stage already has that name.",
    StageRefused.TOO_MANY: f"❌ You already have {MAX_STAGES} stages, the most there can be. Remove one of yours "
                           "first (🗑 in /stages).",
    StageRefused.BUILT_IN: "The five built-in stages stay; you can rename them.",
    StageRefused.BAD_PLACE: "A new stage goes before won and lost.",
}


STAGE_RETRY = {"prompt": " Nothing changed: reply to the prompt again.",
               "command": " Nothing added: /stages add &lt;name&gt;, or ➕ in /stages."}


def stage_refusal(refused: StageRefused, typed: str = "") -> str:
    """Why nothing changed; `typed` ("prompt" | "command"): how a refused typed name can be typed again."""
    again = STAGE_RETRY.get(typed, "") if refused in (StageRefused.EMPTY_NAME, StageRefused.NAME_TAKEN) else ""
    return STAGE_REFUSED[refused] + again


def machine_label(scored_by: str | None) -> str:
    """Who wrote a reason / next move: the model (untrusted, DM-influenced text) or the offline rules."""
    return "🤖 rules" if scored_by == "offline" else "🤖 AI"


def _score_line(contact: Contact, hot_threshold: int) -> str:
    if contact.lead_score is None:
        return "🎯 not scored yet"
    source = "set by you" if contact.score_source == "manual" else f"AI ({q(contact.scored_by or 'model')})"
    shown = shown_sentiment(contact.sentiment, contact.lead_score, hot_threshold, contact.stage, contact.shelf)
    sentiment = f" · {shown}" if shown else ""
    return f"🎯 <b>{contact.lead_score}</b>/100{sentiment} · {source}"


def chat_text(contact: Contact, messages: Sequence[Message], page: int, pages: int, now: datetime) -> str:
    """One page of the conversation, oldest first on the page (newest last)."""
    head = f"💬 <b>{q(display_name(contact))}</b> · page {page}/{pages}"
    lines = [head, ""]
    for msg in messages:
        who = "You" if msg.from_creator else q(clip(display_name(contact), 24))
        parts = [q(one_line(msg.text, CHAT_MESSAGE_CHARS))] if msg.text else []
        if msg.attachment_kind:
            parts.append(q(attachment_label(msg.attachment_kind)))
        lines.append(f"<b>{who}</b> · {ago(msg.created_at, now)}\n{' '.join(parts) or '(empty)'}")
    if not messages:
        lines.append("No messages synced for this contact.")
    return fit("\n".join(lines))


def tags_text(contact: Contact) -> str:
    current = q(", ".join(contact.tags)) if contact.tags else "none"
    return (f"🏷 <b>Tags for {q(display_name(contact))}</b>\nNow: {current}\n\n"
            "Tap a tag to add or remove it (saved at once), or ➕ for a new one.")


# A ForceReply prompt is answered on any replica, so it carries what it is about itself, out of sight: a link on
# an invisible character whose URL holds the card action (contact id and list position). Telegram hands the
# prompt's entities back with the reply; the creator reads no internal id.
ANCHOR_URL = "https://leadgram.invalid/prompt?c="
ANCHOR_TEXT = "\u200b"
CbT = TypeVar("CbT", bound=CallbackData)


def prompt_anchor(action: CallbackData) -> str:
    return f'<a href="{ANCHOR_URL}{quote(action.pack(), safe="")}">{ANCHOR_TEXT}</a>'


def anchored(entities: Sequence[MessageEntity], kind: type[CbT]) -> CbT | None:
    """The `kind` callback data of a prompt's anchor; None when there is none or it does not parse (user input)."""
    for entity in entities:
        url = entity.url or ""
        if entity.type == "text_link" and url.startswith(ANCHOR_URL):
            try:
                return kind.unpack(unquote(url.removeprefix(ANCHOR_URL)))
            except (TypeError, ValueError):
                return None
    return None


def anchored_action(entities: Sequence[MessageEntity]) -> ContactCb | None:
    return anchored(entities, ContactCb)


def page_prompt(pages: int, where: ListCb) -> str:
    return f"{prompt_anchor(where)}📇 reply with a page number from 1 to {pages}"


def new_tag_prompt(contact: Contact, action: ContactCb) -> str:
    return (f"{prompt_anchor(action)}🏷 reply with a new tag for {q(display_name(contact))} "
            f"(up to {MAX_TAG_LEN} characters)")


def score_text(contact: Contact) -> str:
    now = "not scored" if contact.lead_score is None else f"{contact.lead_score}/100"
    return (f"🎯 <b>Score for {q(display_name(contact))}</b>\nNow: {now}\n\n"
            "Pick a score, or ⌨️ to type one (0–100). Your score is kept: AI never overwrites it.")


def score_prompt(contact: Contact, action: ContactCb) -> str:
    return f"{prompt_anchor(action)}🎯 reply with a score from 0 to 100 for {q(display_name(contact))}"


# ---------------------------------------------------------------- scoring runs


def progress_text(run: ScoringRun) -> str:
    """Honest counts: processed = scored + failed + unchanged ("42/120 processed · 0 scored · 42 failed")."""
    finished = run.done + run.failed + run.skipped
    failed = f" · {run.failed} failed" if run.failed else ""
    skipped = f" · {run.skipped} unchanged" if run.skipped else ""
    return f"⏳ {finished}/{run.total} processed · {run.done} scored{failed}{skipped}"


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


def rescore_all_confirm_text(count: int) -> str:
    return (f"♻️ <b>Rescore all {count} contacts?</b>\nEach one is scored again from its messages "
            f"({'one model call' if count == 1 else f'{count} model calls'}). Scores and tags you set yourself "
            "are kept.")


def rescore_suggestion(what: str, count: int) -> str:
    return (f"💡 Your {what} changed, and the {count} scores so far were made for the old one. Rescore everyone "
            "so the scores fit?")


# ---------------------------------------------------------------- export

def export_caption(count: int, filename: str, n: int, of: int, full: bool = False) -> str:
    columns = "every stored column" if full else "newest first; /export full adds every stored column"
    what = f"📤 {count} contact{'s' if count != 1 else ''}, {columns}"
    if of > 1:
        return f"{what} · part {n} of {of} (too big for one Telegram file; each part has the header row)."
    return f"{what}, zipped (too big for Telegram as a plain CSV)." if filename.endswith(".zip") else f"{what}."


def export_failed(n: int, of: int, reason: str) -> str:
    part = f" (part {n} of {of})" if of > 1 else ""
    return f"⚠️ The export could not be sent{part}: Telegram said “{q(one_line(reason, 200))}”. Try /export again."


# ---------------------------------------------------------------- sync

STOPPED = {
    "expired": "your Instagram access expired or was revoked. Send /connect to reconnect (nothing was deleted).",
    "not_connected": "no Instagram account is connected. Send /connect, or try the demo from /start.",
    "unreadable": ("this server can no longer read your stored Instagram token (its SECRET_KEY changed). "
                   "Send /connect to reconnect (nothing was deleted)."),
    "permission": "Instagram refused access to your messages. Reconnect with /connect and allow messages.",
    "rate_limited": "Instagram asked us to slow down. Leadgram will try again shortly.",
    "backoff": "Instagram asked us to slow down. Leadgram will try again shortly.",
    "unavailable": "Instagram is not answering right now. Leadgram will try again shortly.",
}


def sync_running(started_at: datetime) -> str:
    """/sync while the last one is still in flight (its message will show what it found)."""
    return (f"⏳ A sync is already running, started {started_at:%H:%M}. Its message above will show what it "
            "found; send /sync again once it is done.")


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


# ---------------------------------------------------------------- notes

NOTE_CHARS_SHOWN = 600  # 5 notes a page x 600 stays well under 4096


def notes_text(contact: Contact, notes: Sequence[Note], first: int, page: int, pages: int, total: int,
               now: datetime) -> str:
    lines = [f"📝 <b>Notes on {q(display_name(contact))}</b> · {total} · page {page}/{pages}", ""]
    for n, note in enumerate(notes, first):
        edited = " · edited" if note.edited_at else ""
        lines.append(f"<b>{n}.</b> {ago(note.created_at, now)}{edited}\n{q(clip(note.text, NOTE_CHARS_SHOWN))}")
    if not notes:
        lines.append("No notes yet. ➕ adds one: only you see them; the AI reads them as your context.")
    return fit("\n".join(lines))


def note_prompt(contact: Contact, action: ContactCb) -> str:
    return f"{prompt_anchor(action)}📝 reply with a note for {q(display_name(contact))} (up to {MAX_NOTE} characters)"


def note_edit_prompt(contact: Contact, note: Note, action: ContactCb) -> str:
    return (f"{prompt_anchor(action)}✏️ reply with the new text for this note on {q(display_name(contact))}:\n"
            f"{q(clip(note.text, 1000))}")


def note_delete_text(note: Note, now: datetime) -> str:
    return f"🗑 Delete this note from {ago(note.created_at, now)}?\n\n{q(clip(note.text, NOTE_CHARS_SHOWN))}"


# ---------------------------------------------------------------- the creator's data

DELETE_ASK = ("🗑 <b>Delete all your data?</b>\n"
              "This deletes your contacts, their messages, your notes, reminders, scoring runs, alerts, your stored "
              "Instagram token and your settings, from this bot's database. It cannot be undone.\n\n"
              "Want a copy first? Send /export before you confirm.")
NOTHING_DELETED = "Nothing was deleted."


def deleted(d: Deleted) -> str:
    token = "your stored Instagram token, " if d.token else ""
    return (f"🗑 Deleted: {d.contacts} contacts, {d.messages} messages, {d.notes} notes, {d.reminders} reminders, "
            f"{d.runs} scoring runs, {d.alerts} alerts, {token}and your settings. Leadgram keeps nothing about you "
            "now; /start begins again from scratch.")


def disconnected(d: Disconnected) -> str:
    if d.outcome is Disconnect.NOTHING:
        return "No Instagram account is connected: nothing to disconnect."
    token = " Your stored token was deleted." if d.had_token else ""
    return (f"🔌 Disconnected {q(d.account or 'Instagram')}: syncing stopped.{token} Your contacts and scores are "
            "still here (/delete_my_data removes them). /connect or /demo to connect again.")


def demo_confirm(account: str) -> str:
    return (f"⚠️ You are connected to {q(account)}. The demo would <b>replace</b> it: syncing stops, its stored "
            "token is deleted and its leads are removed from Leadgram, so demo and real leads never mix.\n"
            "Want a copy of your leads first? Send /export.")


def demo_kept(account: str) -> str:
    return f"Kept {q(account)}. Nothing changed."


def demo_replaced(removed: int) -> str:
    return f"Replaced with the demo ({removed} real lead{'s' if removed != 1 else ''} removed)"


FIND_PROMPT = "🔎 Find · reply with a name, @username, tag or words from the chat"


# ---------------------------------------------------------------- /stats

STATS_BAR = 10  # characters of the longest bar


def stats_text(st: Stats) -> str:
    """Counts as text with small bars: a dozen numbers read faster than a picture, in any client and the console."""
    shelves = " · ".join(f"{emoji} {st.shelves.get(key, 0)} {key}" for key, emoji in (("spam", "🚫"),
                                                                                        ("archived", "🗄")))
    lines = [f"📊 <b>Your leads</b> · {st.total} in the list · {shelves}", "",
             "<b>🏁 By stage</b> · now · entered this week (last week)"]
    lines += _stat_rows(st.stages, lambda r: stage_emoji(r.key))
    lines += ["", "<b>By sentiment</b> · now · wrote this week (last week)"]
    lines += _stat_rows(st.sentiments, lambda r: SENTIMENT_EMOJI.get(r.key, "·"))
    lines += ["", "Weeks are the last 7 days and the 7 before. Won, lost, spam and archived leads are never 🔥."]
    return fit("\n".join(lines))


def stats_chart_caption(st: Stats) -> str:
    """What each numbered bar of the chart is (names the chart's font may not draw: any script, emoji)."""
    stages = " · ".join(f"{n} {q(r.label)}" for n, r in enumerate(st.stages, 1))
    sentiments = " · ".join(f"{n} {q(r.label)}" for n, r in enumerate(st.sentiments, 1))
    return fit(f"📈 This week against last week.\n1. Stages: {stages}\n2. Sentiments: {sentiments}", CAPTION_MAX)


def _stat_rows(rows: Sequence[StatRow], emoji: Callable[[StatRow], str]) -> list[str]:
    top = max((r.now for r in rows), default=0) or 1
    out = []
    for r in rows:
        bar = "▇" * round(STATS_BAR * r.now / top) if r.now else ""
        trend = "↑" if r.this_week > r.last_week else ("↓" if r.this_week < r.last_week else "=")
        out.append(f"{emoji(r)} {q(r.label)} · <b>{r.now}</b> · {r.this_week} ({r.last_week}) {trend} {bar}")
    return out


# ---------------------------------------------------------------- replying


def _left(remaining: timedelta, days: bool = False) -> str:
    hours = int(remaining.total_seconds() // 3600)
    if days and remaining >= timedelta(days=2):
        return f"{remaining.days} more days"
    if hours >= 1:
        return f"{hours} h more"
    return f"{max(1, int(remaining.total_seconds() // 60))} min more"


def window_text(window: Window) -> str:
    """Instagram's reply window in words (the Send button follows the same Window)."""
    if window.kind is WindowKind.open:
        return f"you can reply for {_left(window.remaining)}"
    if window.kind is WindowKind.personal:
        return f"only as a personal reply for {_left(window.remaining, days=True)}"
    if window.kind is WindowKind.unavailable:
        return "closed: Instagram says this person can't receive messages (until they write again)"
    return "closed: they must write first"


def reply_prompt(contact: Contact, action: ContactCb) -> str:
    return (f"{prompt_anchor(action)}✍️ reply with your message to {q(display_name(contact))} "
            "(you'll see it before it's sent)")


def edit_prompt(contact: Contact, action: ContactCb) -> str:
    """`action.v` is the draft (reply id) the answer replaces."""
    return f"{prompt_anchor(action)}✍️ reply with the new text of your draft to {q(display_name(contact))}"


OUTCOME_TEXT = {
    Outcome.window_closed: "Not sent: Instagram only lets you reply within 24 h of their last message. "
                           "They must write first.",
    Outcome.outside_window: "Not sent: Instagram says this is outside the allowed reply window "
                            "(24 h after their last message). They must write first.",
    Outcome.unavailable: "Not sent: Instagram says this person isn't available (they may have blocked or "
                         "deleted the account). The contact is marked.",
    Outcome.token: "Not sent: your Instagram access expired or was revoked. Send /connect to reconnect; "
                   "syncing is paused until then (nothing was deleted).",
    Outcome.permission: "Not sent: Instagram refused: the app lacks the messaging permission. Reconnect with "
                        "/connect and allow messages.",
    Outcome.not_connected: "Not sent: no Instagram account is connected. Send /connect first.",
    Outcome.unconfirmed: "Not sent: Instagram did not answer and the message is not in the conversation. "
                         "Press Send to try again.",
    Outcome.rate_limited: "Not sent: Instagram kept asking us to slow down. Try again in a few minutes.",
    Outcome.failed: "Not sent: Instagram could not take it right now. Press Send to try again.",
}


def draft_text(reply: Reply, contact: Contact, window: Window, now: datetime) -> str:
    """The draft as it will be sent, with where it stands (sent, being sent, or why not)."""
    who = q(display_name(contact))
    size = byte_size(reply.text)
    if reply.status == "sent":
        head = f"✅ <b>Sent to {who}</b> · {ago(reply.sent_at, now)}"
    elif reply.status == "cancelled":
        return f"✖️ Draft to {who} discarded."
    elif reply.status in ("retrying", "unknown", "sending"):
        head = f"⏳ <b>Sending to {who}</b>… Instagram asked us to wait; it is retried automatically." \
            if reply.status == "retrying" else f"⏳ <b>Sending to {who}</b>…"
    else:
        head = f"📝 <b>Draft to {who}</b> · nothing is sent until you press Send"
    lines = [head, "", q(reply.text), ""]
    if reply.status == "draft":
        if size > MAX_TEXT_BYTES:
            lines.append(f"⚠️ {size} bytes: Instagram takes at most {MAX_TEXT_BYTES}. Edit it to "
                         f"{size - MAX_TEXT_BYTES} bytes shorter.")
        if reply.error and reply.error in OUTCOME_TEXT:
            lines.append(f"❌ {OUTCOME_TEXT[Outcome(reply.error)]}")
        lines.append(f"✍️ {window_text(window)} · {size}/{MAX_TEXT_BYTES} bytes")
    return fit("\n".join(lines))


def saved_list_text(saved: Sequence[SavedReply], link: str | None) -> str:
    lines = ["💾 <b>Saved replies</b>", "Variables: {first_name}, {username}, {link}"
             + (f" (your link: {q(link)})" if link else " (set your link in /settings)"), ""]
    for n, item in enumerate(saved, 1):
        lines.append(f"{n}. {q(one_line(item.text, 200))}")
    if not saved:
        lines.append("None yet. ➕ adds one; pick them from a contact's card with 💾.")
    return fit("\n".join(lines))


def window_push_line(hours: int) -> str:
    """/settings: when a hot or unsure lead's unanswered message gets its "reply before it closes" push."""
    return f"{hours} h before Instagram's 24 h reply window closes" if hours else "off"


# ---------------------------------------------------------------- ⏰ reminders

TIME_EXAMPLES = "“fri 10:00”, “2d”, “3h”, “tomorrow 18:30” or “dec 3 9:00”"
REMINDER_REFUSED = {
    ReminderRefused.UNREADABLE: f"❌ I couldn't read that time. Try e.g. {TIME_EXAMPLES}. Nothing saved: reply to "
                                "the prompt again.",
    ReminderRefused.PAST: "❌ That time has already passed. Nothing saved: reply to the prompt again with a time "
                          "in the future.",
    ReminderRefused.TOO_FAR: f"❌ That is more than {MAX_REMINDER_AHEAD_DAYS} days ahead. Nothing saved: reply "
                             "to the prompt again with a nearer time.",
    ReminderRefused.TOO_MANY: f"❌ You already have {MAX_PENDING_REMINDERS} open reminders: mark some done in "
                              "/reminders first.",
    ReminderRefused.NOT_FOUND: "That reminder is gone or the button is out of date.",
    ReminderRefused.CLOSED: "That reminder is already done or cancelled.",
}


def when_text(when: datetime) -> str:
    """A local time for a phone: "Fri 6 Jun, 10:00" (the creator's timezone is already applied)."""
    return f"{when:%a} {when.day} {when:%b, %H:%M}"


def remind_menu_text(contact: Contact, user: User) -> str:
    return (f"⏰ <b>Remind me about {q(display_name(contact))}</b>: when?\n"
            f"Times are yours ({q(user.timezone or 'UTC')}, /settings); quiet hours "
            f"{user.quiet_start_hour:02d}:00–{user.quiet_end_hour:02d}:00 are respected.")


def remind_prompt(contact: Contact, action: ContactCb, user: User) -> str:
    return (f"{prompt_anchor(action)}⏰ reply with when to remind you about {q(display_name(contact))}: e.g. "
            f"{TIME_EXAMPLES} (your time: {q(user.timezone or 'UTC')})")


def reminder_set_text(result: ReminderSet, user: User, snoozed: bool = False) -> str:
    who = q(display_name(result.contact))
    line = (f"⏰ Snoozed: I'll remind you about {who} on {when_text(result.due)}." if snoozed
            else f"⏰ I'll remind you about {who} on {when_text(result.due)}.")
    if result.quiet_shifted:
        line += (f" {result.asked:%H:%M} is in your quiet hours ({user.quiet_start_hour:02d}:00–"
                 f"{user.quiet_end_hour:02d}:00), so it comes when they end.")
    return line


def reminder_push_text(contact: Contact, card: str, snoozes: int) -> str:
    again = f" (snoozed {snoozes}×)" if snoozes else ""
    return fit(f"⏰ <b>Reminder: {q(display_name(contact))}</b>{again}\n\n{card}")


def reminders_text(shown: RemindersPage, first: int) -> str:
    if not shown.total:
        return "⏰ No reminders. Set one from a lead's card with ⏰ Remind me."
    lines = [f"⏰ <b>Your reminders</b> ({shown.total}) · page {shown.page}/{shown.pages}", ""]
    for n, row in enumerate(shown.rows, first):
        state = " · <b>due</b>" if row.overdue else ""
        lines.append(f"{n}. {q(display_name(row.contact))} · {when_text(row.due)}{state}")
    lines += ["", "✅ done · ⏰ one hour later · ✖️ cancel"]
    return fit("\n".join(lines))


def reminder_outcome(result: ReminderSet | ReminderClosed, user: User) -> str:
    """What a press on a reminder's button did: snoozed (to when), done, or cancelled."""
    if isinstance(result, ReminderSet):
        return reminder_set_text(result, user, snoozed=True)
    who = q(display_name(result.contact))
    return f"✅ Done: reminder about {who}." if result.reminder.status == "done" else \
        f"✖️ Cancelled: reminder about {who}."


def with_card(line: str, card: str) -> str:
    """A short outcome line above the card it concerns."""
    return fit(f"{line}\n\n{card}")


# What the creator is told when a draft is refused, and what a press on Send answers (core.services.reply).
REPLY_REFUSED = {
    ReplyRefused.empty: "❌ A reply needs some text. Nothing changed.",
    ReplyRefused.too_long_for_telegram: f"❌ That is longer than {MAX_DRAFT_CHARS} characters; Instagram takes "
                                        "1000 bytes. Nothing changed.",
    ReplyRefused.not_found: NOT_FOUND,
    ReplyRefused.not_a_draft: "This draft was already sent or discarded. Nothing changed."}
SEND_ANSWER = {Outcome.sent: "✅ Sent", Outcome.already_sent: "Already sent: it went out once.",
               Outcome.in_progress: "Already sending…", Outcome.retrying: "⏳ Retried automatically",
               Outcome.reconciling: "⏳ Checking with Instagram…", Outcome.cancelled: "Discarded earlier."}
