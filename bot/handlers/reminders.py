"""⏰ Reminders: the card's ⏰ Remind me (a preset, or a typed time by reply), /reminders (paged, with done /
snooze / cancel) and the buttons of a pushed reminder (snooze, done). Times are read in core."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import ContactCb, ListCb, ReminderCb
from bot.deps import Deps
from bot.handlers.common import is_answer_to, prompted_contact
from bot.keyboards import back_of
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db.models import Contact, User
from core.rules import REMINDER_PRESETS, SNOOZE_PRESETS
from core.services import reminders
from core.services.reminders import ReminderClosed, ReminderRefused, ReminderSet

router = Router(name="reminders")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"


def _pick(keys: tuple[str, ...], index: int) -> str:
    return keys[index] if 0 <= index < len(keys) else ""  # callback data is user input: "" is refused in core


async def _card(session: AsyncSession, user: User, contact: Contact, back: ListCb, deps: Deps) -> screens.Screen:
    return await screens.card(session, user, contact, back, human_agent=deps.settings.ig_human_agent,
                              now=deps.clock())


@router.callback_query(ContactCb.filter(F.a == "remind"))
async def menu(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User) -> None:
    screen = screens.remind_menu(user, contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a == "rset"))
async def preset(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
                 session: AsyncSession, callback_answer: CallbackAnswer, deps: Deps) -> None:
    key = _pick(REMINDER_PRESETS, callback_data.v)
    result = await reminders.set_reminder(session, user, contact.id, key, deps.clock())
    if isinstance(result, ReminderRefused):
        callback_answer.text = rendering.REMINDER_REFUSED[result]
        return
    card = await _card(session, user, result.contact, back_of(callback_data), deps)
    await show(callback, rendering.with_card(rendering.reminder_set_text(result, user), card.text), card.markup,
               card.preview)


@router.callback_query(ContactCb.filter(F.a == "rtype"))
async def ask_time(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User) -> None:
    if callback.message is not None:
        await callback.message.answer(rendering.remind_prompt(contact, callback_data, user), reply_markup=ForceReply(
            force_reply=True, input_field_placeholder="fri 10:00"))


@router.message(F.text, is_answer_to("rtype"))
async def typed(message: Message, user: User, session: AsyncSession, deps: Deps) -> None:
    found = await prompted_contact(message, session, user)
    if found is None:
        return
    contact, action = found
    result = await reminders.set_reminder(session, user, contact.id, message.text or "", deps.clock(), typed=True)
    if isinstance(result, ReminderRefused):
        await message.answer(rendering.REMINDER_REFUSED[result])
        return
    card = await _card(session, user, result.contact, back_of(action), deps)
    await message.answer(rendering.with_card(rendering.reminder_set_text(result, user), card.text),
                         reply_markup=card.markup, link_preview_options=card.preview)


@router.message(Command("reminders"))
async def listing(message: Message, user: User, session: AsyncSession, deps: Deps) -> None:
    screen = screens.reminders(await reminders.reminders_page(session, user, deps.clock()))
    await message.answer(screen.text, reply_markup=screen.markup)


@router.callback_query(ReminderCb.filter())
async def act(callback: CallbackQuery, callback_data: ReminderCb, user: User, session: AsyncSession,
              callback_answer: CallbackAnswer, deps: Deps) -> None:
    """done / snz / cancel on a push (p = 0: its lead's card comes back) or in /reminders (page p is redrawn)."""
    now, rid, action = deps.clock(), callback_data.id, callback_data.a
    result: ReminderSet | ReminderClosed | ReminderRefused | None = None
    if action in ("done", "cancel"):
        result = await reminders.close(session, user, rid, "done" if action == "done" else "cancelled", now)
    elif action == "snz":
        result = await reminders.snooze(session, user, rid, _pick(SNOOZE_PRESETS, callback_data.v), now)
    if isinstance(result, ReminderRefused):
        callback_answer.text = rendering.REMINDER_REFUSED[result]
    elif result is not None:
        callback_answer.text = rendering.plain(rendering.reminder_outcome(result, user))[:200]
    if callback_data.p:
        page = callback_data.v if action == "page" else callback_data.p
        screen = screens.reminders(await reminders.reminders_page(session, user, now, page))
        await show(callback, screen.text, screen.markup)
    elif result is not None and not isinstance(result, ReminderRefused):
        card = await _card(session, user, result.contact, ListCb(), deps)
        await show(callback, rendering.with_card(rendering.reminder_outcome(result, user), card.text), card.markup,
                   card.preview)
