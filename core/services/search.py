"""/find: a lead by name, @username, tag or message text, accent- and case-insensitive, as a normal paged list.

The creator's latest query is kept (users.last_find) so any replica can page through its results; a short
query also rides in the list's buttons, so an older results message keeps paging its own search.
"""

from __future__ import annotations

import enum

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import User
from core.db.repo import ContactQuery, Filter, Sort
from core.rules import MAX_FIND, search_key


class FindRefused(enum.Enum):
    EMPTY = "empty"  # nothing searchable (blank, or only accents/invisible characters)
    TOO_LONG = "too_long"


async def start_find(session: AsyncSession, user: User, raw: str) -> ContactQuery | FindRefused:
    """Remember the creator's query and return the list query for its first page. Commits."""
    typed = " ".join((raw or "").split())
    if len(typed) > MAX_FIND:
        return FindRefused.TOO_LONG
    if not search_key(typed.lstrip("@#")):
        return FindRefused.EMPTY
    user.last_find = typed
    await session.commit()
    return query_for(user, Sort.last)


def query_for(user: User, sort: Sort, needle: str | None = None) -> ContactQuery:
    """The list query of a /find: `needle` (the search key a list's button carries) or else the creator's
    latest query (everyone, if they never searched)."""
    if needle is None:
        # "@ann" and "#vip" find "ann" and "vip": search_text holds the username after "@", tags without "#".
        needle = (user.last_find or "").lstrip("@#")
    needle = search_key(needle)  # a button's text is user input too
    if not needle:
        return ContactQuery(sort=sort, hot_threshold=user.alert_threshold)
    return ContactQuery(filter=Filter.search, sort=sort, text=needle, hot_threshold=user.alert_threshold)
