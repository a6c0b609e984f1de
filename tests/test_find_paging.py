"""/find's pages (core/db/find.py, through repo.list_contacts and the /find use case) on both dialects: the
list's order in both sorts, an exact count up to the cap and "more" beyond it (only the capped pages reachable),
1-2 letter queries looked for in the list's first leads only, accents and case ignored, one creator's leads only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from core.db import repo
from core.db.engine import transaction
from core.db.find import find_page
from core.db.models import Contact
from core.db.repo import ContactQuery, Filter, Sort
from core.db.search import search_text
from core.rules import FIND_EXACT_MAX, FIND_PAGED_MAX, search_key
from core.services import paging, search
from core.timeutil import utcnow

T0 = utcnow().replace(microsecond=0)
N = 60


def row(user_id: int, n: int, name: str, text: str, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "user_id": user_id, "instagram_id": f"ig{user_id}_{n}", "username": f"lead_{n}", "name": name, "tags": [],
        "lead_score": (n * 37) % 101, "message_count": 1, "hot_episode": 0, "last_message": text,
        # Ties on purpose (every third lead shares a time): the id decides, as in the list.
        "last_message_at": T0 - timedelta(minutes=n // 3), "created_at": T0, "updated_at": T0}
    base.update(values)
    base["search_text"] = search_text(base["name"], base["username"], base["tags"], [text])
    return base


async def seeded(sessions) -> tuple[int, int]:
    async with transaction(sessions) as s:
        me = (await repo.ensure_user(s, 8801, 8801)).id
        other = (await repo.ensure_user(s, 8802, 8802)).id
    rows = []
    for n in range(N):
        text = ("what is the PRICE?" if n % 2 == 0 else "hello there") + (" see you tomorrow" if n % 10 == 0 else "")
        extra: dict[str, Any] = {}
        if n % 7 == 0:
            extra["last_message_at"] = None  # no messages yet: the NULL run of the newest-first order
        if n % 5 == 0:
            extra["lead_score"] = None  # unscored: the NULL run of the by-score order
        name = "Léa Núñez" if n % 9 == 0 else "D'Arcy 100%_sure \\o/ 'x'" if n in (13, 14) else f"Ann {n}"
        rows.append(row(me, n, name, text, **extra))
    rows += [row(other, n, "Léa", "price price tomorrow ok") for n in range(40)]  # never shown to me
    async with transaction(sessions) as s:
        await s.execute(insert(Contact.__table__), rows)
    return me, other


async def expected(sessions, user_id: int, needle: str, sort: Sort) -> list[int]:
    """The reference: every match, in the list order (value descending, NULLs last, newest id first)."""
    col = Contact.lead_score if sort is Sort.score else Contact.last_message_at
    async with sessions() as s:
        stmt = (select(Contact.id).where(Contact.user_id == user_id,
                                         Contact.search_text.contains(search_key(needle), autoescape=True))
                .order_by(col.desc().nulls_last(), Contact.id.desc()))
        return list((await s.execute(stmt)).scalars())


async def all_pages(sessions, user_id: int, query: ContactQuery, size: int = 10) -> tuple[list[int], repo.Page]:
    async with sessions() as s:
        first = await repo.list_contacts(s, user_id, 1, query, page_size=size)
        ids: list[int] = []
        for p in range(1, first.pages + 1):
            page = await repo.list_contacts(s, user_id, p, query, page_size=size)
            assert (page.page, page.pages, page.total) == (p, first.pages, first.total)
            assert all(c.user_id == user_id for c in page.contacts)
            ids += [c.id for c in page.contacts]
    return ids, first


async def test_results_in_list_order_exact_count_and_accents(db_url, sessions) -> None:
    me, _ = await seeded(sessions)
    # Quotes, LIKE's wildcards and its escape character are plain text to /find.
    for needle in ("price", "TOMORROW", "lea nunez", "LÉA NÚÑEZ", "lead_4", "d'arcy 100%_sure \\o/ 'x'", "0%_s"):
        for sort in Sort:
            want = await expected(sessions, me, needle, sort)
            assert want, needle
            ids, first = await all_pages(sessions, me, ContactQuery(Filter.search, sort, text=search_key(needle)))
            assert ids == want, (needle, sort)
            assert first.total == len(want) and not first.more and first.window is None
    # "Léa" typed any way finds the same leads (the stored text and the query are folded alike).
    assert await expected(sessions, me, "lea nunez", Sort.last) == await expected(sessions, me, "LÉA NÚÑEZ", Sort.last)
    async with sessions() as s:
        nobody = await repo.list_contacts(s, me, 3, ContactQuery(Filter.search, text="xyzzy"))
    assert (nobody.contacts, nobody.page, nobody.pages, nobody.total) == ([], 1, 1, 0)


async def test_beyond_the_cap_the_first_matches_in_list_order_and_more(db_url, sessions) -> None:
    me, _ = await seeded(sessions)
    for sort in Sort:
        want = await expected(sessions, me, "price", sort)  # 30 matches
        async with sessions() as s:
            exact = await find_page(s, me, "price", sort is Sort.score, 1, 10, cap=len(want))
            assert (exact.total, exact.pages, exact.more) == (len(want), 3, False)  # exactly the cap: exact
            shown: list[int] = []
            for p in (1, 2):  # one over the cap: "29+", and the first 20 (`paged`) can be paged through
                capped = await find_page(s, me, "price", sort is Sort.score, p, 10, cap=len(want) - 1, paged=20)
                assert (capped.page, capped.pages, capped.total, capped.more) == (p, 2, len(want) - 1, True)
                shown += capped.ids
            assert shown == want[:20], sort  # the walk of the list index finds the same first matches
            beyond = await find_page(s, me, "price", sort is Sort.score, 9, 10, cap=len(want) - 1, paged=20)
            assert beyond.page == 2 and beyond.ids == want[10:20]  # a page past the reachable ones: the last
    assert FIND_PAGED_MAX % repo.PAGE_SIZE == 0 and FIND_PAGED_MAX <= FIND_EXACT_MAX


async def test_two_letters_look_at_the_first_leads_of_the_list_only(db_url, sessions) -> None:
    me, _ = await seeded(sessions)
    for sort in Sort:
        everyone = await expected(sessions, me, "", sort)
        async with sessions() as s:
            found = await find_page(s, me, "pr", sort is Sort.score, 1, 10, window=25)
            later = await find_page(s, me, "pr", sort is Sort.score, 2, 10, window=25)
        within = set(everyone[:25])
        want = [cid for cid in await expected(sessions, me, "pr", sort) if cid in within]
        assert found.window == 25 and found.total == len(want) and not found.more
        assert found.ids + later.ids == want[:20], sort
    # Through the list with the real window: every lead here is within it, so every match shows.
    ids, first = await all_pages(sessions, me, ContactQuery(Filter.search, Sort.last, text="pr"))
    assert ids == await expected(sessions, me, "pr", Sort.last) and first.window is not None


async def test_the_find_use_case_keeps_the_query_and_refuses_nothing_searchable(db_url, sessions) -> None:
    me, _ = await seeded(sessions)
    async with sessions() as s:
        user = await repo.get_user(s, 8801)
        assert user is not None
        query = await search.start_find(s, user, "  #LÉA   núñez ")
        assert isinstance(query, ContactQuery) and query.text == "lea nunez"
        assert await search.start_find(s, user, "\u0301") is search.FindRefused.EMPTY
        assert await search.start_find(s, user, "x" * 101) is search.FindRefused.TOO_LONG
    async with sessions() as s:
        user = await repo.get_user(s, 8801)
        assert user is not None and user.last_find == "#LÉA núñez"  # kept: any replica pages the results
        again = search.query_for(user, Sort.score)
        page = await repo.list_contacts(s, me, 1, again)
    assert [c.id for c in page.contacts] == (await expected(sessions, me, "lea nunez", Sort.score))[:10]


async def test_jump_to_a_typed_page_of_a_filtered_list_and_of_find(db_url, sessions) -> None:
    me, _ = await seeded(sessions)
    async with sessions() as s:
        user = await repo.get_user(s, 8801)
        assert user is not None
        stage = ContactQuery(Filter.stage, Sort.score, stage="new")  # all 60 are "new": 6 pages
        done = await paging.jump(s, user, stage, " 4 ")
        assert isinstance(done, paging.Jumped) and (done.asked, done.shown.page.page, done.beyond) == (4, 4, None)
        plain = await repo.list_contacts(s, me, 4, stage)
        assert [c.id for c in done.shown.page.contacts] == [c.id for c in plain.contacts]
        far = await paging.jump(s, user, stage, "99")
        assert isinstance(far, paging.Jumped) and (far.asked, far.shown.page.page) == (99, 6)
        assert far.beyond is paging.Beyond.LAST
        visited = user.last_contacts_view_at
        for garbage in ("", None, "abc", "0", "-1", "2.5", "#3", "٣", "9" * 20, "3 4"):
            refused = await paging.jump(s, user, stage, garbage, new_visit=True)
            assert refused is paging.JumpRefused.NOT_A_PAGE, garbage
        assert user.last_contacts_view_at == visited  # a refused /contacts N is not a visit
        assert isinstance(await paging.jump(s, user, stage, "2", new_visit=True), paging.Jumped)
        assert user.last_contacts_view_at != visited
        found = await paging.jump(s, user, ContactQuery(Filter.search, text="price"), "3")
        assert isinstance(found, paging.Jumped) and found.shown.page.page == 3 and found.beyond is None
        assert [c.id for c in found.shown.page.contacts] == (await expected(sessions, me, "price", Sort.last))[20:30]


async def test_jump_past_the_pages_a_common_word_can_show(db_url, sessions) -> None:
    me, _ = await seeded(sessions)
    async with transaction(sessions) as s:  # more leads writing "price" than are counted
        await s.execute(insert(Contact.__table__), [row(me, 1000 + n, f"Bo {n}", "price please")
                                                    for n in range(FIND_EXACT_MAX + 5)])
    async with sessions() as s:
        user = await repo.get_user(s, 8801)
        assert user is not None
        query = ContactQuery(Filter.search, Sort.last, text="price")
        first = await repo.list_contacts(s, me, 1, query)
        assert (first.total, first.more, first.pages) == (FIND_EXACT_MAX, True, FIND_PAGED_MAX // repo.PAGE_SIZE)
        last = await paging.jump(s, user, query, str(first.pages + 1))
        assert isinstance(last, paging.Jumped) and last.beyond is paging.Beyond.FIND_CAP
        assert last.shown.page.page == first.pages
        want = (await expected(sessions, me, "price", Sort.last))[(first.pages - 1) * 10:first.pages * 10]
        assert [c.id for c in last.shown.page.contacts] == want
