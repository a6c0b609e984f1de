"""📝 Notes on a lead: the paged list (latest first), ➕ add and ✏️ edit by reply, 🗑 delete after a confirm."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import ContactCb, ListCb
from bot.handlers.common import is_answer_to, prompted_contact
from bot.keyboards import back_of, note_delete_keyboard
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db.models import Contact, User
from core.rules import MAX_NOTE
from core.services import notes
from core.timeutil import utcnow

router = Router(name="notes")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"
GONE = "That note no longer exists."
REFUSED = {
    notes.NoteRefused.EMPTY: "❌ A note needs some text. Nothing saved: reply to the prompt again.",
    notes.NoteRefused.TOO_LONG: f"❌ A note is at most {MAX_NOTE} characters. Nothing saved: reply to the prompt "
                                "again with a shorter text (your message is still above).",
    notes.NoteRefused.NOT_FOUND: GONE,
}


@router.callback_query(ContactCb.filter(F.a == "notes"))
async def listing(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
                  session: AsyncSession) -> None:
    screen = await screens.notes(session, user, contact, back_of(callback_data), callback_data.v or 1)
    await show(callback, screen.text, screen.markup)


@router.callback_query(ContactCb.filter(F.a == "nadd"))
async def ask_note(callback: CallbackQuery, callback_data: ContactCb, contact: Contact) -> None:
    if callback.message is not None:
        await callback.message.answer(rendering.note_prompt(contact, callback_data), reply_markup=ForceReply(
            force_reply=True, input_field_placeholder="Prefers calls after 6pm"))


@router.callback_query(ContactCb.filter(F.a == "nedit"))
async def ask_edit(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
                   session: AsyncSession, callback_answer: CallbackAnswer) -> None:
    note = await notes.get_note(session, user, contact.id, callback_data.v)
    if note is None or callback.message is None:
        callback_answer.text = GONE
        return
    await callback.message.answer(rendering.note_edit_prompt(contact, note, callback_data),
                                  reply_markup=ForceReply(force_reply=True))


@router.callback_query(ContactCb.filter(F.a.in_({"ndel", "ndelok"})))
async def delete(callback: CallbackQuery, callback_data: ContactCb, contact: Contact, user: User,
                 session: AsyncSession, callback_answer: CallbackAnswer) -> None:
    back = back_of(callback_data)
    if callback_data.a == "ndel":  # first press: ask, showing the note
        note = await notes.get_note(session, user, contact.id, callback_data.v)
        if note is None:
            callback_answer.text = GONE
            return
        await show(callback, rendering.note_delete_text(note, utcnow()), note_delete_keyboard(contact, back, note.id))
        return
    result = await notes.delete_note(session, user, contact.id, callback_data.v)
    callback_answer.text = "Note deleted." if isinstance(result, notes.NoteDeleted) else GONE
    screen = await screens.notes(session, user, contact, back, 1)
    await show(callback, screen.text, screen.markup)


@router.message(F.text, is_answer_to("nadd"))
async def add(message: Message, user: User, session: AsyncSession) -> None:
    found = await prompted_contact(message, session, user)
    if found is not None:
        contact, action = found
        result = await notes.add_note(session, user, contact.id, message.text or "")
        await _saved(message, session, user, result, back_of(action))


@router.message(F.text, is_answer_to("nedit"))
async def edit(message: Message, user: User, session: AsyncSession) -> None:
    found = await prompted_contact(message, session, user)
    if found is not None:
        contact, action = found  # v: the note being edited
        result = await notes.edit_note(session, user, contact.id, action.v, message.text or "")
        await _saved(message, session, user, result, back_of(action))


async def _saved(message: Message, session: AsyncSession, user: User,
                 result: notes.NoteSaved | notes.NoteRefused, back: ListCb) -> None:
    if isinstance(result, notes.NoteRefused):
        await message.answer(REFUSED[result])
        return
    screen = await screens.notes(session, user, result.contact, back, 1)
    done = "✅ Note saved." if result.created else "✅ Note updated."
    await message.answer(f"{done}\n\n{screen.text}", reply_markup=screen.markup)
