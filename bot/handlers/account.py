"""The creator's data is theirs: /disconnect, /delete_my_data (confirmed), /demo that never silently replaces a
real account, and Telegram telling us the creator blocked or restarted the bot."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, rendering
from bot.callbacks import AccountCb, StartCb
from bot.deps import Deps
from bot.handlers.common import start_sync
from core.db.models import User
from core.services import account, onboarding

router = Router(name="account")


@router.message(Command("disconnect"))
async def disconnect(message: Message, user: User, session: AsyncSession) -> None:
    result = await account.disconnect(session, user)
    await message.answer(rendering.disconnected(result))


@router.message(Command("delete_my_data"))
async def delete_ask(message: Message, user: User) -> None:
    await message.answer(rendering.DELETE_ASK, reply_markup=keyboards.delete_confirm())


@router.callback_query(AccountCb.filter(F.a == "delete"))
async def delete_confirmed(callback: CallbackQuery, user: User, session: AsyncSession,
                           callback_answer: CallbackAnswer) -> None:
    deleted = await account.delete_my_data(session, user)
    callback_answer.text = "Deleted."
    if isinstance(callback.message, Message):
        await callback.message.edit_text(rendering.deleted(deleted), reply_markup=None)


@router.callback_query(AccountCb.filter(F.a == "keep"))
async def delete_cancelled(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = "Nothing was deleted."
    if isinstance(callback.message, Message):
        await callback.message.edit_text(rendering.NOTHING_DELETED, reply_markup=None)


@router.callback_query(StartCb.filter(F.a == "demo"))
@router.message(Command("demo"))
async def demo(event: Message | CallbackQuery, user: User, session: AsyncSession, deps: Deps) -> None:
    chat_id = event.chat.id if isinstance(event, Message) else user.chat_id or event.from_user.id
    real = account.demo_would_replace(user)
    if real:  # never silently: the creator chooses
        await deps.watchers.bot.send_message(chat_id, rendering.demo_confirm(real),
                                             reply_markup=keyboards.demo_confirm(real))
        return
    await onboarding.use_demo(session, user)
    await start_sync(deps, session, user, chat_id, "Loading the demo account", new_account=True)


@router.callback_query(StartCb.filter(F.a == "demo_ok"))
async def demo_confirmed(callback: CallbackQuery, user: User, session: AsyncSession, deps: Deps) -> None:
    removed = await account.switch_to_demo(session, user)
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
    await start_sync(deps, session, user, user.chat_id or callback.from_user.id,
                     f"{rendering.demo_replaced(removed)}. Loading the demo account", new_account=True)


@router.callback_query(StartCb.filter(F.a == "demo_no"))
async def demo_declined(callback: CallbackQuery, user: User) -> None:
    if isinstance(callback.message, Message):
        await callback.message.edit_text(rendering.demo_kept(account.account_label(user) or "your account"),
                                         reply_markup=None)


@router.my_chat_member(F.chat.type == "private")
async def blocked_or_back(event: ChatMemberUpdated, deps: Deps) -> None:
    """"kicked" = the creator blocked the bot: no syncing or scoring for them until they come back."""
    await account.chat_member_changed(deps.sessions, event.from_user.id, event.new_chat_member.status == "kicked")
