"""/export: every contact as a CSV document (the creator's columns; `/export full`: every stored column)."""

from __future__ import annotations

import asyncio

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering
from core.db.models import User
from core.services.export import contacts_csv, export_files
from core.timeutil import utcnow

router = Router(name="export")


@router.message(Command("export"))
async def export(message: Message, command: CommandObject, user: User, session: AsyncSession) -> None:
    full = (command.args or "").strip().lower() == "full"
    data, count = await contacts_csv(session, user, full=full)
    # Zipping tens of MB takes seconds of CPU: off the event loop, so other creators are still answered.
    stem = f"leadgram-contacts{'-full' if full else ''}-{utcnow():%Y-%m-%d}"
    files = await asyncio.to_thread(export_files, data, stem)
    for n, file in enumerate(files, 1):
        try:
            await message.answer_document(BufferedInputFile(file.data, filename=file.filename),
                                          caption=rendering.export_caption(count, file.filename, n, len(files),
                                                                           full))
        except TelegramAPIError as exc:  # too large after all, or refused: said, never a silent failure
            await message.answer(rendering.export_failed(n, len(files), exc.message))
            return
