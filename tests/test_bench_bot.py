"""bench/bot.py on a tiny dataset (so the script cannot rot), and the /contacts list query it drove: every
page of every filter x sort equals the plain ORDER BY ... NULLS LAST / OFFSET reference, on both dialects."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, update

from bench import bot as bench
from core.db import repo
from core.db.models import Contact
from core.db.repo import ContactQuery, Filter, Sort

pytestmark = pytest.mark.timeout(180)
CONTACTS = 300


async def seeded(sessions) -> int:
    user_id = await bench.seed(sessions, bench.TELEGRAM_ID, CONTACTS, random.Random(3))
    async with sessions.begin() as s:  # make sure both NULL runs exist and are more than a page
        ids = list((await s.execute(select(Contact.id).where(Contact.user_id == user_id).order_by(Contact.id)
                                    .limit(25))).scalars())
        await s.execute(update(Contact).where(Contact.id.in_(ids[:14])).values(last_message_at=None))
        await s.execute(update(Contact).where(Contact.id.in_(ids[10:25])).values(lead_score=None, sentiment=None))
    return user_id


async def test_bench_measures_every_case_with_full_pages(db_url, sessions):
    user_id = await seeded(sessions)
    result = await bench.measure_render(sessions, user_id, repeats=1, rng=random.Random(1))
    assert set(result) >= {"p50_ms", "p95_ms", "max_ms", "n", "cases", "worst_case"}
    names = set(result["cases"])
    for label in ("all", "hot", "high", "unscored", "tag_common", "tag_rare"):
        for sort in ("last", "score"):
            assert f"{label}/{sort}/p1" in names
    assert {"all/last/middle", "all/last/last", "all/score/middle", "all/score/last"} <= names
    for sort in ("last", "score"):  # issue 14: stage filters and /find
        assert {f"stage_talking/{sort}/p1", f"stage_won/{sort}/p1", f"find_common/{sort}/p1",
                f"find_none/{sort}/p1"} <= names
    assert result["cases"]["find_none/last/p1"]["rows"] == 0 and result["cases"]["find_common/last/p1"]["rows"]
    for name, case in result["cases"].items():
        assert case["n"] == 1 and case["max_ms"] >= case["p50_ms"] > 0
        if name.startswith("find_") and case["pages"] == 1:
            assert case["rows"] <= repo.PAGE_SIZE, name  # a search may find nobody
        elif case["pages"] > 1 and not name.endswith("/last"):
            assert case["rows"] == repo.PAGE_SIZE, name
        else:
            assert 1 <= case["rows"] <= repo.PAGE_SIZE, name
    assert result["cases"]["all/last/p1"]["pages"] == CONTACTS // repo.PAGE_SIZE
    assert result["n"] == len(names)


async def test_bench_paging_end_to_end(db_url, sessions):
    await seeded(sessions)
    result = await bench.paging_e2e(db_url, bench.TELEGRAM_ID, presses=3)
    assert result["presses"] == 3 and result["pages"] == CONTACTS // repo.PAGE_SIZE
    assert result["last_page_seen"] == 5  # the warm-up press, then 3 more: page 1 -> 5
    assert result["rows_on_last_screen"] == repo.PAGE_SIZE
    assert result["max_ms"] >= result["p95_ms"] >= result["p50_ms"] > 0


async def reference(session, user_id: int, page: int, query: ContactQuery) -> list[int]:
    dialect = session.get_bind().dialect.name
    stmt = repo._ordered(repo._filtered(user_id, query, dialect), query.sort)
    stmt = stmt.offset((page - 1) * repo.PAGE_SIZE).limit(repo.PAGE_SIZE)
    return [c.id for c in (await session.execute(stmt)).scalars()]


async def test_every_page_matches_the_reference_order(db_url, sessions):
    user_id = await seeded(sessions)
    async with sessions() as s:
        tags = await repo.user_tags(s, user_id)
    queries = [ContactQuery(f, sort, tag) for sort in Sort
               for f, tag in ((Filter.all, None), (Filter.hot, None), (Filter.high, None),
                              (Filter.unscored, None), (Filter.tag, tags[0]), (Filter.tag, tags[-1]))]
    queries += [ContactQuery(Filter.stage, sort, stage=stage) for sort in Sort for stage in ("talking", "won")]
    queries += [ContactQuery(Filter.search, sort, text=text) for sort in Sort for text in ("price", "zoe", "ok")]
    for query in queries:
        async with sessions() as s:
            first = await repo.list_contacts(s, user_id, 1, query)
            assert first.total > 0, query
            seen: list[int] = []
            for page in range(1, first.pages + 1):
                got = await repo.list_contacts(s, user_id, page, query)
                ids = [c.id for c in got.contacts]
                assert ids == await reference(s, user_id, page, query), (query, page)
                assert (got.page, got.pages, got.total) == (page, first.pages, first.total)
                assert all(c.user_id == user_id for c in got.contacts)
                seen += ids
            assert len(seen) == len(set(seen)) == first.total, query
            beyond = await repo.list_contacts(s, user_id, first.pages + 5, query)  # clamped to the last page
            assert beyond.page == first.pages and [c.id for c in beyond.contacts] == ids


async def test_tag_total_follows_writes_in_the_same_session(db_url, sessions):
    user_id = await seeded(sessions)
    async with sessions() as s:
        tags = await repo.user_tags(s, user_id)
        query = ContactQuery(Filter.tag, Sort.last, tags[-1])
        before = await repo.list_contacts(s, user_id, 1, query)  # total taken from user_tags' counts
        plain = [c for c in (await s.execute(select(Contact).where(Contact.user_id == user_id))).scalars()
                 if tags[-1] not in c.tags]
        assert await repo.set_manual_tags(s, user_id, plain[0].id, [tags[-1]])
        after = await repo.list_contacts(s, user_id, 1, query)
        assert after.total == before.total + 1
        listed = [c.id for page in range(1, after.pages + 1)
                  for c in (await repo.list_contacts(s, user_id, page, query)).contacts]
        assert plain[0].id in listed and len(listed) == after.total
    async with sessions() as s:
        assert (await repo.list_contacts(s, user_id, 1, query)).total == before.total  # rolled back
