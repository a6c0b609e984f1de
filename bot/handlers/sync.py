"""/sync: pull new DMs now, as a background job; one message reports new and updated contacts."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deps import Deps
from bot.handlers.common import start_sync
from core.db.models import User

router = Router(name="sync")


@router.message(Command("sync"))
async def sync(message: Message, user: User, session: AsyncSession, deps: Deps) -> None:
    await start_sync(deps, session, user, message.chat.id, "Syncing Instagram")
