"""/export: the columns a creator reads, tags as a plain cell, newest activity first; `/export full` adds every
stored column. Through the real bot and the Telegram stand-in."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact
from core.services.export import COLUMNS
from standins.telegram import Message, SimUser
from tests.bot_harness import BotWorld, bot_world, onboard_demo

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
async def world(db_url, sessions, redis_url, unique) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w
        assert w.tg.errors == [], [e.description for e in w.tg.errors]


async def export(ann: SimUser, text: str) -> tuple[Message, list[list[str]]]:
    after = max(ann.state.messages)
    await ann.send(text)
    doc: Message = await ann.wait_for(
        lambda: next((m for m in ann.chat if m.message_id > after and m.document), None), timeout=20)
    assert doc.document is not None
    return doc, list(csv.reader(io.StringIO(doc.document.data.decode("utf-8-sig"))))


async def test_export_has_the_creators_columns_newest_first_and_full_has_every_column(world: BotWorld) -> None:
    ann = world.user(1401)
    await onboard_demo(world, ann)
    async with transaction(world.sessions) as session:
        user = await repo.get_user(session, 1401)
        assert user is not None
        contacts = list((await session.execute(select(Contact).where(Contact.user_id == user.id).order_by(
            Contact.last_message_at.desc().nulls_last(), Contact.id.desc()))).scalars())
        tagged = contacts[3]
        await repo.set_manual_tags(session, user.id, tagged.id, ["VIP", "buying intent"])

    doc, rows = await export(ann, "/export")
    assert rows[0] == ["name", "username", "tags", "score", "sentiment", "stage", "reason", "next move",
                       "last message", "last message at (UTC)", "notes"]
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert len(body) == len(contacts) == 120 and "120 contacts" in doc.text
    assert [r["username"] for r in body] == [c.username or "" for c in contacts]  # newest activity first
    assert body[3]["tags"] == "VIP, buying intent"
    first = contacts[0]
    assert first.last_message_at is not None
    assert body[0]["last message at (UTC)"] == first.last_message_at.strftime("%Y-%m-%d %H:%M")

    doc, rows = await export(ann, "/export full")
    assert rows[0] == COLUMNS and "instagram_id" in rows[0] and len(rows) == 121
    assert doc.document is not None and "full" in doc.document.filename
