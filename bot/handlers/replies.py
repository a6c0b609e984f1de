"""💾 Saved replies: /replies to add, edit, delete; 💾 on a card picks one, filled for the lead, as a draft."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, rendering
from bot.callbacks import ContactCb, SavedCb
from bot.deps import Deps
from bot.handlers.common import is_reply_to
from bot.handlers.reply import show_draft
from bot.keyboards import back_of
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db.models import Contact, User
from core.services import saved_replies as saved
from core.services.listing import display_name
from core.services.saved_replies import Refusal, SavedRefused

router = Router(name="replies")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"
ADD_PROMPT, EDIT_PROMPT = "💾 New saved reply", "💾 #"
_EDIT_ID = re.compile(r"^💾 #(\d+) ·")
VARS = "{first_name}, {username}, {link}"
WHY = {SavedRefused.empty: "A saved reply needs some text.",
       SavedRefused.too_long: f"A saved reply is at most {saved.MAX_TEMPLATE_CHARS} characters.",
       SavedRefused.unknown_variable: f"Only {VARS} can be filled in",
       SavedRefused.too_many: f"You can keep up to {saved.MAX_SAVED} saved replies: delete one first.",
       SavedRefused.not_found: rendering.NOT_FOUND,
       SavedRefused.no_link: "This reply uses {link} and you have no link yet: set it in /settings → 🔗 Link.",
       SavedRefused.bad_link: "That is not a link: send it like https://example.com/book"}


def refusal_text(refusal: Refusal) -> str:
    detail = f" (not {{{rendering.q(refusal.detail)}}})" if refusal.why is SavedRefused.unknown_variable else ""
    return f"❌ {rendering.q(WHY[refusal.why])}{detail}. Nothing changed."


async def _list(session: AsyncSession, user: User) -> tuple[str, object]:
    items = await saved.list_saved(session, user.id)
    return rendering.saved_list_text(items, user.reply_link), keyboards.saved_keyboard(items)


@router.message(Command("replies"))
async def replies_list(message: Message, user: User, session: AsyncSession) -> None:
    text, markup = await _list(session, user)
    await message.answer(text, reply_markup=markup)  # type: ignore[arg-type]


@router.callback_query(SavedCb.filter(F.a.in_({"add", "edit"})))
async def ask(callback: CallbackQuery, callback_data: SavedCb, user: User, session: AsyncSession,
              callback_answer: CallbackAnswer) -> None:
    if callback_data.a == "edit" and await saved.get(session, user.id, callback_data.id) is None:
        callback_answer.text = rendering.NOT_FOUND
        return
    prompt = (f"{ADD_PROMPT} · reply with its text; {VARS} are filled for each lead" if callback_data.a == "add"
              else f"💾 #{callback_data.id} · reply with the new text of this saved reply ({VARS})")
    if callback.message is not None:
        await callback.message.answer(prompt, reply_markup=ForceReply(force_reply=True,
                                                                      input_field_placeholder="Hi {first_name}!"))


@router.callback_query(SavedCb.filter(F.a == "del"))
async def delete(callback: CallbackQuery, callback_data: SavedCb, user: User, session: AsyncSession,
                 callback_answer: CallbackAnswer) -> None:
    callback_answer.text = "Deleted." if await saved.remove(session, user.id, callback_data.id) else rendering.NOT_FOUND
    text, markup = await _list(session, user)
    await show(callback, text, markup)  # type: ignore[arg-type]


@router.message(F.text, is_reply_to(ADD_PROMPT))
@router.message(F.text, is_reply_to(EDIT_PROMPT))
async def typed(message: Message, user: User, session: AsyncSession) -> None:
    prompt = message.reply_to_message.text or "" if message.reply_to_message else ""
    match = _EDIT_ID.match(prompt)
    result = (await saved.edit(session, user.id, int(match.group(1)), message.text or "") if match
              else await saved.add(session, user.id, message.text or ""))
    if isinstance(result, Refusal):
        await message.answer(refusal_text(result))
        return
    text, markup = await _list(session, user)
    await message.answer(f"✅ Saved.\n\n{text}", reply_markup=markup)  # type: ignore[arg-type]


@router.callback_query(ContactCb.filter(F.a == "saved"))
async def picker(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
                 session: AsyncSession, callback_answer: CallbackAnswer) -> None:
    items = await saved.list_saved(session, user.id)
    if not items:
        callback_answer.text = "No saved replies yet: add them with /replies."
        callback_answer.show_alert = True
        return
    text = f"💾 Pick a saved reply for {rendering.q(display_name(contact))}: you'll see it filled in first."
    await show(callback, text, keyboards.saved_picker(contact, items, back_of(callback_data)))


@router.callback_query(ContactCb.filter(F.a == "usesaved"))
async def use(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
              session: AsyncSession, deps: Deps, callback_answer: CallbackAnswer) -> None:
    draft = await saved.use(session, user, contact, callback_data.v)
    if isinstance(draft, Refusal):
        callback_answer.text = WHY[draft.why]
        callback_answer.show_alert = True
        return
    if isinstance(callback.message, Message):
        await show_draft(callback.message, session, user, draft.id, deps)
