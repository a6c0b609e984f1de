"""One page of /find results at 100k leads, in the list's own order, without counting or sorting every match.

Three ways, picked by what the query is, never by the planner's guess:
- up to FIND_EXACT_MAX matches (counted through the trigram index with LIMIT cap + 1, so a common word stops
  there): the page is a top-N sort of those few matches in the database, and the count is exact.
- more than that (a common word: "price" is in 42% of chats): the count says "1,000+" and only the first
  FIND_PAGED_MAX matches can be paged through: the list's own index is walked in list order and each row's text
  checked, stopping after the page (LIMIT). At least 1 row in N/FIND_EXACT_MAX matches, so reaching the last
  reachable match reads at most FIND_PAGED_MAX * N / FIND_EXACT_MAX rows (10k at 100k leads, far fewer for a
  really common word), whatever the word; counting or sorting every match would read all of them.
- 1–2 characters (below the trigram length, so no index can find them): only the first FIND_SHORT_WINDOW leads
  of the list are looked at (an index-only walk), exactly counted within them.
strpos/instr (not LIKE) is the check while walking so PostgreSQL cannot swap the walk for a GIN bitmap + sort.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Contact
from core.rules import FIND_EXACT_MAX, FIND_INDEXED_MIN, FIND_PAGED_MAX, FIND_SHORT_WINDOW


@dataclass(frozen=True)
class Found:
    ids: list[int]  # the page's contact ids, in list order
    page: int  # clamped into 1..pages
    pages: int  # pages that can be shown
    total: int  # matches, exact up to the cap
    more: bool = False  # more matched than the cap ("1,000+"): only the first `paged` can be shown
    window: int | None = None  # a short query looked only at the list's first `window` leads


async def find_page(session: AsyncSession, user_id: int, needle: str, by_score: bool, page: int, page_size: int,
                    cap: int = FIND_EXACT_MAX, window: int = FIND_SHORT_WINDOW,
                    paged: int = FIND_PAGED_MAX) -> Found:
    """`needle` is already rules.search_key'd. Scoped to the creator; shelved leads are found too."""
    if not needle:
        return Found([], 1, 1, 0)
    if len(needle) < FIND_INDEXED_MIN:
        ids = await _short(session, user_id, needle, by_score, window)
        pages, page = _clamp(len(ids), page, page_size)
        return Found(ids[(page - 1) * page_size:page * page_size], page, pages, len(ids), window=window)
    matches = await _count(session, user_id, needle, cap + 1)
    if matches <= cap:
        pages, page = _clamp(matches, page, page_size)
        ids = await _sorted(session, user_id, needle, by_score, (page - 1) * page_size, page_size)
        return Found(ids, page, pages, matches)
    pages, page = _clamp(paged, page, page_size)
    ids = await _walk(session, user_id, needle, by_score, page * page_size)
    return Found(ids[(page - 1) * page_size:], page, pages, cap, more=True)


def _clamp(total: int, page: int, page_size: int) -> tuple[int, int]:
    pages = max(1, -(-total // page_size))
    return pages, min(max(1, page), pages)


def _sort_key(by_score: bool) -> Any:
    return Contact.lead_score if by_score else Contact.last_message_at


def _contains(session: AsyncSession, needle: str) -> Any:
    fn = func.strpos if session.get_bind().dialect.name == "postgresql" else func.instr
    return fn(Contact.search_text, needle) > 0


def _null_run(col: Any) -> list[Any]:
    """The NULL run's order (newest id first) said as `col DESC, id DESC`: the sort index walked backward gives
    exactly that (col is NULL throughout), where `ORDER BY id DESC` alone makes PostgreSQL walk the primary key
    and filter (71 ms instead of 1 at 100k)."""
    return [col.desc(), Contact.id.desc()]


def _trigram_like(needle: str) -> Any:
    """PostgreSQL: LIKE '%needle%' served by the pg_trgm GIN index. The pattern is inlined (safely quoted by the
    driver's literal rendering) so every query is planned for its own word, never with a generic plan."""
    escaped = needle.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return Contact.search_text.like(bindparam("find_pattern", f"%{escaped}%", literal_execute=True), escape="/")


def _fts(sql: str, needle: str, user_id: int, **params: Any) -> Any:
    """SQLite: the FTS5 trigram table drives (CROSS JOIN keeps it the outer loop); a phrase is a substring match."""
    return text(sql.replace("{match}", "FROM contacts_fts CROSS JOIN contacts c WHERE contacts_fts MATCH :phrase "
                                       "AND c.id = contacts_fts.rowid AND c.user_id = :uid")).bindparams(
        phrase='"' + needle.replace('"', '""') + '"', uid=user_id, **params)


async def _count(session: AsyncSession, user_id: int, needle: str, limit: int) -> int:
    """Matches, counted up to `limit` through the trigram index (stops there: no page count of 42,000 rows)."""
    if session.get_bind().dialect.name == "postgresql":
        some = select(Contact.id).where(Contact.user_id == user_id, _trigram_like(needle)).limit(limit).subquery()
        stmt: Any = select(func.count()).select_from(some)
    else:
        stmt = _fts("SELECT count(*) FROM (SELECT 1 {match} LIMIT :lim)", needle, user_id, lim=limit)
    return int((await session.execute(stmt)).scalar_one())


async def _sorted(session: AsyncSession, user_id: int, needle: str, by_score: bool, offset: int,
                  limit: int) -> list[int]:
    """One page of at most FIND_EXACT_MAX matches, sorted by the database in list order (value descending, NULLs
    last, newest id first): a small top-N sort of the matches found through the trigram index."""
    if session.get_bind().dialect.name == "postgresql":
        # NULLS LAST cannot walk the sort index (its backward walk puts NULLs first): the GIN index is the way in.
        stmt: Any = (select(Contact.id).where(Contact.user_id == user_id, _trigram_like(needle))
                     .order_by(_sort_key(by_score).desc().nulls_last(), Contact.id.desc()).offset(offset).limit(limit))
    else:
        column = "lead_score" if by_score else "last_message_at"  # SQLite sorts NULLs last in DESC already
        stmt = _fts(f"SELECT c.id {{match}} ORDER BY c.{column} DESC, c.id DESC LIMIT :lim OFFSET :off", needle,
                    user_id, lim=limit, off=offset)
    return list((await session.execute(stmt)).scalars())


async def _walk(session: AsyncSession, user_id: int, needle: str, by_score: bool, limit: int) -> list[int]:
    """The first `limit` matches in list order: the valued run of the sort index, then its NULL run."""
    col = _sort_key(by_score)
    base = [Contact.user_id == user_id, _contains(session, needle)]
    ids = list((await session.execute(select(Contact.id).where(*base, col.is_not(None))
                                      .order_by(col.desc(), Contact.id.desc()).limit(limit))).scalars())
    if len(ids) < limit:
        ids += (await session.execute(select(Contact.id).where(*base, col.is_(None))
                                      .order_by(*_null_run(col)).limit(limit - len(ids)))).scalars()
    return ids


async def _short(session: AsyncSession, user_id: int, needle: str, by_score: bool, window: int) -> list[int]:
    """Matches among the list's first `window` leads, in list order: each run's window is a LIMITed walk of the
    sort index, its text checked on the way (one query per run, ids and a hit flag back)."""
    col = _sort_key(by_score)
    mine = Contact.user_id == user_id
    runs = ((col.is_not(None), [col.desc(), Contact.id.desc()]), (col.is_(None), _null_run(col)))
    ids: list[int] = []
    seen = 0
    for cond, order in runs:
        if seen >= window:
            break
        rows = (await session.execute(select(Contact.id, _contains(session, needle)).where(mine, cond)
                                      .order_by(*order).limit(window - seen))).all()
        seen += len(rows)
        ids += [cid for cid, hit in rows if hit]
    return ids
