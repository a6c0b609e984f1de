"""Jumping to a typed page of a list (/contacts with any filter, /find results): the number is checked here, the
list is read once, and what the creator should be told comes back as a value (the bot says it in words)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import User
from core.db.repo import ContactQuery
from core.rules import parse_page
from core.services import contacts
from core.services.contacts import ContactsPage


class JumpRefused(enum.Enum):
    NOT_A_PAGE = "not_a_page"  # not a whole number from 1: nothing shown, nothing changes


class Beyond(enum.Enum):
    """Why the page shown is not the one asked for."""

    LAST = "last"  # the list has fewer pages: its last page is shown
    FIND_CAP = "find_cap"  # a /find with more matches than can be paged (rules.FIND_PAGED_MAX): the last reachable


@dataclass(frozen=True)
class Jumped:
    asked: int
    shown: ContactsPage  # shown.page.page: the number of the page shown
    beyond: Beyond | None = None


async def jump(session: AsyncSession, user: User, query: ContactQuery, raw: str | None, *,
               new_visit: bool = False) -> Jumped | JumpRefused:
    """Page `raw` of the creator's list `query`; a number past the end shows the last page and says so.
    `new_visit` (/contacts N): a valid number starts a /contacts visit (🆕 marks) first; a refused one does not."""
    asked = parse_page(raw)
    if asked is None:
        return JumpRefused.NOT_A_PAGE
    if new_visit:
        await contacts.start_visit(session, user)
    shown = await contacts.list_page(session, user, asked, query)
    if shown.page.page == asked:
        return Jumped(asked, shown)
    return Jumped(asked, shown, Beyond.FIND_CAP if shown.page.more else Beyond.LAST)
