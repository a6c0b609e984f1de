"""Last router: callbacks nothing else understood (forged, garbage, stale formats) and stray text."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.handlers.common import NOT_FOUND

router = Router(name="fallback")


@router.callback_query()
async def unknown_callback(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = NOT_FOUND


@router.message()
async def unknown_message(message: Message) -> None:
    await message.answer("I didn't get that. /contacts shows your leads, /help lists everything.")
