"""The contact card and what hangs off it: full chat (paged) and ♻️ rescore."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import screens
from bot.callbacks import ContactCb
from bot.deps import Deps
from bot.keyboards import back_of
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db.models import Contact, User
from core.services import autoscore

router = Router(name="card")
RUN_IN_PROGRESS = "A scoring run is in progress: rescore this contact when it finishes."
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"


@router.callback_query(ContactCb.filter(F.a == "card"))
async def card(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
               session: AsyncSession, deps: Deps) -> None:
    screen = await screens.card(session, user, contact, back_of(callback_data),
                                human_agent=deps.settings.ig_human_agent, now=deps.clock())
    await show(callback, screen.text, screen.markup, screen.preview)


@router.callback_query(ContactCb.filter(F.a == "chat"))
async def chat(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
               session: AsyncSession) -> None:
    screen = await screens.chat(session, user, contact, back_of(callback_data), callback_data.v or 1)
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a == "rescore"))
async def rescore(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
                  session: AsyncSession, callback_answer: CallbackAnswer, deps: Deps) -> None:
    if await autoscore.run_in_progress(session, deps.sessions, user):
        callback_answer.text = RUN_IN_PROGRESS
        return
    # Answered now: starting a run waits on a lock and the queue, and the button must not spin meanwhile.
    callback_answer.disable()
    await callback.answer("♻️ Rescoring… the card updates in a moment.")
    started = await autoscore.rescore(session, deps.sessions, deps.queue, user, contact.id)
    if isinstance(started, autoscore.RescoreRefused):  # a run started in between: it was just told it is coming
        return
    if started.created and isinstance(callback.message, Message):
        deps.watchers.watch_card(callback.message, user.id, started.id, contact.id, back_of(callback_data))
