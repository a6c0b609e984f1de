"""The schema round-trips on both dialects: tz-aware UTC times, JSON tags, scoped queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from core.db import repo
from core.db.models import Contact


async def test_times_come_back_aware_utc_and_tags_round_trip(sessions):
    local = datetime(2026, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    async with sessions.begin() as s:
        user = await repo.ensure_user(s, 42)
        s.add(Contact(user_id=user.id, instagram_id="ig1", name="<b>Ann</b>", tags=["vip", "коуч"],
                      last_message_at=local))
    async with sessions() as s:
        row = (await s.execute(select(Contact))).scalar_one()
        assert row.last_message_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
        assert row.last_message_at.tzinfo is not None
        assert row.created_at.tzinfo is not None
        assert row.tags == ["vip", "коуч"]


async def test_contact_lookup_is_scoped_to_its_creator(sessions):
    async with sessions.begin() as s:
        alice = await repo.ensure_user(s, 1)
        bob = await repo.ensure_user(s, 2)
        s.add(Contact(user_id=alice.id, instagram_id="x", tags=[]))
    async with sessions() as s:
        contact = (await s.execute(select(Contact))).scalar_one()
        assert await repo.get_contact(s, alice.id, contact.id) is not None
        assert await repo.get_contact(s, bob.id, contact.id) is None


async def test_ensure_user_is_idempotent(sessions):
    async with sessions.begin() as s:
        a = await repo.ensure_user(s, 7, chat_id=7)
    async with sessions.begin() as s:
        b = await repo.ensure_user(s, 7)
    assert a.id == b.id


async def test_tag_filter_matches_unicode_tags_exactly(sessions):
    async with sessions.begin() as s:
        user = await repo.ensure_user(s, 9)
        s.add_all([
            Contact(user_id=user.id, instagram_id="a", tags=["коуч", "vip"]),
            Contact(user_id=user.id, instagram_id="b", tags=["vip2"]),
            Contact(user_id=user.id, instagram_id="c", tags=['say "hi"']),
        ])
    async with sessions() as s:
        page = await repo.list_contacts(s, user.id, query=repo.ContactQuery(repo.Filter.tag, tag="vip"))
        assert [c.instagram_id for c in page.contacts] == ["a"]
        page = await repo.list_contacts(s, user.id, query=repo.ContactQuery(repo.Filter.tag, tag="коуч"))
        assert [c.instagram_id for c in page.contacts] == ["a"]
        page = await repo.list_contacts(s, user.id, query=repo.ContactQuery(repo.Filter.tag, tag='say "hi"'))
        assert [c.instagram_id for c in page.contacts] == ["c"]
