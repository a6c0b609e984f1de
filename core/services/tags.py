"""🏷 The creator's tags on a lead: toggle one (saved at once) or add a new one. AI never overwrites them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import repo
from core.db.models import Contact, User
from core.rules import MAX_TAGS, clean_tag, find_same_tag


class TagRefused(enum.Enum):
    NOT_FOUND = "not_found"  # the contact is not the creator's (or gone)
    UNKNOWN_TAG = "unknown_tag"  # a toggle for a tag nobody uses any more
    EMPTY = "empty"  # nothing left of the typed tag once normalised
    ALREADY = "already"
    TOO_MANY = "too_many"  # MAX_TAGS per contact


@dataclass(frozen=True)
class TagToggled:
    contact: Contact
    tag: str
    added: bool  # False: removed
    shortened: bool = False  # a typed tag cut to MAX_TAG_LEN: the creator is told


async def known_tags(session: AsyncSession, user: User) -> list[str]:
    """Every tag the creator uses, most used first."""
    return await repo.user_tags(session, user.id)


async def toggle_tag(session: AsyncSession, user: User, contact_id: int, tag: str | None) -> TagToggled | TagRefused:
    """Add the tag if the contact lacks it, else remove it. `tag` must be one the creator uses (None: it is
    not, e.g. a stale button)."""
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None:
        return TagRefused.NOT_FOUND
    if tag is None:
        return TagRefused.UNKNOWN_TAG
    current = list(contact.tags or [])
    if tag in current:
        current.remove(tag)
        return await _save(session, user, contact, current, tag, added=False)
    return await _add(session, user, contact, current, tag)


async def add_tag(session: AsyncSession, user: User, contact_id: int, raw: str) -> TagToggled | TagRefused:
    """A new tag the creator typed (normalised by rules.normalize_tag)."""
    contact = await repo.get_contact(session, user.id, contact_id)
    if contact is None:
        return TagRefused.NOT_FOUND
    cleaned = clean_tag(raw)
    if not cleaned.text:
        return TagRefused.EMPTY
    current = list(contact.tags or [])
    # "VIP" is the creator's "vip" tag: the spelling they already use wins, so one tag never becomes two.
    tag = find_same_tag(cleaned.text, current + await repo.user_tags(session, user.id)) or cleaned.text
    if tag in current:
        return TagRefused.ALREADY
    added = await _add(session, user, contact, current, tag)
    return replace(added, shortened=cleaned.shortened) if isinstance(added, TagToggled) else added


async def _add(session: AsyncSession, user: User, contact: Contact, current: list[str],
               tag: str) -> TagToggled | TagRefused:
    if len(current) >= MAX_TAGS:  # the one place the limit is checked for the creator's own tags
        return TagRefused.TOO_MANY
    return await _save(session, user, contact, [*current, tag], tag, added=True)


async def _save(session: AsyncSession, user: User, contact: Contact, tags: list[str], tag: str,
                added: bool) -> TagToggled:
    await repo.set_manual_tags(session, user.id, contact.id, tags)
    await session.commit()
    await session.refresh(contact)  # the UPDATE bypassed the identity map
    return TagToggled(contact, tag, added)
