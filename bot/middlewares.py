"""Per-update plumbing: who may talk to the bot, the creator row, and one DB session per update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from bot.callbacks import ContactCb
from bot.deps import Deps
from bot.rendering import NOT_FOUND
from core.db import repo

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
REFUSAL = "Sorry, this Leadgram bot is private. Ask its owner for access."
PRIVATE_ONLY = "Leadgram works in a private chat only: open the bot and press Start."


class AccessMiddleware(BaseMiddleware):
    """With ALLOWED_TELEGRAM_IDS set, anyone else gets one polite refusal per message and no data.

    Only private chats are served: a creator's leads typed for in a group would show to everyone there,
    and the creator's chat (where hot-lead alerts go) must never become a group. Group messages are
    ignored without a reply (no noise in the group); a button pressed there gets a short private answer."""

    def __init__(self, allowed: frozenset[int]) -> None:
        self.allowed = allowed

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return None
        chat: Chat | None = data.get("event_chat")
        if chat is not None and chat.type != "private":
            if isinstance(event, CallbackQuery):
                await event.answer(PRIVATE_ONLY, show_alert=True)
            return None
        if not self.allowed or user.id in self.allowed:
            return await handler(event, data)
        if isinstance(event, Message):
            await event.answer(REFUSAL)
        elif isinstance(event, CallbackQuery):
            await event.answer(REFUSAL, show_alert=True)
        return None


class DbSessionMiddleware(BaseMiddleware):
    """One session per update, committed when the handler returns, rolled back if it raises.

    The creator row is created on first contact (race-safe upsert) and handed to handlers as `user`;
    every query a handler makes is scoped by `user.id`."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User = data["event_from_user"]
        chat = data.get("event_chat")
        async with self.deps.sessions() as session:
            user = await repo.get_user(session, tg_user.id)
            if user is None or (chat is not None and user.chat_id != chat.id):
                user = await repo.ensure_user(session, tg_user.id, chat.id if chat else None)
                await session.commit()  # short write: never hold SQLite's write lock across a handler
            data["session"], data["user"] = session, user
            result = await handler(event, data)
            await session.commit()
            return result


class OwnContactMiddleware(BaseMiddleware):
    """For ContactCb buttons: hands the handler `contact`, the presser's OWN contact named by the callback
    data; anything else (another creator's id, a deleted contact, an id out of range) is answered
    "not found" here and reaches no handler."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        cb = data.get("callback_data")
        if not isinstance(cb, ContactCb):
            return await handler(event, data)
        contact = await repo.get_contact(data["session"], data["user"].id, cb.id)
        if contact is None:
            data["callback_answer"].text = NOT_FOUND
            return None
        data["contact"] = contact
        return await handler(event, data)
