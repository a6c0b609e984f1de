"""/settings' ⏳ row: how many hours before Instagram's reply window closes a hot or unsure lead's unanswered
message is pushed (2 / 4 / 8 h, or off). Parse -> core.services.settings.set_window_push -> the settings screen."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import SetCb
from bot.handlers.settings import REFUSED, settings_text
from bot.views import show
from core.db.models import User
from core.services import settings as settings_service
from core.services.settings import SettingRefused

router = Router(name="reply_window")


@router.callback_query(SetCb.filter(F.a == "win"))
async def window_push(callback: CallbackQuery, callback_data: SetCb, user: User, callback_answer: CallbackAnswer,
                      session: AsyncSession) -> None:
    result = await settings_service.set_window_push(session, user, callback_data.v)
    if isinstance(result, SettingRefused):  # callback data is user input: only the offered values pass
        callback_answer.text = REFUSED[result]
        return
    hours = user.window_push_hours
    callback_answer.text = f"⏳ Pushed {hours} h before the reply window closes" if hours else "⏳ Window pushes off"
    await show(callback, settings_text(user), keyboards.settings_keyboard(user))
