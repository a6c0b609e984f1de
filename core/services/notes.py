"""📝 Notes: the creator's own timestamped notes on a lead — add, edit, delete, read latest first (paged).

Notes are the creator's words: the scorer gets them as the creator's context (core/clients/gemini.py), and
/export carries them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import repo
from core.db.models import Contact, Note, User
from core.rules import MAX_NOTE, NOTES_FOR_SCORER, one_line
from core.timeutil import utcnow

PAGE = 5


class NoteRefused(enum.Enum):
    NOT_FOUND = "not_found"
    EMPTY = "empty"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class NoteSaved:
    note: Note
    contact: Contact
    created: bool  # False: an edit


@dataclass(frozen=True)
class NoteDeleted:
    contact: Contact


@dataclass(frozen=True)
class NotesPage:
    notes: list[Note]  # latest first
    page: int
    pages: int
    total: int


def clean(text: str) -> str | NoteRefused:
    """A note keeps its line breaks; outer whitespace goes. Empty or over MAX_NOTE is refused (nothing saved)."""
    body = (text or "").strip()
    if not body:
        return NoteRefused.EMPTY
    return NoteRefused.TOO_LONG if len(body) > MAX_NOTE else body


async def add_note(session: AsyncSession, user: User, contact_id: int, text: str) -> NoteSaved | NoteRefused:
    body = clean(text)
    if isinstance(body, NoteRefused):
        return body
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None:
        return NoteRefused.NOT_FOUND
    note = Note(user_id=user.id, contact_id=contact.id, text=body, created_at=utcnow())
    session.add(note)
    await _summarize(session, contact)
    await session.commit()
    return NoteSaved(note, contact, True)


async def _summarize(session: AsyncSession, contact: Contact) -> None:
    """The card's note line (count and latest), from the notes table in this transaction."""
    await session.flush()
    scoped = (Note.user_id == contact.user_id, Note.contact_id == contact.id)
    contact.note_count = int((await session.execute(select(func.count()).where(*scoped))).scalar_one())
    latest = (await session.execute(select(Note).where(*scoped).order_by(Note.created_at.desc(), Note.id.desc())
                                    .limit(1))).scalar_one_or_none()
    contact.last_note = latest.text if latest else None
    contact.last_note_at = latest.created_at if latest else None


async def _own_note(session: AsyncSession, user: User, contact_id: int, note_id: int) -> Note | None:
    if not 0 < note_id <= repo.MAX_ID:  # ids come from callback data and prompts (user input)
        return None
    stmt = select(Note).where(Note.id == note_id, Note.user_id == user.id, Note.contact_id == contact_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_note(session: AsyncSession, user: User, contact_id: int, note_id: int) -> Note | None:
    return await _own_note(session, user, contact_id, note_id)


async def edit_note(session: AsyncSession, user: User, contact_id: int, note_id: int,
                    text: str) -> NoteSaved | NoteRefused:
    body = clean(text)
    if isinstance(body, NoteRefused):
        return body
    note = await _own_note(session, user, contact_id, note_id)
    contact = await repo.get_contact(session, user.id, contact_id)
    if note is None or contact is None:
        return NoteRefused.NOT_FOUND
    note.text, note.edited_at = body, utcnow()
    await _summarize(session, contact)
    await session.commit()
    return NoteSaved(note, contact, False)


async def delete_note(session: AsyncSession, user: User, contact_id: int, note_id: int) -> NoteDeleted | NoteRefused:
    note = await _own_note(session, user, contact_id, note_id)
    contact = await repo.get_contact(session, user.id, contact_id)
    if note is None or contact is None:
        return NoteRefused.NOT_FOUND
    await session.delete(note)
    await _summarize(session, contact)
    await session.commit()
    return NoteDeleted(contact)


async def notes_page(session: AsyncSession, user: User, contact_id: int, page: int = 1,
                     size: int = PAGE) -> NotesPage:
    scoped = (Note.user_id == user.id, Note.contact_id == contact_id)
    total = int((await session.execute(select(func.count()).where(*scoped))).scalar_one())
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    stmt = (select(Note).where(*scoped).order_by(Note.created_at.desc(), Note.id.desc())
            .offset((page - 1) * size).limit(size))
    return NotesPage(list((await session.execute(stmt)).scalars()), page, pages, total)


async def for_scorer(session: AsyncSession, user_id: int, contact_id: int) -> list[tuple[datetime, str]]:
    """The newest notes, oldest first, one line each: the scorer's "creator's context"."""
    stmt = (select(Note.created_at, Note.text).where(Note.user_id == user_id, Note.contact_id == contact_id)
            .order_by(Note.created_at.desc(), Note.id.desc()).limit(NOTES_FOR_SCORER))
    rows = [(at, one_line(text)) for at, text in (await session.execute(stmt)).all()]
    return rows[::-1]


async def for_export(session: AsyncSession, user_id: int) -> dict[int, list[Note]]:
    """Every note of the creator by contact, oldest first."""
    stmt = select(Note).where(Note.user_id == user_id).order_by(Note.contact_id, Note.created_at, Note.id)
    out: dict[int, list[Note]] = {}
    for note in (await session.execute(stmt)).scalars():
        out.setdefault(note.contact_id, []).append(note)
    return out
