"""Queries. Every contact query takes the creator's user id: a contact id alone never fetches a row."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, event, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from core.db.models import Contact, ContactTag, Message, User
from core.rules import DEFAULT_HOT_THRESHOLD, hot_clause
from core.timeutil import utcnow

PAGE_SIZE = 10


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """`INSERT … ON CONFLICT` builder for the session's dialect (same API on both)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# ---------------------------------------------------------------- users


async def ensure_user(session: AsyncSession, telegram_id: int, chat_id: int | None = None) -> User:
    """Create the creator if missing (race-safe upsert) and return it."""
    now = utcnow()
    stmt = dialect_insert(session, User).values(
        telegram_id=telegram_id, chat_id=chat_id, onboarding_step="niche", created_at=now, updated_at=now,
        ig_reconnect_notified=False, alerts_enabled=True, alert_threshold=DEFAULT_HOT_THRESHOLD, timezone="UTC",
        quiet_start_hour=22, quiet_end_hour=8,
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["telegram_id"]))
    user = (await session.execute(select(User).where(User.telegram_id == telegram_id))).scalar_one()
    if chat_id is not None and user.chat_id != chat_id:
        user.chat_id = chat_id
    return user


async def get_user(session: AsyncSession, telegram_id: int) -> User | None:
    return (await session.execute(select(User).where(User.telegram_id == telegram_id))).scalar_one_or_none()


async def get_user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


# ---------------------------------------------------------------- contacts

# session.info key: {user_id: {tag: contacts having it}} from user_tags, valid until the session writes or its
# transaction ends (a tag-filtered /contacts render resolves the tag with user_tags, then counts the same thing).
_TAG_COUNTS = "leadgram.repo.tag_counts"


@event.listens_for(Session, "do_orm_execute")
def _forget_on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info.pop(_TAG_COUNTS, None)


@event.listens_for(Session, "after_flush")
def _forget_on_flush(session: Session, _context: Any) -> None:
    session.info.pop(_TAG_COUNTS, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_on_end(session: Session, _transaction: Any) -> None:
    session.info.pop(_TAG_COUNTS, None)


class Filter(enum.StrEnum):
    all = "all"
    hot = "hot"
    high = "high"  # score >= 70
    unscored = "unscored"
    tag = "tag"
    stage = "stage"  # one stage (ContactQuery.stage)
    spam = "spam"  # the shelves: leads the creator moved out of the list
    archived = "archived"
    search = "search"  # /find: ContactQuery.text in name, username, tags or messages (shelved leads too)


class Sort(enum.StrEnum):
    last = "last"  # newest message first
    score = "score"  # best score first


HIGH_SCORE = 70


@dataclass(frozen=True)
class ContactQuery:
    filter: Filter = Filter.all
    sort: Sort = Sort.last
    tag: str | None = None
    hot_threshold: int = DEFAULT_HOT_THRESHOLD  # the creator's users.alert_threshold (Filter.hot)
    stage: str | None = None
    text: str | None = None  # Filter.search, already rules.search_key'd


def _conditions(user_id: int, query: ContactQuery, dialect: str = "sqlite") -> list[Any]:
    conds: list[Any] = [Contact.user_id == user_id]
    if query.filter is Filter.search:
        return conds + [_matches(query.text or "", dialect)]
    if query.filter in (Filter.spam, Filter.archived):
        return conds + [Contact.shelf == query.filter.value]
    conds.append(Contact.shelf.is_(None))  # shelved leads show only under their own filter
    if query.filter is Filter.hot:
        conds.append(hot_clause(Contact.lead_score, query.hot_threshold, Contact.stage, Contact.shelf))
    elif query.filter is Filter.stage and query.stage:
        conds.append(Contact.stage == query.stage)
    elif query.filter is Filter.high:
        conds.append(Contact.lead_score >= HIGH_SCORE)
    elif query.filter is Filter.unscored:
        conds.append(Contact.lead_score.is_(None))
    elif query.filter is Filter.tag and query.tag:
        conds.append(_has_tag(query.tag, dialect))
    return conds


def _matches(needle: str, dialect: str) -> Any:
    """search_text contains the (already folded) needle: what a /find match is. Pages of results are not read
    with this condition (a count and sort of every match): core/db/find.py reads them through the indexes."""
    return Contact.search_text.contains(needle, autoescape=True)


def _filtered(user_id: int, query: ContactQuery, dialect: str = "sqlite") -> Select[Any]:
    return select(Contact).where(*_conditions(user_id, query, dialect))


def _has_tag(tag: str, dialect: str = "sqlite") -> Any:
    if dialect == "postgresql":
        # JSONB containment: exact element match, evaluated on the covering index's tuples.
        from sqlalchemy import type_coerce
        from sqlalchemy.dialects.postgresql import JSONB

        return type_coerce(Contact.tags, JSONB).contains([tag])
    # SQLite: a LIKE on the JSON text (stored with ensure_ascii=False) must match the quoted tag.
    from sqlalchemy import String, cast

    needle = '"' + tag.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return cast(Contact.tags, String).contains(needle, autoescape=True)


def _sort_column(sort: Sort) -> Any:
    return Contact.lead_score if sort is Sort.score else Contact.last_message_at


def _ordered(stmt: Select[Any], sort: Sort) -> Select[Any]:
    """The list order: sort value descending with NULLs last, then newest id first."""
    return stmt.order_by(_sort_column(sort).desc().nulls_last(), Contact.id.desc())


@dataclass(frozen=True)
class _Walk:
    """What a list's ids are walked on: the contacts indexes, or contact_tags' (user_id, tag, key, contact_id)
    ones for a tag filter. Both hold the same sort keys, so the same window logic serves both."""

    conds: list[Any]
    id: Any
    last: Any
    score: Any

    def key(self, sort: Sort) -> Any:
        return self.score if sort is Sort.score else self.last


def _walk(user_id: int, query: ContactQuery, dialect: str) -> _Walk:
    if query.filter is Filter.tag and query.tag:
        return _Walk([ContactTag.user_id == user_id, ContactTag.tag == query.tag], ContactTag.contact_id,
                     ContactTag.last_message_at, ContactTag.lead_score)
    return _Walk(_conditions(user_id, query, dialect), Contact.id, Contact.last_message_at, Contact.lead_score)


@dataclass(frozen=True)
class Page:
    contacts: list[Contact]
    page: int  # 1-based, clamped into range
    pages: int
    total: int
    more: bool = False  # /find: more matched than total ("1,000+"); only rules.FIND_PAGED_MAX can be paged
    window: int | None = None  # /find of 1-2 characters: only the list's first `window` leads were looked at


async def list_contacts(
    session: AsyncSession, user_id: int, page: int = 1, query: ContactQuery | None = None,
    page_size: int = PAGE_SIZE,
) -> Page:
    """One page of a creator's contacts; an out-of-range page number is clamped, not an error.

    Built to stay fast at 100k contacts per creator: one count, then the page's ids from index-only walks
    (each filter x sort has a matching index, see migrations 0003 and 0007: tag filters walk contact_tags)
    from the nearer end of the list, and only those rows are loaded."""
    query = query or ContactQuery()
    if query.filter is Filter.search:
        from core.db.find import find_page

        found = await find_page(session, user_id, query.text or "", query.sort is Sort.score, page, page_size)
        return Page(await _load(session, user_id, found.ids), found.page, found.pages, found.total, found.more,
                    found.window)
    walk = _walk(user_id, query, session.get_bind().dialect.name)
    known = session.info.get(_TAG_COUNTS, {}).get(user_id) if query.filter is Filter.tag and query.tag else None
    if known is not None and query.tag is not None:
        total = known.get(query.tag, 0)  # user_tags ran in this transaction with no write since: same count
    else:
        total = await _count(session, user_id, query, walk)
    pages, page = _clamp(total, page, page_size)
    start = (page - 1) * page_size
    ids = await _window(session, walk, query, start, min(page_size, total - start), total)
    return Page(await _load(session, user_id, ids), page, pages, total)


async def _count(session: AsyncSession, user_id: int, query: ContactQuery, walk: _Walk) -> int:
    if query.filter is Filter.all:
        # Everyone minus the shelved: two narrow index-only counts. One count that checks `shelf IS NULL` on
        # every row is a sequential scan of the wide table on PostgreSQL (4x slower at 100k contacts).
        everyone = select(func.count()).where(Contact.user_id == user_id).scalar_subquery()
        shelved = select(func.count()).where(Contact.user_id == user_id, Contact.shelf.is_not(None)).scalar_subquery()
        return int((await session.execute(select(everyone - shelved))).scalar_one())
    return int((await session.execute(select(func.count()).where(*walk.conds))).scalar_one())


def _clamp(total: int, page: int, page_size: int) -> tuple[int, int]:
    pages = max(1, -(-total // page_size))
    return pages, min(max(1, page), pages)


async def _ids(session: AsyncSession, walk: _Walk, conds: list[Any], order: list[Any], offset: int,
               limit: int) -> list[int]:
    if limit <= 0:
        return []
    stmt = select(walk.id).where(*conds).order_by(*order).offset(offset).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def _window(session: AsyncSession, walk: _Walk, query: ContactQuery, start: int, size: int,
                  total: int) -> list[int]:
    """Ids of rows [start, start + size) of the list order, which is two index-ordered runs: contacts with a
    sort value (value desc, id desc), then those without (id desc). Each run is walked by its own index in
    either direction (PostgreSQL's btree sorts NULLs high, so one NULLS LAST walk could not use it); pages in
    the back half are read from the end, so no page walks more than half of the list."""
    if size <= 0:
        return []
    col, conds = walk.key(query.sort), walk.conds
    valued, nulls = conds + [col.is_not(None)], conds + [col.is_(None)]
    null_count: int | None = None
    if query.sort is Sort.score and query.filter is Filter.unscored:
        null_count = total
    elif query.sort is Sort.score and query.filter in (Filter.high, Filter.hot):
        null_count = 0

    async def count_nulls() -> int:
        if null_count is not None:
            return null_count
        return int((await session.execute(select(func.count()).where(*nulls))).scalar_one())

    after = total - start - size
    if start <= after:  # front half: forward from the top
        ids: list[int] = []
        if null_count != total:
            ids = await _ids(session, walk, valued, [col.desc(), walk.id.desc()], start, size)
        if len(ids) < size:
            offset = 0 if ids else start - (total - await count_nulls())
            ids += await _ids(session, walk, nulls, [walk.id.desc()], max(0, offset), size - len(ids))
        return ids
    # Back half: backward from the bottom, then reversed. The NULL run is counted first (an index-only count)
    # rather than probed with ORDER BY/LIMIT: an empty run the planner expects rows in would be walked in full.
    null_rows = await count_nulls()
    back = await _ids(session, walk, nulls, [walk.id.asc()], after, min(size, null_rows - after))
    back += await _ids(session, walk, valued, [col.asc(), walk.id.asc()], max(0, after - null_rows),
                       size - len(back))
    return back[::-1]


async def _load(session: AsyncSession, user_id: int, ids: list[int]) -> list[Contact]:
    if not ids:
        return []
    rows = (await session.execute(select(Contact).where(Contact.user_id == user_id, Contact.id.in_(ids)))).scalars()
    by_id = {c.id: c for c in rows}
    return [by_id[i] for i in ids if i in by_id]


MAX_ID = 2**31 - 1  # contacts.id is a 32-bit INTEGER on PostgreSQL


async def get_contact(session: AsyncSession, user_id: int, contact_id: int) -> Contact | None:
    if not 0 < contact_id <= MAX_ID:  # ids come from callback data (user input): out of range is "not found"
        return None
    stmt = select(Contact).where(Contact.id == contact_id, Contact.user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def user_tags(session: AsyncSession, user_id: int) -> list[str]:
    """All tags the creator uses, most used first ("used" = contacts in the list, i.e. not shelved, having the
    tag: the same count a tag filter shows)."""
    # Counted on contact_tags' (user_id, tag, …) index: one narrow index range, no JSON decoded.
    stmt = select(ContactTag.tag, func.count()).where(ContactTag.user_id == user_id).group_by(ContactTag.tag)
    counts = {str(tag): int(n) for tag, n in (await session.execute(stmt)).all()}
    session.info.setdefault(_TAG_COUNTS, {})[user_id] = counts  # the tag filter's total, for this transaction
    return sorted(counts, key=lambda t: (-counts[t], t))


async def stage_counts(session: AsyncSession, user_id: int) -> dict[tuple[str, str | None], int]:
    """{(stage, shelf): contacts}, grouped off the (user_id, stage, shelf, …) index."""
    stmt = (select(Contact.stage, Contact.shelf, func.count()).where(Contact.user_id == user_id)
            .group_by(Contact.stage, Contact.shelf))
    return {(str(stage), shelf): int(n) for stage, shelf, n in (await session.execute(stmt)).all()}


async def set_manual_tags(session: AsyncSession, user_id: int, contact_id: int, tags: list[str]) -> bool:
    """Replace tags and mark them manual (AI never overwrites them). False when not the creator's."""
    from core.rules import normalize_tags

    stmt = (
        update(Contact)
        .where(Contact.id == contact_id, Contact.user_id == user_id)
        .values(tags=normalize_tags(tags), tags_source="manual", updated_at=utcnow())
    )
    changed = bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]
    if changed:
        from core.db.search import refresh_search

        await refresh_search(session, user_id, [contact_id])  # tags are searchable
    return changed


async def set_manual_score(session: AsyncSession, user_id: int, contact_id: int, score: int) -> bool:
    """Write the creator's score (validated by core.services.score: rules.parse_score / SCORE_PRESETS)."""
    stmt = (
        update(Contact)
        .where(Contact.id == contact_id, Contact.user_id == user_id)
        .values(lead_score=score, score_source="manual", updated_at=utcnow())
    )
    return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def contact_messages(
    session: AsyncSession, user_id: int, contact_id: int, limit: int, offset: int = 0
) -> list[Message]:
    """Messages newest first (callers reverse for display); scoped by creator."""
    stmt = (
        select(Message)
        .where(Message.user_id == user_id, Message.contact_id == contact_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def count_messages(session: AsyncSession, user_id: int, contact_id: int) -> int:
    stmt = select(func.count()).where(Message.user_id == user_id, Message.contact_id == contact_id)
    return int((await session.execute(stmt)).scalar_one())


def needs_scoring() -> Any:
    """Contacts with no score or tags, or with messages newer than the last scoring."""
    return or_(
        Contact.lead_score.is_(None),
        Contact.scored_at.is_(None),
        and_(Contact.last_message_at.is_not(None), or_(
            Contact.scored_through.is_(None), Contact.last_message_at > Contact.scored_through,
        )),
    )
