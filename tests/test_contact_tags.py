"""contact_tags (the tag filter's index) always says what the contacts in the list say: every kind of writer keeps
it exact in its own transaction (sync's bulk upsert, scoring, manual edits, shelving, raw SQL, deletes), and
migration 0007
backfills it from existing contacts. On both dialects, through the real migrations."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import repo
from core.db.engine import alembic_config, make_engine, make_sessionmaker, transaction
from core.db.models import Contact, ContactTag
from core.db.repo import ContactQuery, Filter, Sort
from core.timeutil import utcnow
from tests.conftest import temp_pg_database

Sessions = async_sessionmaker[AsyncSession]
T0 = utcnow().replace(microsecond=0)


async def index_rows(sessions: Sessions) -> set[tuple[int, str, int, object, int | None]]:
    async with sessions() as session:
        rows = (await session.execute(select(ContactTag.contact_id, ContactTag.tag, ContactTag.user_id,
                                             ContactTag.last_message_at, ContactTag.lead_score))).all()
    return {tuple(r) for r in rows}  # type: ignore[misc]


async def expected_rows(sessions: Sessions) -> set[tuple[int, str, int, object, int | None]]:
    async with sessions() as session:
        contacts = (await session.execute(select(Contact))).scalars().all()
    return {(c.id, tag, c.user_id, c.last_message_at, c.lead_score) for c in contacts for tag in (c.tags or [])
            if c.shelf is None}  # spam and archived leads are out of the list: no tag lists them


async def creator(sessions: Sessions, telegram_id: int) -> int:
    async with transaction(sessions) as session:
        return (await repo.ensure_user(session, telegram_id, chat_id=telegram_id)).id


def contact(user_id: int, n: int, tags: list[str], **values: object) -> dict[str, object]:
    return {"user_id": user_id, "instagram_id": f"ig{n}", "username": f"lead_{n}", "tags": tags,
            "lead_score": None, "message_count": 1, "hot_episode": 0,
            "last_message_at": T0 - timedelta(minutes=n), "created_at": T0, "updated_at": T0, **values}


async def test_every_writer_keeps_contact_tags_exact(sessions: Sessions) -> None:
    me, other = await creator(sessions, 501), await creator(sessions, 502)
    async with transaction(sessions) as session:  # a bulk Core insert, as sync and the bench load rows
        await session.execute(insert(Contact.__table__), [
            contact(me, 1, ["vip", "price"], lead_score=90), contact(me, 2, []), contact(me, 3, ["price"]),
            contact(other, 4, ["vip", "🔥 buyer", 'say "hi"'], lead_score=10)])
    assert len(await index_rows(sessions)) == 6 and await index_rows(sessions) == await expected_rows(sessions)

    async with transaction(sessions) as session:
        ids = dict((await session.execute(select(Contact.instagram_id, Contact.id))).all())
        # sync's ON CONFLICT upsert moves the last message; scoring writes score and AI tags; a creator retags
        ins = repo.dialect_insert(session, Contact)
        await session.execute(ins.values(contact(me, 3, [])).on_conflict_do_update(
            index_elements=["user_id", "instagram_id"], set_={"last_message_at": T0 + timedelta(hours=1)}))
        c2 = await repo.get_contact(session, me, ids["ig2"])
        assert c2 is not None
        c2.tags, c2.lead_score = ["price", "keto"], 55
        await repo.set_manual_tags(session, me, ids["ig1"], ["vip"])
        await repo.set_manual_score(session, me, ids["ig1"], 20)
    assert await index_rows(sessions) == await expected_rows(sessions)
    async with sessions() as session:
        moved = await session.get(ContactTag, (ids["ig3"], "price"))
        assert moved is not None and moved.last_message_at == T0 + timedelta(hours=1)

    async with transaction(sessions) as session:  # raw SQL and a delete: nobody needs to know the index exists
        await session.execute(update(Contact).where(Contact.id == ids["ig4"]).values(tags=None, lead_score=None))
        await session.execute(delete(Contact).where(Contact.id == ids["ig2"]))
        await session.execute(update(Contact).where(Contact.id == ids["ig3"]).values(tags=["a", "b", "c"]))
    assert await index_rows(sessions) == await expected_rows(sessions)
    async with sessions() as session:
        assert await repo.user_tags(session, me) == ["a", "b", "c", "vip"]
        assert await repo.user_tags(session, other) == []

    async with transaction(sessions) as session:  # archived: out of the list, out of its tags; back: in again
        await session.execute(update(Contact).where(Contact.id == ids["ig3"]).values(shelf="archived"))
    assert await index_rows(sessions) == await expected_rows(sessions)
    async with sessions() as session:
        assert await repo.user_tags(session, me) == ["vip"]
        page = await repo.list_contacts(session, me, 1, ContactQuery(Filter.tag, Sort.last, "a"))
        assert (page.total, page.contacts) == (0, [])
        everyone = await repo.list_contacts(session, me, 1, ContactQuery())  # the shelved one is out of "all" too
        assert (everyone.total, [c.id for c in everyone.contacts]) == (1, [ids["ig1"]])
    async with transaction(sessions) as session:
        await session.execute(update(Contact).where(Contact.id == ids["ig3"]).values(shelf=None,
                                                                                    lead_score=77))
    assert await index_rows(sessions) == await expected_rows(sessions)
    async with sessions() as session:
        assert [c.id for c in (await repo.list_contacts(session, me, 1, ContactQuery(Filter.tag, tag="a"))
                               ).contacts] == [ids["ig3"]]


async def test_a_rolled_back_write_leaves_no_index_rows(sessions: Sessions) -> None:
    me = await creator(sessions, 503)
    with pytest.raises(RuntimeError):
        async with transaction(sessions) as session:
            await session.execute(insert(Contact.__table__), [contact(me, 1, ["vip"])])
            raise RuntimeError("the writer failed after its insert")
    assert await index_rows(sessions) == set()


async def test_tag_filter_pages_follow_the_list_order_as_scores_and_messages_change(sessions: Sessions) -> None:
    me = await creator(sessions, 504)
    async with transaction(sessions) as session:
        await session.execute(insert(Contact.__table__), [
            contact(me, n, ["vip"] if n % 2 else ["other"], lead_score=None if n % 3 == 0 else n)
            for n in range(1, 26)])
    async with transaction(sessions) as session:  # the oldest vip gets a new message and the top score
        await session.execute(update(Contact).where(Contact.instagram_id == "ig25")
                              .values(last_message_at=T0 + timedelta(minutes=5), lead_score=100))
    async with sessions() as session:
        by_score = [c.instagram_id for p in (1, 2)
                    for c in (await repo.list_contacts(session, me, p, ContactQuery(Filter.tag, Sort.score, "vip")))
                    .contacts]
        by_last = (await repo.list_contacts(session, me, 1, ContactQuery(Filter.tag, Sort.last, "vip"))).contacts
    vip = [n for n in range(1, 26) if n % 2]
    scored = sorted((n for n in vip if n % 3), key=lambda n: (100 if n == 25 else n), reverse=True)
    assert by_score == [f"ig{n}" for n in scored + sorted((n for n in vip if n % 3 == 0), reverse=True)]
    assert by_last[0].instagram_id == "ig25" and len(by_last) == 10


async def _contacts_before_0007_then_head(url: str) -> set[tuple[int, str]]:
    """Migrate to 0006, write tagged contacts the old way, upgrade to head: the backfill's rows."""
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0006")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO users (telegram_id, onboarding_step, ig_reconnect_notified,"
                                    " alerts_enabled, alert_threshold, timezone, quiet_start_hour, quiet_end_hour,"
                                    " created_at, updated_at) VALUES (7, 'done', false, true, 80, 'UTC', 22, 8,"
                                    " :t, :t)"), {"t": T0})
            for n, tags in enumerate(['["vip", "коуч"]', "[]", '["vip"]', "null", '"not a list"', '[1, "ok"]',
                                      '["spam tag"]']):
                await conn.execute(text(
                    "INSERT INTO contacts (user_id, instagram_id, tags, message_count, hot_episode, shelf,"
                    " created_at, updated_at) VALUES (1, :ig, :tags, 0, 0, :shelf, :t, :t)"),
                    {"ig": f"ig{n}", "tags": tags, "t": T0, "shelf": "spam" if n == 6 else None})
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        async with make_sessionmaker(engine)() as session:
            return {(c, t) for c, t in (await session.execute(select(ContactTag.contact_id, ContactTag.tag))).all()}
    finally:
        await engine.dispose()


async def test_migration_backfills_contact_tags_on_sqlite(tmp_path: Path) -> None:
    rows = await _contacts_before_0007_then_head(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    assert rows == {(1, "vip"), (1, "коуч"), (3, "vip"), (6, "ok")}


async def test_migration_backfills_contact_tags_on_postgresql() -> None:
    async with temp_pg_database("lg_test_ct") as url:
        rows = await _contacts_before_0007_then_head(url)
    assert rows == {(1, "vip"), (1, "коуч"), (3, "vip"), (6, "ok")}
