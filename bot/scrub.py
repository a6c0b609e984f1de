"""A /connect message carries an Instagram token: it is deleted wherever it arrives (also from a sender the bot
refuses, also in a group), and when Telegram will not delete it the sender is told to delete it."""

from __future__ import annotations

import logging
import re

from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

log = logging.getLogger(__name__)
_CONNECT = re.compile(r"^/connect(@\w+)?\s+\S", re.IGNORECASE)
DELETE_FAILED = ("⚠️ I could not delete your /connect message, and it contains your Instagram token. "
                 "Delete it yourself (long-press it → Delete) and, to be safe, create a new token.")


def carries_token(message: Message) -> bool:
    return bool(_CONNECT.match(message.text or message.caption or ""))


async def scrub(message: Message) -> bool:
    """Delete the message; if Telegram refuses, say so in the chat. True when it is gone."""
    try:
        await message.delete()
        return True
    except TelegramAPIError as exc:
        log.warning("could not delete a /connect message in chat %s: %s", message.chat.id, exc.message)
        try:
            await message.answer(DELETE_FAILED)
        except TelegramAPIError as told:  # cannot write there either (a group that muted the bot): logged
            log.warning("could not tell chat %s about it: %s", message.chat.id, told.message)
        return False
