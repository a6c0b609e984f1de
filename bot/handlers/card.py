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
from core.services import scoring

router = Router(name="card")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"


@router.callback_query(ContactCb.filter(F.a == "card"))
async def card(callback: CallbackQuery, callback_data: ContactCb, contact: Contact) -> None:
    screen = screens.card(contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup, screen.preview)


@router.callback_query(ContactCb.filter(F.a == "chat"))
async def chat(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
               session: AsyncSession) -> None:
    screen = await screens.chat(session, user, contact, back_of(callback_data), callback_data.v or 1)
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a == "rescore"))
async def rescore(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
                  session: AsyncSession, callback_answer: CallbackAnswer, deps: Deps) -> None:
    await session.commit()  # the run is written by its own session
    if await scoring.has_running_run(deps.sessions, user.id):
        callback_answer.text = "A scoring run is in progress: rescore this contact when it finishes."
        return
    # Answered now: starting a run waits on a lock and the queue, and the button must not spin meanwhile.
    callback_answer.disable()
    await callback.answer("♻️ Rescoring… the card updates in a moment.")
    started = await scoring.start_run(deps.sessions, deps.queue, user.id, scope="ids", contact_ids=[contact.id])
    if started.created and isinstance(callback.message, Message):
        deps.watchers.watch_card(callback.message, user.id, started.id, contact.id, back_of(callback_data))
