"""/contacts and /hot: one message, 10 leads a page; paging, filters and sort edit it in place."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, rendering, screens
from bot.callbacks import JumpCb, ListCb, TagMenuCb
from bot.views import show, shown_page
from core.db.models import User
from core.db.repo import Filter, Sort
from core.services import contacts as contacts_service
from core.services import paging
from core.services import tags as tags_service

router = Router(name="contacts")


@router.message(Command("contacts"))
async def contacts(message: Message, command: CommandObject, user: User, session: AsyncSession) -> None:
    """`/contacts` or `/contacts 5` (page 5; a page beyond the last says so and shows the last)."""
    if not (command.args or "").strip():
        await contacts_service.start_visit(session, user)
        screen = await screens.contacts_list(session, user, ListCb())
        await message.answer(screen.text, reply_markup=screen.markup, link_preview_options=screen.preview)
        return
    jumped = await paging.jump(session, user, contacts_service.query_for(user), command.args, new_visit=True)
    if isinstance(jumped, paging.JumpRefused):
        await message.answer("❌ /contacts takes a page number, e.g. /contacts 2.")
        return
    await _answer_jump(message, user, jumped)


async def _answer_jump(message: Message, user: User, jumped: paging.Jumped) -> None:
    notice = rendering.jump_notice(jumped)
    if notice:
        await message.answer(notice)
    screen = screens.list_screen(user, jumped.shown)
    await message.answer(screen.text, reply_markup=screen.markup, link_preview_options=screen.preview)


@router.callback_query(JumpCb.filter())
async def ask_page(callback: CallbackQuery, callback_data: JumpCb, user: User, session: AsyncSession) -> None:
    where = ListCb(**callback_data.model_dump())
    screen = await screens.contacts_list(session, user, where)
    if callback.message is not None and screen.page is not None:
        await callback.message.answer(rendering.page_prompt(screen.page.pages, where),
                                      reply_markup=ForceReply(force_reply=True, input_field_placeholder="2"))


def _page_answer(message: Message) -> bool:
    prompt = message.reply_to_message
    text = message.text or ""
    return bool(prompt and prompt.from_user and prompt.from_user.is_bot and not text.startswith("/")
                and rendering.anchored(prompt.entities or [], ListCb) is not None)


@router.message(F.text, _page_answer)
async def jump(message: Message, user: User, session: AsyncSession) -> None:
    """A reply to the page button's prompt: that page of the same list (filter, sort, /find results)."""
    prompt = message.reply_to_message
    where = rendering.anchored(prompt.entities or [], ListCb) if prompt else None
    if where is None:
        return
    query = await screens.resolve_query(session, user, where)
    jumped = await paging.jump(session, user, query, message.text)
    if isinstance(jumped, paging.JumpRefused):
        await message.answer("❌ A page is a whole number (1, 2, …). Nothing changed.")
        return
    await _answer_jump(message, user, jumped)


@router.message(Command("hot"))
async def hot(message: Message, user: User, session: AsyncSession) -> None:
    screen = await screens.contacts_list(session, user, ListCb(f=Filter.hot.value, s=Sort.score.value))
    await message.answer(screen.text, reply_markup=screen.markup, link_preview_options=screen.preview)


@router.callback_query(ListCb.filter())
async def page(callback: CallbackQuery, callback_data: ListCb, user: User, session: AsyncSession,
               callback_answer: CallbackAnswer) -> None:
    query = await screens.resolve_query(session, user, callback_data)
    if callback_data.f == Filter.tag and query.tag is None:
        callback_answer.text = "That tag is no longer used: showing everyone."
    elif callback_data.f == Filter.search and callback_data.t and not keyboards.same_subject(callback_data.t, query):
        callback_answer.text = "That search was replaced by your newer /find: showing its results."
    screen = await screens.contacts_list(session, user, callback_data, query)
    shown = shown_page(callback)
    if screen.page is not None and screen.page.pages > 1 and shown is not None:
        if shown == 1 and callback_data.p == screen.page.pages:  # ‹ on page 1 goes round: say so
            callback_answer.text = f"↩ Wrapped round to the last page ({screen.page.pages})."
        elif shown == screen.page.pages and callback_data.p == 1 and shown != 2:
            callback_answer.text = "↪ Wrapped round to page 1."
    await show(callback, screen.text, screen.markup)


@router.callback_query(TagMenuCb.filter())
async def tag_menu(callback: CallbackQuery, callback_data: TagMenuCb, user: User, session: AsyncSession,
                   callback_answer: CallbackAnswer) -> None:
    tags = sorted(await tags_service.known_tags(session, user))
    if not tags:
        callback_answer.text = "No tags yet: add some on a contact, or run /autoscore."
        return
    page = max(1, callback_data.p)
    await show(callback, "🏷 <b>Show contacts with tag:</b>", keyboards.tag_picker(tags, page, callback_data.s))
