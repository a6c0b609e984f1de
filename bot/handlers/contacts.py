"""/contacts and /hot: one message, 10 leads a page; paging, filters and sort edit it in place."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, screens
from bot.callbacks import ListCb, TagMenuCb
from bot.views import show
from core.db import repo
from core.db.models import User
from core.db.repo import Filter, Sort

router = Router(name="contacts")


@router.message(Command("contacts"))
async def contacts(message: Message, user: User, session: AsyncSession) -> None:
    screens.start_visit(user)
    await session.commit()
    screen = await screens.contacts_list(session, user, ListCb())
    await message.answer(screen.text, reply_markup=screen.markup, link_preview_options=screen.preview)


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
    screen = await screens.contacts_list(session, user, callback_data, query)
    await show(callback, screen.text, screen.markup)


@router.callback_query(TagMenuCb.filter())
async def tag_menu(callback: CallbackQuery, callback_data: TagMenuCb, user: User, session: AsyncSession,
                   callback_answer: CallbackAnswer) -> None:
    tags = sorted(await repo.user_tags(session, user.id))
    if not tags:
        callback_answer.text = "No tags yet: add some on a contact, or run /autoscore."
        return
    page = max(1, callback_data.p)
    await show(callback, "🏷 <b>Show contacts with tag:</b>", keyboards.tag_picker(tags, page, callback_data.s))
