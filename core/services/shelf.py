"""🚫 Spam / 🗄 Archive: the creator moves a lead off the list (and /hot, alerts, bulk scoring), or back.

Only the creator's press shelves a lead: the scorer's spam verdict is a suggestion (contacts.spam_suggested).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import repo
from core.db.models import Contact, User
from core.rules import SHELVES
from core.timeutil import utcnow


class ShelfRefused(enum.Enum):
    NOT_FOUND = "not_found"
    UNKNOWN_SHELF = "unknown_shelf"


@dataclass(frozen=True)
class Shelved:
    contact: Contact
    shelf: str | None  # where it is now (None: back in the list)
    previous: str | None


async def shelve(session: AsyncSession, user: User, contact_id: int, shelf: str | None) -> Shelved | ShelfRefused:
    """Put a lead on a shelf ("spam" | "archived"), or back in the list with None (the undo). Commits."""
    if shelf is not None and shelf not in SHELVES:
        return ShelfRefused.UNKNOWN_SHELF
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None:
        return ShelfRefused.NOT_FOUND
    previous = contact.shelf
    contact.shelf = shelf
    contact.shelved_at = utcnow() if shelf else None
    contact.spam_suggested = False  # either way the creator answered the scorer's suggestion
    await session.commit()
    return Shelved(contact, shelf, previous)
