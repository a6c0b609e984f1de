"""🎯 Manual score: quick buttons or a typed number by reply. Manual scores are never overwritten by AI."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import ContactCb, ListCb
from bot.handlers.common import is_reply_to, prompted_contact
from bot.keyboards import SCORE_PRESETS, back_of
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db import repo
from core.db.models import Contact, User

router = Router(name="score")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"
PROMPT = "🎯 #"


@router.callback_query(ContactCb.filter(F.a == "score"))
async def score(callback: CallbackQuery, callback_data: ContactCb, contact: Contact) -> None:
    screen = screens.score(contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a == "set"))
async def set_score(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
                    session: AsyncSession, callback_answer: CallbackAnswer) -> None:
    if callback_data.v not in SCORE_PRESETS:  # forged value: only the offered buttons are accepted
        callback_answer.text = "Pick one of the buttons, or type a number from 0 to 100."
        return
    await repo.set_manual_score(session, user.id, contact.id, callback_data.v)
    await session.commit()
    await session.refresh(contact)
    callback_answer.text = f"Score set to {callback_data.v}"
    screen = screens.card(contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup, screen.preview)


@router.callback_query(ContactCb.filter(F.a == "typed"))
async def ask_score(callback: CallbackQuery, contact: Contact) -> None:
    if callback.message is not None:
        await callback.message.answer(rendering.score_prompt(contact),
                                      reply_markup=ForceReply(force_reply=True, input_field_placeholder="0–100"))


def parse_score(text: str) -> int | None:
    """A whole number 0..100 ("85", " 85 ", "85%"); anything else is None (and changes nothing)."""
    raw = text.strip().removesuffix("%").strip()
    if not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 <= value <= 100 else None


@router.message(F.text, is_reply_to(PROMPT))
async def typed_score(message: Message, user: User, session: AsyncSession) -> None:
    contact = await prompted_contact(message, session, user)
    if contact is None:
        return
    value = parse_score(message.text or "")
    if value is None:
        await message.answer("❌ A score is a whole number from 0 to 100. Nothing changed: reply to the prompt "
                             "again with a number.")
        return
    await repo.set_manual_score(session, user.id, contact.id, value)
    await session.commit()
    await session.refresh(contact)
    screen = screens.card(contact, ListCb())
    await message.answer(f"✅ Score set to <b>{value}</b>.\n\n{screen.text}", reply_markup=screen.markup,
                         link_preview_options=screen.preview)
