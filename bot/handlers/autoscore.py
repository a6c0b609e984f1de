"""/autoscore: start a scoring run (or show the one in progress) with ONE live progress message."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, rendering
from bot.callbacks import RunCb
from bot.deps import Deps
from bot.views import show
from core.db.models import User
from core.services import autoscore as autoscore_service
from core.services.scoring import Started

router = Router(name="autoscore")


@router.message(Command("autoscore"))
async def autoscore(message: Message, user: User, session: AsyncSession, deps: Deps, bot: Bot) -> None:
    started = await autoscore_service.score_new(session, deps.sessions, deps.queue, user, message.chat.id)
    await _show_progress(bot, deps, user, started, message.chat.id)


@router.callback_query(RunCb.filter(F.a == "all"))
async def ask_rescore_all(callback: CallbackQuery, user: User, deps: Deps) -> None:
    count = await autoscore_service.rescorable_count(deps.sessions, user)
    await show(callback, rendering.rescore_all_confirm_text(count), keyboards.rescore_all_confirm_keyboard(count))


@router.callback_query(RunCb.filter(F.a == "no"))
async def cancel_rescore_all(callback: CallbackQuery) -> None:
    await show(callback, "OK: nothing rescored.", None)


@router.callback_query(RunCb.filter(F.a == "allok"))
async def rescore_all(callback: CallbackQuery, user: User, session: AsyncSession, deps: Deps, bot: Bot,
                      callback_answer: CallbackAnswer) -> None:
    chat_id = user.chat_id or callback.from_user.id
    started = await autoscore_service.rescore_all(session, deps.sessions, deps.queue, user, chat_id)
    callback_answer.text = "♻️ Rescoring everyone" if started.created else "A scoring run is already going"
    await show(callback, f"♻️ Rescoring all {started.run.total} contacts: progress below.", None)
    await _show_progress(bot, deps, user, started, chat_id)


@router.callback_query(RunCb.filter(F.a == "retry"))
async def retry(callback: CallbackQuery, callback_data: RunCb, user: User, session: AsyncSession, deps: Deps,
                bot: Bot, callback_answer: CallbackAnswer) -> None:
    started = await autoscore_service.retry_failed(session, deps.sessions, deps.queue, user, callback_data.id)
    if started is None:
        callback_answer.text = "Nothing to retry: no failed contacts in that run."
        return
    callback_answer.text = "🔁 Retrying the failed contacts"
    await _show_progress(bot, deps, user, started, user.chat_id or callback.from_user.id)


async def _show_progress(bot: Bot, deps: Deps, user: User, started: Started, chat_id: int) -> None:
    """Send the progress message and hand it to the watcher; a run already in progress moves its message here."""
    run = started.run
    text = rendering.progress_text(run) if run.status != "done" else rendering.summary_text(run, [])
    markup = None
    if run.status == "done" and run.total == 0:  # everyone is scored: rescoring everyone is the next step
        count = await autoscore_service.rescorable_count(deps.sessions, user)
        markup = keyboards.rescore_all_keyboard(count) if count else None
    sent = await bot.send_message(chat_id, text, reply_markup=markup)
    if run.status == "done":  # nothing needed scoring: the summary is the whole answer
        return
    moved = await autoscore_service.show_progress_at(deps.sessions, run.id, chat_id, sent.message_id)
    if moved.previous is not None:
        try:  # one progress message per run: the older one goes
            await bot.delete_message(*moved.previous)
        except TelegramBadRequest:
            pass
    deps.watchers.watch_run(user.id, run.id, sent.html_text)
