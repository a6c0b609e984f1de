"""/autoscore: start a scoring run (or show the one in progress) with ONE live progress message."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering
from bot.callbacks import RunCb
from bot.deps import Deps
from core.db.models import ScoringRun, User
from core.services import scoring
from core.services.scoring import Started

router = Router(name="autoscore")


@router.message(Command("autoscore"))
async def autoscore(message: Message, user: User, session: AsyncSession, deps: Deps, bot: Bot) -> None:
    await session.commit()
    started = await scoring.start_run(deps.sessions, deps.queue, user.id, progress_chat_id=message.chat.id)
    await _show_progress(bot, deps, user, started, message.chat.id)


@router.callback_query(RunCb.filter(F.a == "retry"))
async def retry(callback: CallbackQuery, callback_data: RunCb, user: User, session: AsyncSession, deps: Deps,
                bot: Bot, callback_answer: CallbackAnswer) -> None:
    await session.commit()
    started = await scoring.retry_failed(deps.sessions, deps.queue, user.id, callback_data.id)
    if started is None:
        callback_answer.text = "Nothing to retry: no failed contacts in that run."
        return
    callback_answer.text = "🔁 Retrying the failed contacts"
    await _show_progress(bot, deps, user, started, user.chat_id or callback.from_user.id)


async def _show_progress(bot: Bot, deps: Deps, user: User, started: Started, chat_id: int) -> None:
    """Send the progress message and hand it to the watcher; a run already in progress moves its message here."""
    run = started.run
    old = (run.progress_chat_id, run.progress_message_id)
    text = rendering.progress_text(run) if run.status != "done" else rendering.summary_text(run, [])
    sent = await bot.send_message(chat_id, text)
    if run.status == "done":  # nothing needed scoring: the summary is the whole answer
        return
    async with deps.sessions() as session, session.begin():
        row = await session.get(ScoringRun, run.id)
        if row is not None:
            row.progress_chat_id, row.progress_message_id = chat_id, sent.message_id
    if old[0] is not None and old[1] is not None and old[1] != sent.message_id:
        try:  # one progress message per run: the older one goes
            await bot.delete_message(old[0], old[1])
        except TelegramBadRequest:
            pass
    deps.watchers.watch_run(user.id, run.id, sent.html_text)
