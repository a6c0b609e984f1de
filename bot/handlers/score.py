"""🎯 Manual score: quick buttons or a typed number by reply. Manual scores are never overwritten by AI."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import ContactCb
from bot.deps import Deps
from bot.handlers.common import is_answer_to, prompted_contact
from bot.keyboards import back_of
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db.models import Contact, User
from core.services import score as score_service
from core.services.score import ScoreRefused

router = Router(name="score")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"
REFUSED = {
    ScoreRefused.NOT_FOUND: rendering.NOT_FOUND,
    ScoreRefused.NOT_OFFERED: "Pick one of the buttons, or type a number from 0 to 100.",
    ScoreRefused.NOT_A_SCORE: "❌ A score is a whole number from 0 to 100. Nothing changed.",
}


@router.callback_query(ContactCb.filter(F.a == "score"))
async def score(callback: CallbackQuery, callback_data: ContactCb, contact: Contact) -> None:
    screen = screens.score(contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a == "set"))
async def set_score(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
                    session: AsyncSession, callback_answer: CallbackAnswer, deps: Deps) -> None:
    result = await score_service.choose_preset(session, user, contact.id, callback_data.v)
    if isinstance(result, ScoreRefused):
        callback_answer.text = REFUSED[result]
        return
    callback_answer.text = f"Score set to {result.score}"
    screen = await screens.card(session, user, result.contact, back_of(callback_data),
                                human_agent=deps.settings.ig_human_agent, now=deps.clock())
    await show(callback, screen.text, screen.markup, screen.preview)


ASK = ForceReply(force_reply=True, input_field_placeholder="0–100")


@router.callback_query(ContactCb.filter(F.a == "typed"))
async def ask_score(callback: CallbackQuery, callback_data: ContactCb, contact: Contact) -> None:
    if callback.message is not None:
        await callback.message.answer(rendering.score_prompt(contact, callback_data), reply_markup=ASK)


@router.message(F.text, is_answer_to("typed"))
async def typed_score(message: Message, user: User, session: AsyncSession, deps: Deps) -> None:
    found = await prompted_contact(message, session, user)
    if found is None:
        return
    contact, action = found
    result = await score_service.type_score(session, user, contact.id, message.text or "")
    if isinstance(result, ScoreRefused):
        await message.answer(REFUSED[result])
        if result is ScoreRefused.NOT_A_SCORE:  # the same prompt again, so the next number is an answer, not chat
            await message.answer(rendering.score_prompt(contact, action), reply_markup=ASK)
        return
    # back to the filter, sort and page it came from
    screen = await screens.card(session, user, result.contact, back_of(action),
                                human_agent=deps.settings.ig_human_agent, now=deps.clock())
    await message.answer(f"✅ Score set to <b>{result.score}</b>.\n\n{screen.text}", reply_markup=screen.markup,
                         link_preview_options=screen.preview)
