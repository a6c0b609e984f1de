"""🏷 Tags: the creator's tags as toggles (saved on each press) and ➕ new tag by ForceReply."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import ContactCb, ListCb, find_tag
from bot.handlers.common import is_reply_to, prompted_contact
from bot.keyboards import back_of
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db import repo
from core.db.models import Contact, User
from core.rules import MAX_TAG_LEN, MAX_TAGS, normalize_tag

router = Router(name="tags")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"
PROMPT = "🏷 #"


@router.callback_query(ContactCb.filter(F.a == "tags"))
async def tags(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
               session: AsyncSession) -> None:
    screen = await screens.tags(session, user, contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a == "tog"))
async def toggle(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User, session: AsyncSession,
                 callback_answer: CallbackAnswer) -> None:
    current = list(contact.tags or [])
    tag = find_tag(callback_data.t, current + await repo.user_tags(session, user.id))
    if tag is None:
        callback_answer.text = "That tag no longer exists."
        return
    if tag in current:
        current.remove(tag)
    elif len(current) >= MAX_TAGS:
        callback_answer.text = f"A contact can have up to {MAX_TAGS} tags."
        return
    else:
        current.append(tag)
    await repo.set_manual_tags(session, user.id, contact.id, current)
    await session.commit()
    await session.refresh(contact)
    callback_answer.text = f"{'Added' if tag in current else 'Removed'}: {tag}"
    screen = await screens.tags(session, user, contact, back_of(callback_data))
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a == "newtag"))
async def ask_new_tag(callback: CallbackQuery, contact: Contact) -> None:
    if callback.message is not None:
        await callback.message.answer(rendering.new_tag_prompt(contact),
                                      reply_markup=ForceReply(force_reply=True, input_field_placeholder="vip"))


@router.message(F.text, is_reply_to(PROMPT))
async def new_tag(message: Message, user: User, session: AsyncSession) -> None:
    contact = await prompted_contact(message, session, user)
    if contact is None:
        return
    tag = normalize_tag(message.text or "")
    if not tag:
        await message.answer(f"❌ A tag needs at least one letter or digit (up to {MAX_TAG_LEN} characters). "
                             "Nothing changed.")
        return
    current = list(contact.tags or [])
    if tag in current:
        await message.answer(f"🏷 {rendering.q(tag)} is already on this contact.")
        return
    if len(current) >= MAX_TAGS:
        await message.answer(f"❌ A contact can have up to {MAX_TAGS} tags. Remove one first. Nothing changed.")
        return
    await repo.set_manual_tags(session, user.id, contact.id, [*current, tag])
    await session.commit()
    await session.refresh(contact)
    screen = await screens.tags(session, user, contact, ListCb())
    await message.answer(f"✅ Added tag <b>{rendering.q(tag)}</b>.\n\n{screen.text}", reply_markup=screen.markup)
