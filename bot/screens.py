"""Each screen = (HTML text, keyboard, link preview), built from the creator's own data only."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, rendering
from bot.callbacks import ListCb, find_tag, literal_tag
from core.db import repo
from core.db.models import Contact, User
from core.db.repo import ContactQuery, Filter, Sort
from core.services.listing import row
from core.timeutil import utcnow

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None
    preview: LinkPreviewOptions = NO_PREVIEW


async def resolve_query(session: AsyncSession, user: User, cb: ListCb) -> ContactQuery:
    """Callback values are user input: unknown filters/sorts/tags fall back to the defaults."""
    sort = Sort(cb.s) if cb.s in Sort.__members__ else Sort.last
    filt = Filter(cb.f) if cb.f in Filter.__members__ else Filter.all
    tag = None
    if filt is Filter.tag:
        # A literal tag is used as is (an unknown one simply matches nobody); only hashed ones need the list.
        tag = literal_tag(cb.t) or find_tag(cb.t, await repo.user_tags(session, user.id))
        if tag is None:
            filt = Filter.all
    return ContactQuery(filter=filt, sort=sort, tag=tag)


async def contacts_list(session: AsyncSession, user: User, cb: ListCb, query: ContactQuery | None = None) -> Screen:
    query = query or await resolve_query(session, user, cb)
    page = await repo.list_contacts(session, user.id, cb.p, query)
    now = utcnow()
    rows = [row(c, now, user.prev_contacts_view_at) for c in page.contacts]
    return Screen(rendering.list_text(page, rows, query), keyboards.list_keyboard(page, rows, query))


def start_visit(user: User) -> None:
    """A new /contacts visit: 🆕 marks what arrived since the previous visit (kept while paging)."""
    user.prev_contacts_view_at = user.last_contacts_view_at
    user.last_contacts_view_at = utcnow()


def card(contact: Contact, back: ListCb) -> Screen:
    preview = NO_PREVIEW
    if contact.avatar_url and contact.avatar_url.startswith("https://"):
        # The avatar rides on the card as a small photo preview, so the whole card stays one editable message.
        preview = LinkPreviewOptions(url=contact.avatar_url, prefer_small_media=True, show_above_text=True)
    return Screen(rendering.card_text(contact, utcnow()), keyboards.card_keyboard(contact, back), preview)


async def chat(session: AsyncSession, user: User, contact: Contact, back: ListCb, page: int) -> Screen:
    total = await repo.count_messages(session, user.id, contact.id)
    pages = max(1, -(-total // rendering.CHAT_PAGE))
    page = min(max(1, page), pages)
    newest_first = await repo.contact_messages(session, user.id, contact.id, rendering.CHAT_PAGE,
                                               (page - 1) * rendering.CHAT_PAGE)
    text = rendering.chat_text(contact, list(reversed(newest_first)), page, pages, utcnow())
    return Screen(text, keyboards.chat_keyboard(contact, back, page, pages))


async def tags(session: AsyncSession, user: User, contact: Contact, back: ListCb) -> Screen:
    known = await repo.user_tags(session, user.id)
    ordered = list(contact.tags or []) + [t for t in sorted(known) if t not in (contact.tags or [])]
    return Screen(rendering.tags_text(contact), keyboards.tags_keyboard(contact, ordered[:30], back))


def score(contact: Contact, back: ListCb) -> Screen:
    return Screen(rendering.score_text(contact), keyboards.score_keyboard(contact, back))
