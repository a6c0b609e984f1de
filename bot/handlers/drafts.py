"""🤖 Draft on a card: an AI-written reply shown as a draft (sent only by the press on Send)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering
from bot.callbacks import ContactCb
from bot.deps import Deps
from bot.handlers.reply import show_draft
from bot.middlewares import OwnContactMiddleware
from core.clients.drafter import Drafter, make_drafter
from core.db.models import Contact, User
from core.services import ai_draft

router = Router(name="drafts")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"
FALLBACK = "🤖 AI was not available, so this is a template from your settings and the chat. "


def drafter_of(deps: Deps) -> Drafter:
    if deps.drafter is None:
        deps.drafter = make_drafter(deps.settings)
    drafter: Drafter = deps.drafter
    return drafter


@router.callback_query(ContactCb.filter(F.a == "aidraft"))
async def aidraft(callback: CallbackQuery, contact: Contact, user: User, session: AsyncSession, deps: Deps,
                  callback_answer: CallbackAnswer) -> None:
    callback_answer.disable()  # answered now: writing takes a few seconds and the button must not spin
    await callback.answer("🤖 Writing a draft… nothing is sent until you press Send.")
    limiter = ai_draft.gemini_limiter(deps.queue, deps.settings.gemini_rpm) if deps.settings.gemini_api_key else None
    made = await ai_draft.draft_reply(session, user, contact, drafter_of(deps), limiter=limiter, clock=deps.clock)
    if not isinstance(callback.message, Message):
        return
    if not isinstance(made, ai_draft.Drafted):
        await callback.message.answer(rendering.REPLY_REFUSED[made])
        return
    await show_draft(callback.message, session, user, made.reply_id, deps, prefix=FALLBACK if made.fallback else "")
