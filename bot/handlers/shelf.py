"""🚫 Spam / 🗄 Archive on the card, and the undo in the same place."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import ContactCb
from bot.keyboards import SHELF_V, back_of
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db.models import Contact, User
from core.services import shelf

router = Router(name="shelf")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"
SHELF_OF = {v: k for k, v in SHELF_V.items()}
DONE = {"spam": "🚫 Moved to spam. Undo: the same button on this card.",
        "archived": "🗄 Archived. Undo: the same button on this card.",
        None: "Back in your list."}


@router.callback_query(ContactCb.filter(F.a == "shelf"))
async def move(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
               session: AsyncSession, callback_answer: CallbackAnswer) -> None:
    if callback_data.v not in SHELF_OF:
        callback_answer.text = rendering.NOT_FOUND
        return
    result = await shelf.shelve(session, user, contact.id, SHELF_OF[callback_data.v])
    if isinstance(result, shelf.ShelfRefused):
        callback_answer.text = rendering.NOT_FOUND
        return
    callback_answer.text = DONE[result.shelf] if result.shelf or result.previous else "Marked as not spam."
    screen = await screens.card(session, user, result.contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup, screen.preview)
