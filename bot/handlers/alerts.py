"""Buttons on push alerts (bot.callbacks.AlertOpen): open the card, the chat, or the hot list."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import screens
from bot.callbacks import AlertOpen, ListCb
from bot.deps import Deps
from bot.handlers.common import own_contact
from core.db.models import User
from core.db.repo import Filter, Sort

router = Router(name="alerts")
HOT_LIST = ListCb(p=1, f=Filter.hot.value, s=Sort.score.value)


@router.callback_query(AlertOpen.filter(F.what == "hot"))
async def hot_list(callback: CallbackQuery, user: User, session: AsyncSession) -> None:
    screen = await screens.contacts_list(session, user, HOT_LIST)
    await _send(callback, screen)


@router.callback_query(AlertOpen.filter(F.what.in_({"card", "chat"})))
async def open_contact(callback: CallbackQuery, callback_data: AlertOpen, user: User, session: AsyncSession,
                       callback_answer: CallbackAnswer, deps: Deps) -> None:
    contact = await own_contact(session, user, callback_data.contact_id, callback_answer)
    if contact is None:
        return
    if callback_data.what == "chat":
        screen = await screens.chat(session, user, contact, HOT_LIST, 1)
    else:
        screen = await screens.card(session, user, contact, HOT_LIST, human_agent=deps.settings.ig_human_agent,
                                    now=deps.clock())
    await _send(callback, screen)


async def _send(callback: CallbackQuery, screen: screens.Screen) -> None:
    """The alert stays as it is (it is the record of what happened); the card opens below it."""
    chat_id = callback.message.chat.id if callback.message else callback.from_user.id
    await callback.bot.send_message(chat_id, screen.text, reply_markup=screen.markup,  # type: ignore[union-attr]
                                    link_preview_options=screen.preview)
