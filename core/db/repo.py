"""Queries. Every contact query takes the creator's user id: a contact id alone never fetches a row."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

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


def _filtered(user_id: int, query: ContactQuery) -> Select[Any]:
    stmt = select(Contact).where(Contact.user_id == user_id)
    if query.filter is Filter.hot:
        stmt = stmt.where(Contact.sentiment == "hot")
    elif query.filter is Filter.high:
        stmt = stmt.where(Contact.lead_score >= HIGH_SCORE)
    elif query.filter is Filter.unscored:
        stmt = stmt.where(Contact.lead_score.is_(None))
    elif query.filter is Filter.tag and query.tag:
        stmt = stmt.where(_has_tag(query.tag))
    return stmt


def _has_tag(tag: str) -> Any:
    # JSON containment differs per dialect; a LIKE on the JSON text is portable but must match the quoted tag.
    from sqlalchemy import String, cast

    needle = '"' + tag.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return cast(Contact.tags, String).contains(needle, autoescape=True)


def _ordered(stmt: Select[Any], sort: Sort) -> Select[Any]:
    if sort is Sort.score:
        return stmt.order_by(Contact.lead_score.desc().nulls_last(), Contact.id.desc())
    return stmt.order_by(Contact.last_message_at.desc().nulls_last(), Contact.id.desc())


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
    """One page of a creator's contacts; an out-of-range page number is clamped, not an error."""
    query = query or ContactQuery()
    base = _filtered(user_id, query)
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    stmt = _ordered(base, query.sort).offset((page - 1) * page_size).limit(page_size)
    rows = list((await session.execute(stmt)).scalars())
    return Page(rows, page, pages, total)


async def get_contact(session: AsyncSession, user_id: int, contact_id: int) -> Contact | None:
    stmt = select(Contact).where(Contact.id == contact_id, Contact.user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def user_tags(session: AsyncSession, user_id: int) -> list[str]:
    """All tags the creator uses, most used first."""
    rows = (await session.execute(select(Contact.tags).where(Contact.user_id == user_id))).scalars()
    counts: dict[str, int] = {}
    for tags in rows:
        for tag in tags or []:
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts, key=lambda t: (-counts[t], t))


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
