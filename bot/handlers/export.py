"""/export: every contact, every column, as a CSV document."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import User
from core.services.export import contacts_csv
from core.timeutil import utcnow

router = Router(name="export")


@router.message(Command("export"))
async def export(message: Message, user: User, session: AsyncSession) -> None:
    data, count = await contacts_csv(session, user.id)
    name = f"leadgram-contacts-{utcnow():%Y-%m-%d}.csv"
    await message.answer_document(BufferedInputFile(data, filename=name),
                                  caption=f"📤 {count} contact{'s' if count != 1 else ''}, every column.")
