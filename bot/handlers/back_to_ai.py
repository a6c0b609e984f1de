"""↩️ Back to AI on the score and tags screens: the creator's mark goes, the AI's value returns."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import ContactCb
from bot.deps import Deps
from bot.keyboards import back_of
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db.models import Contact, User
from core.services import back_to_ai

router = Router(name="back_to_ai")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"
ACTIONS = {"aiscore": back_to_ai.score_back_to_ai, "aitags": back_to_ai.tags_back_to_ai}


@router.callback_query(ContactCb.filter(F.a.in_(set(ACTIONS))))
async def back(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
               session: AsyncSession, callback_answer: CallbackAnswer, deps: Deps) -> None:
    result = await ACTIONS[callback_data.a](session, deps.sessions, deps.queue, user, contact.id)
    if result is back_to_ai.BackRefused.NOT_FOUND:
        callback_answer.text = rendering.NOT_FOUND
        return
    if result is back_to_ai.BackRefused.NOT_MANUAL:
        callback_answer.text = "Already the AI's."
        return
    assert isinstance(result, back_to_ai.BackToAi)
    callback_answer.text = ("Back to AI: rescoring this lead now." if result.rescore
                            else "Back to AI: the AI's value is back.")
    screen = await screens.card(session, user, result.contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup, screen.preview)
