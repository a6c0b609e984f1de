"""/contacts and /hot: one page of a creator's leads, with the creator's hot threshold and 🆕 marks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import repo
from core.db.models import User
from core.db.repo import ContactQuery, Filter, Page, Sort
from core.services.listing import Row, row
from core.timeutil import utcnow


@dataclass(frozen=True)
class ContactsPage:
    page: Page
    rows: list[Row]
    query: ContactQuery


def query_for(user: User, filter: Filter = Filter.all, sort: Sort = Sort.last, tag: str | None = None,
              stage: str | None = None) -> ContactQuery:
    """The list query with the creator's own hot threshold (rules.is_hot)."""
    return ContactQuery(filter=filter, sort=sort, tag=tag, stage=stage, hot_threshold=user.alert_threshold)


async def start_visit(session: AsyncSession, user: User) -> None:
    """A new /contacts visit: 🆕 marks what arrived since the previous visit (kept while paging). Commits."""
    user.prev_contacts_view_at = user.last_contacts_view_at
    user.last_contacts_view_at = utcnow()
    await session.commit()


async def list_page(session: AsyncSession, user: User, page: int, query: ContactQuery, *,
                    in_visit: bool = True) -> ContactsPage:
    """One page (out-of-range numbers clamped). 🆕 = created since the previous visit; outside a visit (the
    CLI table), since the last one."""
    found = await repo.list_contacts(session, user.id, page, query)
    since = user.prev_contacts_view_at if in_visit else user.last_contacts_view_at
    now = utcnow()
    return ContactsPage(found, [row(c, now, since, user.alert_threshold) for c in found.contacts], query)
