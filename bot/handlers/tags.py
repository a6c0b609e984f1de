"""🏷 Tags: the creator's tags as toggles (saved on each press) and ➕ new tag by ForceReply."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import ContactCb, find_tag, literal_tag
from bot.handlers.common import is_answer_to, prompted_contact
from bot.keyboards import back_of
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db.models import Contact, User
from core.rules import MAX_TAG_LEN, MAX_TAGS, one_line
from core.services import tags as tags_service
from core.services.tags import TagRefused

router = Router(name="tags")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"
REFUSED = {
    TagRefused.NOT_FOUND: rendering.NOT_FOUND,
    TagRefused.UNKNOWN_TAG: "That tag no longer exists.",
    TagRefused.EMPTY: f"❌ A tag needs at least one letter or digit (up to {MAX_TAG_LEN} characters). Nothing changed.",
    TagRefused.ALREADY: "🏷 {tag} is already on this contact.",
    TagRefused.TOO_MANY: f"❌ A contact can have up to {MAX_TAGS} tags. Remove one first. Nothing changed.",
}


@router.callback_query(ContactCb.filter(F.a == "tags"))
async def tags(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
               session: AsyncSession) -> None:
    screen = await screens.tags(session, user, contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a == "tog"))
async def toggle(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User, session: AsyncSession,
                 callback_answer: CallbackAnswer) -> None:
    # A short tag travels literally: one toggled off a moment ago (no contact has it now) can go back on.
    known = list(contact.tags or []) + await tags_service.known_tags(session, user)
    tag = find_tag(callback_data.t, known) or literal_tag(callback_data.t)
    result = await tags_service.toggle_tag(session, user, contact.id, tag)
    if isinstance(result, TagRefused):
        callback_answer.text = REFUSED[result]
        return
    callback_answer.text = f"{'Added' if result.added else 'Removed'}: {result.tag}"
    screen = await screens.tags(session, user, result.contact, back_of(callback_data), keep=result.tag)
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a == "newtag"))
async def ask_new_tag(callback: CallbackQuery, callback_data: ContactCb, contact: Contact) -> None:
    if callback.message is not None:
        await callback.message.answer(rendering.new_tag_prompt(contact, callback_data),
                                      reply_markup=ForceReply(force_reply=True, input_field_placeholder="vip"))


@router.message(F.text, is_answer_to("newtag"))
async def new_tag(message: Message, user: User, session: AsyncSession) -> None:
    found = await prompted_contact(message, session, user)
    if found is None:
        return
    contact, action = found
    result = await tags_service.add_tag(session, user, contact.id, message.text or "")
    if isinstance(result, TagRefused):
        await message.answer(REFUSED[result].format(tag=rendering.q(one_line(message.text, 40))))
        return
    screen = await screens.tags(session, user, result.contact, back_of(action))  # Back keeps the list position
    note = f" (shortened to {MAX_TAG_LEN} characters)" if result.shortened else ""
    await message.answer(f"✅ Added tag <b>{rendering.q(result.tag)}</b>{note}.\n\n{screen.text}",
                         reply_markup=screen.markup)
