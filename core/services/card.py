"""The contact card and its chat: one page of a lead's messages, oldest first on the page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import repo
from core.db.models import Contact, Message, User

CHAT_PAGE = 8  # messages per chat page (each clipped by the renderer, so a page fits Telegram's limit)


@dataclass(frozen=True)
class ChatPage:
    messages: list[Message]  # oldest first
    page: int  # 1 = the newest messages; clamped into range
    pages: int


async def own_contact(session: AsyncSession, user: User, contact_id: int) -> Contact | None:
    """The creator's own contact, or None (another creator's id is "not found": it reveals nothing)."""
    return await repo.get_contact(session, user.id, contact_id)


async def card_after_run(session: AsyncSession, user_id: int, contact_id: int) -> tuple[User, Contact] | None:
    """The creator and their contact, fresh, for a card shown again after a rescore (None: either is gone)."""
    user = await repo.get_user_by_id(session, user_id)
    contact = await repo.get_contact(session, user_id, contact_id) if user is not None else None
    return (user, contact) if user is not None and contact is not None else None


async def chat_page(session: AsyncSession, user: User, contact: Contact, page: int) -> ChatPage:
    total = await repo.count_messages(session, user.id, contact.id)
    pages = max(1, -(-total // CHAT_PAGE))
    page = min(max(1, page), pages)
    newest_first = await repo.contact_messages(session, user.id, contact.id, CHAT_PAGE, (page - 1) * CHAT_PAGE)
    return ChatPage(list(reversed(newest_first)), page, pages)
