"""Live progress messages for background work (scoring runs, syncs): ONE message per run, edited in place
at most once per EDIT_INTERVAL seconds and never with unchanged text. Progress is read from the database
(scoring) or the arq job result (sync), so a restarted bot resumes watching where it left off."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import keyboards, rendering, screens
from bot.callbacks import ListCb
from bot.views import NO_PREVIEW, same
from core.db.models import ScoringRun
from core.queue import job as queue_job
from core.services import card as card_service
from core.services import scoring

log = logging.getLogger(__name__)

EDIT_INTERVAL = 2.0
POLL = 0.25
SYNC_TIMEOUT_S = 900
CARD_TIMEOUT_S = 300


class Watchers:
    """Background tasks owned by the bot process; stopped on shutdown."""

    def __init__(self, bot: Bot, sessions: async_sessionmaker[AsyncSession], queue: Any) -> None:
        self.bot, self.sessions, self.queue = bot, sessions, queue
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.interval = EDIT_INTERVAL

    def _spawn(self, key: str, coro: Any, replace: bool = False) -> None:
        current = self.tasks.get(key)
        if current is not None and not current.done():
            if not replace:
                coro.close()
                return
            current.cancel()
        self.tasks[key] = task = asyncio.create_task(coro, name=key)
        task.add_done_callback(_log_failure)

    def watch_run(self, user_id: int, run_id: int, shown_text: str | None = None) -> None:
        """`shown_text`: what the progress message says now (an equal update is never sent)."""
        self._spawn(f"run:{run_id}", self._run_loop(user_id, run_id, shown_text), replace=shown_text is not None)

    def watch_sync(self, chat_id: int, message_id: int, job_id: str, intro: str) -> None:
        self._spawn(f"sync:{job_id}", self._sync_wait(chat_id, message_id, job_id, intro))

    def watch_card(self, shown: Message, user_id: int, run_id: int, contact_id: int, back: ListCb) -> None:
        """♻️ rescore: when the one-contact run ends, show the card again with the new score (if it changed)."""
        self._spawn(f"card:{run_id}", self._card_loop(shown, user_id, run_id, contact_id, back))

    async def resume(self) -> int:
        """After a restart: keep updating every running run that has a progress message."""
        runs = await scoring.runs_on_screen(self.sessions)
        for run in runs:
            # Most likely on screen: the progress as of now (a guess; an equal edit would be rejected).
            self.watch_run(run.user_id, run.id, rendering.progress_text(run))
        return len(runs)

    async def close(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)

    # ------------------------------------------------------------ scoring runs
    async def _run_loop(self, user_id: int, run_id: int, shown_text: str | None) -> None:
        loop = asyncio.get_running_loop()
        shown: tuple[int, str] | None = None
        if shown_text is not None:
            async with self.sessions() as session:
                run = await scoring.get_run(session, user_id, run_id)
            shown = (run.progress_message_id or 0, rendering.plain(shown_text)) if run else None
        last_edit = loop.time()  # the message was just sent: the first edit waits a full interval
        while True:
            await asyncio.sleep(max(POLL, last_edit + self.interval - loop.time()))
            run, text, markup = await self._run_view(user_id, run_id)
            if run is None or run.progress_chat_id is None or run.progress_message_id is None:
                return
            target = (run.progress_message_id, rendering.plain(text))
            if target != shown:
                await self._edit(run.progress_chat_id, run.progress_message_id, text, markup)
                shown, last_edit = target, loop.time()
            if run.status == "done":
                return

    async def _run_view(self, user_id: int, run_id: int
                        ) -> tuple[ScoringRun | None, str, InlineKeyboardMarkup | None]:
        async with self.sessions() as session:
            run = await scoring.get_run(session, user_id, run_id)
            if run is None or run.status != "done":
                return run, rendering.progress_text(run) if run else "", None
            hot = await scoring.run_hot_leads(session, user_id, run_id)
        return run, rendering.summary_text(run, hot), keyboards.summary_keyboard(run.id, run.failed, hot, run.hot_found)

    async def _edit(self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None,
                    preview: LinkPreviewOptions = NO_PREVIEW) -> None:
        try:
            await self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup,
                                             link_preview_options=preview)
        except TelegramBadRequest as exc:  # deleted by the user: nothing to update
            log.info("progress message %s/%s not editable: %s", chat_id, message_id, exc)

    async def _card_loop(self, shown: Message, user_id: int, run_id: int, contact_id: int, back: ListCb) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CARD_TIMEOUT_S
        while loop.time() < deadline:
            await asyncio.sleep(POLL)
            async with self.sessions() as session:
                run = await scoring.get_run(session, user_id, run_id)
                if run is None or run.status == "done":
                    found = await card_service.card_after_run(session, user_id, contact_id)
                    screen = await screens.card(session, *found, back) if found is not None else None
                    break
        else:
            return
        if screen is not None:
            if not same(shown, screen.text, screen.markup):
                await self._edit(shown.chat.id, shown.message_id, screen.text, screen.markup, screen.preview)

    # ------------------------------------------------------------ syncs
    async def _sync_wait(self, chat_id: int, message_id: int, job_id: str, intro: str) -> None:
        try:
            job = queue_job(job_id, self.queue)
            result = await job.result(timeout=SYNC_TIMEOUT_S, poll_delay=0.3)
        except Exception as exc:  # noqa: BLE001 — the job failure is shown, not raised in the bot
            log.exception("sync job %s failed", job_id)
            result = {"stopped": "error", "detail": str(exc)}
        await self._edit(chat_id, message_id, rendering.sync_text(intro, result), None)


def _log_failure(task: asyncio.Task[None]) -> None:
    """A watcher that dies (database down, a bug) is logged at once, not when the task is collected."""
    if not task.cancelled() and task.exception() is not None:
        log.error("progress watcher %s failed", task.get_name(), exc_info=task.exception())
