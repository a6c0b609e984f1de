"""🔎 /find <text> (or the list's 🔎 button and a reply): the matching leads as a normal paged list."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, ForceReply, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import FindCb, ListCb
from bot.handlers.common import is_reply_to
from core.db.models import User
from core.db.repo import Filter
from core.rules import MAX_FIND
from core.services import search

router = Router(name="search")
REFUSED = {
    search.FindRefused.EMPTY: "❌ Type something to find: a name, @username, tag or words from the chat.",
    search.FindRefused.TOO_LONG: f"❌ A search is at most {MAX_FIND} characters. Nothing searched: try fewer words.",
}
PROMPT = rendering.FIND_PROMPT.split(" · ")[0]


@router.message(Command("find"))
async def find(message: Message, command: CommandObject, user: User, session: AsyncSession) -> None:
    if not (command.args or "").strip():
        await _ask(message)
        return
    await _results(message, session, user, command.args or "")


@router.callback_query(FindCb.filter())
async def ask(callback: CallbackQuery) -> None:
    if isinstance(callback.message, Message):
        await _ask(callback.message)


@router.message(F.text, is_reply_to(PROMPT))
async def typed(message: Message, user: User, session: AsyncSession) -> None:
    await _results(message, session, user, message.text or "")


async def _ask(message: Message) -> None:
    await message.answer(rendering.FIND_PROMPT, reply_markup=ForceReply(force_reply=True,
                                                                       input_field_placeholder="anna, @anna, vip"))


async def _results(message: Message, session: AsyncSession, user: User, raw: str) -> None:
    query = await search.start_find(session, user, raw)
    if isinstance(query, search.FindRefused):
        await message.answer(REFUSED[query])
        return
    screen = await screens.contacts_list(session, user, ListCb(f=Filter.search.value), query)
    await message.answer(screen.text, reply_markup=screen.markup, link_preview_options=screen.preview)
