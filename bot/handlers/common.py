"""Small pieces several handlers share: scoped contact lookup, the not-found answer, starting a sync."""

from __future__ import annotations

import re

from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deps import Deps
from bot.rendering import NOT_FOUND as NOT_FOUND  # re-exported: handlers and tests name it here
from core.db import repo
from core.db.models import Contact, User
from workers.jobids import namespaced

PROMPT_ID = re.compile(r"^\S+ #(\d+) ·")


async def own_contact(session: AsyncSession, user: User, contact_id: int,
                      answer: CallbackAnswer | None = None) -> Contact | None:
    """The creator's own contact, or None (and a short not-found answer that reveals nothing)."""
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None and answer is not None:
        answer.text = NOT_FOUND
    return contact


async def prompted_contact(message: Message, session: AsyncSession, user: User) -> Contact | None:
    """The contact our ForceReply prompt ("🏷 #12 · …") names, if it is the creator's own; else the answer
    is "not found". Only prompts the bot itself sent count."""
    prompt = message.reply_to_message
    match = PROMPT_ID.match(prompt.text or "") if prompt and prompt.from_user and prompt.from_user.is_bot else None
    contact = await repo.get_contact(session, user.id, int(match.group(1))) if match else None
    if contact is None:
        await message.answer(NOT_FOUND)
    return contact


def is_reply_to(prefix: str):  # type: ignore[no-untyped-def]
    """Filter: an answer to the bot's prompt that starts with `prefix`.

    Clients attach the next message to a ForceReply prompt by themselves: a /command sent then is the
    command, not the answer."""
    def check(message: Message) -> bool:
        prompt = message.reply_to_message
        if (message.text or "").startswith("/"):
            return False
        return bool(prompt and prompt.from_user and prompt.from_user.is_bot and (prompt.text or "").startswith(prefix))
    return check


async def start_sync(deps: Deps, user: User, chat_id: int, intro: str) -> Message:
    """Enqueue the creator's sync as a job and show one message that the job's result completes."""
    message = await deps.watchers.bot.send_message(chat_id, f"🔄 {intro}…")
    # Unique per tap (message ids restart with a new chat or database; arq keeps results for a day).
    job_id = namespaced(deps.queue, f"sync:{user.id}:manual:{message.message_id}:{message.date.timestamp():.0f}")
    await deps.queue.enqueue_job("sync_creator", user.id, _job_id=job_id)
    deps.watchers.watch_sync(chat_id, message.message_id, job_id, intro)
    return message

