"""✍️ Reply: the creator's next message (ForceReply) becomes a draft with [Send] [Edit] [Cancel]; only the
press on Send sends it (core.services.reply claims it once, whoever presses or retries)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import ContactCb, ReplyCb
from bot.deps import Deps
from bot.handlers.common import is_answer_to, prompted_contact
from bot.middlewares import OwnContactMiddleware
from bot.views import show
from core.db.models import Contact, Reply, User
from core.services import reply as replies

router = Router(name="reply")
router.callback_query.middleware(OwnContactMiddleware())  # `contact` = the presser's own, or "not found"



async def show_draft(message: Message, session: AsyncSession, user: User, reply_id: int, deps: Deps,
                     prefix: str = "") -> None:
    """A new message showing the draft; remembered on the reply so a background outcome can edit it."""
    found = await replies.get_reply(session, user.id, reply_id)
    if found is None:
        await message.answer(rendering.NOT_FOUND)
        return
    screen = screens.draft(*found, human_agent=deps.settings.ig_human_agent, now=deps.clock())
    shown = await message.answer(prefix + screen.text, reply_markup=screen.markup)
    await replies.attach_message(session, user.id, reply_id, shown.chat.id, shown.message_id)


@router.callback_query(ContactCb.filter(F.a == "reply"))
async def ask_reply(callback: CallbackQuery, callback_data: ContactCb, contact: Contact) -> None:
    if callback.message is not None:
        await callback.message.answer(rendering.reply_prompt(contact, callback_data), reply_markup=ForceReply(
            force_reply=True, input_field_placeholder="Your reply"))


@router.message(F.text, is_answer_to("reply"))
async def typed_reply(message: Message, user: User, session: AsyncSession, deps: Deps) -> None:
    found = await prompted_contact(message, session, user)
    if found is None:
        return
    draft = await replies.create_draft(session, user, found[0], message.text or "", "typed")
    await _draft_or_refusal(message, session, user, draft, deps)


@router.callback_query(ReplyCb.filter(F.a == "send"))
async def send(callback: CallbackQuery, callback_data: ReplyCb, user: User, session: AsyncSession, deps: Deps,
               callback_answer: CallbackAnswer) -> None:
    ctx = replies.send_context(deps.settings, deps.sessions, deps.cipher, deps.http, deps.queue, deps.clock)
    result = await replies.press_send(session, ctx, user, callback_data.id)
    if result.outcome is replies.Outcome.too_long:
        callback_answer.text = f"{result.size} bytes: Instagram takes at most 1000. Edit it first; nothing was sent."
        callback_answer.show_alert = True
    elif result.outcome in replies.FAILURES:
        callback_answer.text = "Not sent: see why on the draft (it is kept)."
    else:
        callback_answer.text = rendering.SEND_ANSWER.get(result.outcome, rendering.NOT_FOUND)
    if result.claimed:
        # Only the press that holds the send shows its outcome: a losing press could overwrite it, or repeat it.
        await _refresh(callback, session, user, callback_data.id, deps)


@router.callback_query(ReplyCb.filter(F.a == "edit"))
async def ask_edit(callback: CallbackQuery, callback_data: ReplyCb, user: User, session: AsyncSession,
                   callback_answer: CallbackAnswer) -> None:
    found = await replies.get_reply(session, user.id, callback_data.id)
    if found is None or found[0].status != "draft":
        refused = replies.Refused.not_a_draft if found else replies.Refused.not_found
        callback_answer.text = rendering.REPLY_REFUSED[refused]
        return
    if callback.message is not None:
        action = ContactCb(a="redit", id=found[1].id, v=found[0].id)
        await callback.message.answer(rendering.edit_prompt(found[1], action), reply_markup=ForceReply(
            force_reply=True, input_field_placeholder="The new text"))


@router.message(F.text, is_answer_to("redit"))
async def edited(message: Message, user: User, session: AsyncSession, deps: Deps) -> None:
    found = await prompted_contact(message, session, user)
    if found is None:
        return
    draft = await replies.edit_draft(session, user.id, found[1].v, message.text or "")
    await _draft_or_refusal(message, session, user, draft, deps)


async def _draft_or_refusal(message: Message, session: AsyncSession, user: User,
                            draft: Reply | replies.Refused, deps: Deps) -> None:
    if isinstance(draft, replies.Refused):
        await message.answer(rendering.REPLY_REFUSED[draft])
        return
    await show_draft(message, session, user, draft.id, deps)


@router.callback_query(ReplyCb.filter(F.a == "cancel"))
async def cancel(callback: CallbackQuery, callback_data: ReplyCb, user: User, session: AsyncSession, deps: Deps,
                 callback_answer: CallbackAnswer) -> None:
    done = await replies.cancel_draft(session, user.id, callback_data.id)
    callback_answer.text = "Draft discarded." if done else rendering.REPLY_REFUSED[replies.Refused.not_a_draft]
    if done:
        await _refresh(callback, session, user, callback_data.id, deps)


async def _refresh(callback: CallbackQuery, session: AsyncSession, user: User, reply_id: int, deps: Deps) -> None:
    found = await replies.get_reply(session, user.id, reply_id)
    if found is None:
        return
    screen = screens.draft(*found, human_agent=deps.settings.ig_human_agent, now=deps.clock())
    try:
        await show(callback, screen.text, screen.markup)
    except TelegramBadRequest as exc:  # a second press already showed the same outcome
        if "not modified" not in exc.message:
            raise
