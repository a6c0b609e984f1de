"""Each screen = (HTML text, keyboard, link preview), built from the creator's own data only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, rendering
from bot.callbacks import ListCb, find_tag, literal_of, literal_tag
from core.clients.instagram import MAX_TEXT_BYTES
from core.db.models import Contact, Reply, User
from core.db.repo import ContactQuery, Filter, Page, Sort
from core.rules import tag_fold
from core.services import card as card_service
from core.services import contacts, search, stages
from core.services import notes as notes_service
from core.services import reminders as reminders_service
from core.services import tags as tags_service
from core.services.reminders import PAGE as REMINDERS_PAGE
from core.services.reminders import RemindersPage
from core.services.reply import byte_size, reply_window
from core.timeutil import utcnow

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None
    preview: LinkPreviewOptions = NO_PREVIEW
    page: Page | None = None  # a list screen's page (which page was shown, of how many)


async def resolve_query(session: AsyncSession, user: User, cb: ListCb) -> ContactQuery:
    """Callback values are user input: unknown filters/sorts/tags fall back to the defaults."""
    sort = Sort(cb.s) if cb.s in Sort.__members__ else Sort.last
    filt = Filter(cb.f) if cb.f in Filter.__members__ else Filter.all
    tag = None
    if filt is Filter.search:  # a literal key is that search's own text; a hashed one can only be the latest
        return search.query_for(user, sort, literal_of(cb.t))
    if filt is Filter.stage:
        stage = stages.key_of(user, cb.t)
        return contacts.query_for(user, filt if stage else Filter.all, sort, stage=stage)
    if filt is Filter.tag:
        # A literal tag is used as is (an unknown one simply matches nobody); only hashed ones need the list.
        tag = literal_tag(cb.t) or find_tag(cb.t, await tags_service.known_tags(session, user))
        if tag is None:
            filt = Filter.all
    return contacts.query_for(user, filt, sort, tag=tag)


async def contacts_list(session: AsyncSession, user: User, cb: ListCb, query: ContactQuery | None = None) -> Screen:
    query = query or await resolve_query(session, user, cb)
    return list_screen(user, await contacts.list_page(session, user, cb.p, query))


def list_screen(user: User, shown: contacts.ContactsPage) -> Screen:
    """A page already listed (e.g. by core.services.paging.jump) as the list screen."""
    names = stages.names_of(user)
    return Screen(rendering.list_text(shown.page, shown.rows, shown.query, names),
                  keyboards.list_keyboard(shown.page, shown.rows, shown.query, names), page=shown.page)


@dataclass
class ReplyPolicy:
    """What every card needs for its reply-window line: IG_HUMAN_AGENT and the clock (set by bot.app.runtime)."""

    human_agent: bool = False


POLICY = ReplyPolicy()


async def card(session: AsyncSession, user: User, contact: Contact, back: ListCb, *, human_agent: bool | None = None,
               now: datetime | None = None, reminder: bool = True) -> Screen:
    """`human_agent` defaults to the runtime's IG_HUMAN_AGENT; `now` is the bot's clock (tests inject one);
    `reminder`: show the lead's soonest open reminder (a reminder's own push does not repeat it)."""
    now = now or utcnow()
    due = await reminders_service.next_open(session, user, contact.id) if reminder else None
    human_agent = POLICY.human_agent if human_agent is None else human_agent
    preview = NO_PREVIEW
    if contact.avatar_url and contact.avatar_url.startswith("https://"):
        # The avatar rides on the card as a small photo preview, so the whole card stays one editable message.
        # is_disabled=False said explicitly: unset, aiogram fills in the bot default (previews off) and the
        # avatar would never show.
        preview = LinkPreviewOptions(is_disabled=False, url=contact.avatar_url, prefer_small_media=True,
                                     show_above_text=True)
    names = stages.names_of(user)
    text = rendering.card_text(contact, now, user.alert_threshold, names, reply_window(contact, now, human_agent),
                               reminder=(reminders_service.local(user, due), due <= now) if due else None)
    return Screen(text, keyboards.card_keyboard(contact, back, names), preview)


def draft(reply: Reply, contact: Contact, *, human_agent: bool, now: datetime) -> Screen:
    """A draft with [Send] only while Instagram's window allows it and the text fits."""
    window = reply_window(contact, now, human_agent)
    can_send = window.can_send and byte_size(reply.text) <= MAX_TEXT_BYTES
    return Screen(rendering.draft_text(reply, contact, window, now),
                  keyboards.draft_keyboard(reply, contact, can_send))


def stage_picker(user: User, contact: Contact, back: ListCb) -> Screen:
    names = stages.names_of(user)
    return Screen(rendering.stage_picker_text(contact, names), keyboards.stage_keyboard(contact, back, names))


async def stage_menu(session: AsyncSession, user: User, sort: str) -> Screen:
    seen = await stages.overview(session, user)
    return Screen("🏁 <b>Show contacts at stage:</b>",
                  keyboards.stage_menu(seen.names, seen.counts, seen.shelves, sort))


def stages_settings(user: User, note: str = "") -> Screen:
    names = stages.names_of(user)
    return Screen(rendering.stages_text(names, note), keyboards.stages_settings_keyboard(names, stages.can_add(user)))


def stage_places(user: User) -> Screen:
    names = stages.names_of(user)
    return Screen(rendering.stage_places_text(names), keyboards.stage_places_keyboard(names))


def stage_removal(plan: stages.StageRemoval) -> Screen:
    return Screen(rendering.stage_removal_text(plan), keyboards.stage_removal_keyboard(plan.stage))


async def chat(session: AsyncSession, user: User, contact: Contact, back: ListCb, page: int) -> Screen:
    shown = await card_service.chat_page(session, user, contact, page)
    text = rendering.chat_text(contact, shown.messages, shown.page, shown.pages, utcnow())
    return Screen(text, keyboards.chat_keyboard(contact, back, shown.page, shown.pages))


TAG_BUTTONS = 30


async def tags(session: AsyncSession, user: User, contact: Contact, back: ListCb, keep: str | None = None) -> Screen:
    """The contact's tags and the creator's most used others, in ONE alphabetical order: a toggle never moves a
    button, so the same position toggles the same tag next time. `keep`: the tag just toggled off stays."""
    own = list(contact.tags or [])
    shown = own + ([keep] if keep and keep not in own else [])
    others = [t for t in await tags_service.known_tags(session, user) if t not in shown]
    shown += others[:max(0, TAG_BUTTONS - len(shown))]
    ordered = sorted(shown, key=lambda t: (tag_fold(t), t))
    return Screen(rendering.tags_text(contact), keyboards.tags_keyboard(contact, ordered, back))


def score(contact: Contact, back: ListCb) -> Screen:
    return Screen(rendering.score_text(contact), keyboards.score_keyboard(contact, back))


async def notes(session: AsyncSession, user: User, contact: Contact, back: ListCb, page: int) -> Screen:
    shown = await notes_service.notes_page(session, user, contact.id, page)
    first = (shown.page - 1) * notes_service.PAGE + 1
    text = rendering.notes_text(contact, shown.notes, first, shown.page, shown.pages, shown.total, utcnow())
    return Screen(text, keyboards.notes_keyboard(contact, back, shown.notes, first, shown.page, shown.pages))


def remind_menu(user: User, contact: Contact, back: ListCb) -> Screen:
    return Screen(rendering.remind_menu_text(contact, user), keyboards.remind_keyboard(contact, back))


def reminders(shown: RemindersPage) -> Screen:
    """/reminders from core.services.reminders.reminders_page."""
    first = (shown.page - 1) * REMINDERS_PAGE + 1
    ids = [row.reminder.id for row in shown.rows]
    return Screen(rendering.reminders_text(shown, first), keyboards.reminders_keyboard(ids, first, shown.page,
                                                                                         shown.pages))


async def reminder_push(session: AsyncSession, user: User, contact: Contact, reminder_id: int, snoozes: int, *,
                        human_agent: bool | None = None, now: datetime | None = None) -> Screen:
    """A due reminder: the lead's card (text and buttons) under a ⏰ line, with snooze and done on top."""
    base = await card(session, user, contact, ListCb(), human_agent=human_agent, now=now, reminder=False)
    return Screen(rendering.reminder_push_text(contact, base.text, snoozes),
                  keyboards.reminder_push_keyboard(reminder_id, base.markup), NO_PREVIEW)
