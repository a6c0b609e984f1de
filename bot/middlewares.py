"""Per-update plumbing: who may talk to the bot, the creator row, and one DB session per update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from bot.callbacks import ContactCb
from bot.deps import Deps
from bot.rendering import NOT_FOUND
from bot.scrub import carries_token, scrub
from core.services import access, onboarding
from core.services import card as card_service

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
REFUSAL = "Sorry, this Leadgram bot is private. Ask its owner for access."
PRIVATE_ONLY = "Leadgram works in a private chat only: open the bot and press Start."


class AccessMiddleware(BaseMiddleware):
    """With ALLOWED_TELEGRAM_IDS set, anyone else gets no data and at most one polite refusal per hour
    (core.services.access); a button press is always answered, silently after the first refusal.

    Only private chats are served: a creator's leads typed for in a group would show to everyone there,
    and the creator's chat (where hot-lead alerts go) must never become a group. Group messages are
    ignored without a reply (no noise in the group); a button pressed there gets a short private answer."""

    def __init__(self, allowed: frozenset[int], redis: Any) -> None:
        self.allowed = allowed
        self.redis = redis

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return None
        chat: Chat | None = data.get("event_chat")
        refused = bool(self.allowed) and user.id not in self.allowed
        if isinstance(event, Message) and (refused or (chat is not None and chat.type != "private")) \
                and carries_token(event):
            await scrub(event)  # a token must not stay in the chat, whoever sent it and wherever
        if chat is not None and chat.type != "private":
            if isinstance(event, CallbackQuery):
                await event.answer(PRIVATE_ONLY, show_alert=True)
            return None
        if not refused:
            return await handler(event, data)
        tell = await access.claim_refusal(self.redis, user.id)
        if isinstance(event, Message) and tell:
            await event.answer(REFUSAL)
        elif isinstance(event, CallbackQuery):
            await (event.answer(REFUSAL, show_alert=True) if tell else event.answer())
        return None


class DbSessionMiddleware(BaseMiddleware):
    """One session per update, handed to handlers as `session` for their core calls (which commit what they
    change: nothing is committed here; the session is closed, so anything left uncommitted is rolled back).

    The creator row is created on first contact (core.services.onboarding.creator) and handed to handlers as
    `user`; every core call a handler makes is scoped by `user.id`."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User = data["event_from_user"]
        chat = data.get("event_chat")
        async with self.deps.sessions() as session:
            data["session"] = session
            data["user"] = await onboarding.creator(session, tg_user.id, chat.id if chat else None)
            return await handler(event, data)


class OwnContactMiddleware(BaseMiddleware):
    """For ContactCb buttons: hands the handler `contact`, the presser's OWN contact named by the callback
    data; anything else (another creator's id, a deleted contact, an id out of range) is answered
    "not found" here and reaches no handler."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        cb = data.get("callback_data")
        if not isinstance(cb, ContactCb):
            return await handler(event, data)
        contact = await card_service.own_contact(data["session"], data["user"], cb.id)
        if contact is None:
            data["callback_answer"].text = NOT_FOUND
            return None
        data["contact"] = contact
        return await handler(event, data)
