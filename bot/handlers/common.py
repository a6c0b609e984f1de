"""Small pieces several handlers share: scoped contact lookup, the not-found answer, starting a sync."""

from __future__ import annotations

import re

from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ContactCb
from bot.deps import Deps
from bot.rendering import NOT_FOUND as NOT_FOUND  # re-exported: handlers and tests name it here
from bot.rendering import anchored_action, sync_running
from core.db.models import Contact, User
from core.services import card as card_service
from core.services import sync

# Prompts sent before the hidden anchor (still in creators' chats): "🎯 #12 · …", "✏️ #12 · note 34 · …".
PROMPT_ID = re.compile(r"^\S+ #(\d+) ·")
OLD_NOTE_ID = re.compile(r"^✏️ #\d+ · note (\d+) ·")


async def own_contact(session: AsyncSession, user: User, contact_id: int,
                      answer: CallbackAnswer | None = None) -> Contact | None:
    """The creator's own contact, or None (and a short not-found answer that reveals nothing)."""
    contact = await card_service.own_contact(session, user, contact_id)
    if contact is None and answer is not None:
        answer.text = NOT_FOUND
    return contact


def _bot_prompt(message: Message) -> Message | None:
    prompt = message.reply_to_message
    return prompt if prompt and prompt.from_user and prompt.from_user.is_bot else None


def prompt_action(message: Message) -> ContactCb | None:
    """The card action a reply answers: the prompt's hidden anchor (rendering.prompt_anchor), or an older
    "🎯 #12 · …" prompt (the list position then is the first page)."""
    prompt = _bot_prompt(message)
    if prompt is None:
        return None
    found = anchored_action(prompt.entities or [])
    if found is not None:
        return found
    match = PROMPT_ID.match(prompt.text or "")
    kind = {"🎯": "typed", "🏷": "newtag", "📝": "nadd", "✏️": "nedit"}.get((prompt.text or " ").split(" ", 1)[0])
    note = OLD_NOTE_ID.match(prompt.text or "")
    return ContactCb(a=kind, id=int(match.group(1)), v=int(note.group(1)) if note else 0) if match and kind else None


async def prompted_contact(message: Message, session: AsyncSession,
                           user: User) -> tuple[Contact, ContactCb] | None:
    """The creator's own contact our ForceReply prompt is about, with the card action (and list position) it
    came from; else the answer is "not found". Only prompts the bot itself sent count."""
    action = prompt_action(message)
    contact = await card_service.own_contact(session, user, action.id) if action else None
    if contact is None or action is None:
        await message.answer(NOT_FOUND)
        return None
    return contact, action


def is_reply_to(prefix: str):  # type: ignore[no-untyped-def]
    """Filter: an answer to the bot's prompt that starts with `prefix`.

    Clients attach the next message to a ForceReply prompt by themselves: a /command sent then is the
    command, not the answer."""
    def check(message: Message) -> bool:
        prompt = _bot_prompt(message)
        if (message.text or "").startswith("/"):
            return False
        return bool(prompt and (prompt.text or "").startswith(prefix))
    return check


def is_answer_to(action: str):  # type: ignore[no-untyped-def]
    """Filter: an answer to the bot's prompt for the card action `action` (typed | newtag)."""
    def check(message: Message) -> bool:
        if (message.text or "").startswith("/"):
            return False
        found = prompt_action(message)
        return found is not None and found.a == action
    return check


NOT_CONNECTED = "No Instagram connected yet. Send /connect &lt;token&gt;, or /demo for the demo account."


async def start_sync(deps: Deps, session: AsyncSession, user: User, chat_id: int, intro: str,
                     new_account: bool = False) -> Message | None:
    """Ask core for a sync now and show one message that the job's result completes (None: not connected, or
    a sync already running; the creator was told). `new_account`: /demo or a connection, always synced."""
    result = await sync.request_sync(session, deps.queue, user, new_account=new_account)
    if isinstance(result, sync.SyncRefused):
        await deps.watchers.bot.send_message(chat_id, NOT_CONNECTED)
        return None
    if isinstance(result, sync.SyncRunning):
        await deps.watchers.bot.send_message(chat_id, sync_running(result.started_at))
        return None
    message = await deps.watchers.bot.send_message(chat_id, f"🔄 {intro}…")
    deps.watchers.watch_sync(chat_id, message.message_id, result.job_id, intro)
    return message
