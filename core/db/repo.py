"""Queries. Every contact query takes the creator's user id: a contact id alone never fetches a row."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, event, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from core.db.models import Contact, Message, User
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
        ig_reconnect_notified=False, alerts_enabled=True, alert_threshold=80, timezone="UTC",
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


class Sort(enum.StrEnum):
    last = "last"  # newest message first
    score = "score"  # best score first


HIGH_SCORE = 70


@dataclass(frozen=True)
class ContactQuery:
    filter: Filter = Filter.all
    sort: Sort = Sort.last
    tag: str | None = None


def _conditions(user_id: int, query: ContactQuery, dialect: str = "sqlite") -> list[Any]:
    conds: list[Any] = [Contact.user_id == user_id]
    if query.filter is Filter.hot:
        conds.append(Contact.sentiment == "hot")
    elif query.filter is Filter.high:
        conds.append(Contact.lead_score >= HIGH_SCORE)
    elif query.filter is Filter.unscored:
        conds.append(Contact.lead_score.is_(None))
    elif query.filter is Filter.tag and query.tag:
        conds.append(_has_tag(query.tag, dialect))
    return conds


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
class Page:
    contacts: list[Contact]
    page: int  # 1-based, clamped into range
    pages: int
    total: int


async def list_contacts(
    session: AsyncSession, user_id: int, page: int = 1, query: ContactQuery | None = None,
    page_size: int = PAGE_SIZE,
) -> Page:
    """One page of a creator's contacts; an out-of-range page number is clamped, not an error.

    Built to stay fast at 100k contacts per creator: one count, then the page's ids from index-only walks
    (each filter x sort has a matching index, see migration 0003) from the nearer end of the list, and only
    those rows are loaded."""
    query = query or ContactQuery()
    dialect = session.get_bind().dialect.name
    conds = _conditions(user_id, query, dialect)
    known = session.info.get(_TAG_COUNTS, {}).get(user_id) if query.filter is Filter.tag and query.tag else None
    if known is not None and query.tag is not None:
        total = known.get(query.tag, 0)  # user_tags ran in this transaction with no write since: same count
    else:
        total = int((await session.execute(select(func.count()).where(*conds))).scalar_one())
    pages, page = _clamp(total, page, page_size)
    start = (page - 1) * page_size
    ids = await _window(session, conds, query, start, min(page_size, total - start), total)
    return Page(await _load(session, user_id, ids), page, pages, total)


def _clamp(total: int, page: int, page_size: int) -> tuple[int, int]:
    pages = max(1, -(-total // page_size))
    return pages, min(max(1, page), pages)


async def _ids(session: AsyncSession, conds: list[Any], order: list[Any], offset: int, limit: int) -> list[int]:
    if limit <= 0:
        return []
    stmt = select(Contact.id).where(*conds).order_by(*order).offset(offset).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def _window(session: AsyncSession, conds: list[Any], query: ContactQuery, start: int, size: int,
                  total: int) -> list[int]:
    """Ids of rows [start, start + size) of the list order, which is two index-ordered runs: contacts with a
    sort value (value desc, id desc), then those without (id desc). Each run is walked by its own index in
    either direction (PostgreSQL's btree sorts NULLs high, so one NULLS LAST walk could not use it); pages in
    the back half are read from the end, so no page walks more than half of the list."""
    if size <= 0:
        return []
    col = _sort_column(query.sort)
    valued, nulls = conds + [col.is_not(None)], conds + [col.is_(None)]
    null_count: int | None = None
    if query.sort is Sort.score and query.filter is Filter.unscored:
        null_count = total
    elif query.sort is Sort.score and query.filter is Filter.high:
        null_count = 0

    async def count_nulls() -> int:
        if null_count is not None:
            return null_count
        return int((await session.execute(select(func.count()).where(*nulls))).scalar_one())

    after = total - start - size
    if start <= after:  # front half: forward from the top
        ids: list[int] = []
        if null_count != total:
            ids = await _ids(session, valued, [col.desc(), Contact.id.desc()], start, size)
        if len(ids) < size:
            offset = 0 if ids else start - (total - await count_nulls())
            ids += await _ids(session, nulls, [Contact.id.desc()], max(0, offset), size - len(ids))
        return ids
    # Back half: backward from the bottom, then reversed. The NULL run is counted first (an index-only count)
    # rather than probed with ORDER BY/LIMIT: an empty run the planner expects rows in would be walked in full.
    null_rows = await count_nulls()
    back = await _ids(session, nulls, [Contact.id.asc()], after, min(size, null_rows - after))
    back += await _ids(session, valued, [col.asc(), Contact.id.asc()], max(0, after - null_rows), size - len(back))
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
    """All tags the creator uses, most used first."""
    # Counted in SQL (the lists grouped off the (user_id, tags) index, then split into tags): 100k contacts
    # mean ~20 rows here, not 100k JSON documents decoded. "Used" = contacts that have the tag.
    sql = _TAG_COUNT_SQL[session.get_bind().dialect.name == "postgresql"]
    counts = {str(tag): int(n) for tag, n in (await session.execute(sql, {"user_id": user_id})).all()}
    session.info.setdefault(_TAG_COUNTS, {})[user_id] = counts  # the tag filter's total, for this transaction
    return sorted(counts, key=lambda t: (-counts[t], t))


# Tag lists are normalized on every write (rules.normalize_tags: no duplicates), so summing each distinct list's
# count per element counts contacts.
_TAG_COUNT_SQL = {
    False: text(
        "SELECT j.value, sum(g.n) FROM (SELECT tags, count(*) AS n FROM contacts WHERE user_id = :user_id"
        " GROUP BY tags) AS g, json_each(g.tags) AS j"
        " WHERE json_type(g.tags) = 'array' AND j.type = 'text' GROUP BY j.value"),
    True: text(
        "SELECT t.value, sum(g.n) FROM (SELECT tags, count(*) AS n FROM contacts WHERE user_id = :user_id"
        " GROUP BY tags) AS g CROSS JOIN LATERAL jsonb_array_elements_text("
        "CASE WHEN jsonb_typeof(g.tags) = 'array' THEN g.tags ELSE '[]'::jsonb END) AS t(value)"
        " WHERE t.value IS NOT NULL GROUP BY t.value"),
}


async def set_manual_tags(session: AsyncSession, user_id: int, contact_id: int, tags: list[str]) -> bool:
    """Replace tags and mark them manual (AI never overwrites them). False when not the creator's."""
    from core.rules import normalize_tags

    stmt = (
        update(Contact)
        .where(Contact.id == contact_id, Contact.user_id == user_id)
        .values(tags=normalize_tags(tags), tags_source="manual", updated_at=utcnow())
    )
    return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def set_manual_score(session: AsyncSession, user_id: int, contact_id: int, score: int) -> bool:
    from core.rules import clamp_score

    value = clamp_score(score)
    stmt = (
        update(Contact)
        .where(Contact.id == contact_id, Contact.user_id == user_id)
        .values(lead_score=value, score_source="manual", updated_at=utcnow())
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


async def new_since(session: AsyncSession, user_id: int, since: datetime | None) -> int:
    stmt = select(func.count()).where(Contact.user_id == user_id)
    if since is not None:
        stmt = stmt.where(Contact.created_at > since)
    return int((await session.execute(stmt)).scalar_one())
