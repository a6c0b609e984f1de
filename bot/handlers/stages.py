"""🏁 Stages on the card and the list: the stage picker, the one-tap move, the list's stage filter menu.
/stages (naming, adding and removing stages) is stage_settings.py."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import ContactCb, StageMenuCb
from bot.keyboards import back_of
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db.models import Contact, User
from core.rules import stage_key
from core.services import stages

router = Router(name="stages")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"


@router.callback_query(ContactCb.filter(F.a == "stages"))
async def picker(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User) -> None:
    screen = screens.stage_picker(user, contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a.in_({"stg", "aistage"})))
async def set_stage(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
                    session: AsyncSession, callback_answer: CallbackAnswer) -> None:
    if callback_data.a == "aistage":
        result = await stages.stage_back_to_ai(session, user, contact.id)
    else:  # v: the stage's code (rules.stage_code), stable when stages are added, renamed or removed
        result = await stages.set_stage(session, user, contact.id, stage_key(callback_data.v))
    if isinstance(result, stages.StageRefused):
        callback_answer.text = rendering.stage_refusal(result)
        return
    callback_answer.text = f"Stage: {result.name}"
    screen = await screens.card(session, user, result.contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup, screen.preview)


@router.callback_query(StageMenuCb.filter())
async def stage_menu(callback: CallbackQuery, callback_data: StageMenuCb, user: User, session: AsyncSession) -> None:
    screen = await screens.stage_menu(session, user, callback_data.s)
    await show(callback, screen.text, screen.markup)
