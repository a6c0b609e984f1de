"""contacts.search_text: what /find matches, kept exact by every writer of its inputs through refresh_search.

Inputs: name, username, tags and the lead's conversation (newest messages first). Writers: sync (contacts and
messages), profiles (name, username), scoring and manual tags, ↩️ Back to AI tags. tests/test_search.py checks
each against a fresh computation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.rules import SEARCH_MAX, search_key

MESSAGES = 40  # newest messages read per contact (the text is capped at SEARCH_MAX anyway)


def search_text(name: str | None, username: str | None, tags: Iterable[str], messages: Sequence[str]) -> str:
    parts = [name or "", f"@{username}" if username else "", " ".join(str(tag) for tag in tags)]
    parts += list(messages)
    return search_key(" \n ".join(p for p in parts if p))[:SEARCH_MAX]


async def refresh_search(session: AsyncSession, user_id: int, contact_ids: Iterable[int]) -> None:
    """Recompute search_text of these contacts of the creator, in the caller's transaction."""
    from core.db.models import Contact, Message

    ids = sorted(set(contact_ids))
    if not ids:
        return
    await session.flush()
    rows = (await session.execute(select(Contact.id, Contact.name, Contact.username, Contact.tags).where(
        Contact.user_id == user_id, Contact.id.in_(ids)))).all()
    ranked = (select(Message.contact_id, Message.text)
              .where(Message.user_id == user_id, Message.contact_id.in_(ids))
              .order_by(Message.contact_id, Message.created_at.desc(), Message.id.desc()))
    texts: dict[int, list[str]] = {}
    for cid, text in (await session.execute(ranked)).all():
        bucket = texts.setdefault(cid, [])
        if len(bucket) < MESSAGES and text:
            bucket.append(text)
    values: list[dict[str, Any]] = [
        {"cid": cid, "st": search_text(name, username, tags if isinstance(tags, list) else [], texts.get(cid, []))}
        for cid, name, username, tags in rows]
    table = cast(Table, Contact.__table__)
    stmt = update(table).where(table.c.id == bindparam("cid")).values(search_text=bindparam("st"))
    await (await session.connection()).execute(stmt, values)
