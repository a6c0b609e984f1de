"""/settings: niche, goal, timezone (by reply), alerts on/off and the hot-lead threshold (buttons)."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import SetCb
from bot.handlers.common import is_reply_to
from bot.rendering import q
from bot.views import show
from core.db.models import User
from core.rules import one_line

router = Router(name="settings")

PROMPTS = {
    "niche": ("✏️ Niche · reply with your niche", "fitness coach"),
    "goal": ("✏️ Goal · reply with your goal for DMs", "sell my 12-week program"),
    "tz": ("🌍 Timezone · reply with your timezone, like Europe/Berlin or America/New_York", "Europe/Berlin"),
}


def settings_text(user: User) -> str:
    alerts = f"on, for score ≥ {user.alert_threshold} or 🔥" if user.alerts_enabled else "off"
    return "\n".join([
        "⚙️ <b>Settings</b>",
        f"Niche: {q(user.niche or '—')}",
        f"Goal: {q(user.goal or '—')}",
        f"Hot-lead alerts: {alerts}",
        f"Timezone: {q(user.timezone)} · quiet hours {user.quiet_start_hour:02d}:00–{user.quiet_end_hour:02d}:00",
    ])


@router.message(Command("settings"))
async def settings(message: Message, user: User) -> None:
    await message.answer(settings_text(user), reply_markup=keyboards.settings_keyboard(user))


@router.callback_query(SetCb.filter(F.a.in_(PROMPTS)))
async def ask(callback: CallbackQuery, callback_data: SetCb) -> None:
    prompt, placeholder = PROMPTS[callback_data.a]
    if callback.message is not None:
        await callback.message.answer(prompt, reply_markup=ForceReply(force_reply=True,
                                                                      input_field_placeholder=placeholder))


@router.callback_query(SetCb.filter(F.a == "alerts"))
async def toggle_alerts(callback: CallbackQuery, user: User, callback_answer: CallbackAnswer,
                        session: AsyncSession) -> None:
    user.alerts_enabled = not user.alerts_enabled
    callback_answer.text = "🔔 Alerts on" if user.alerts_enabled else "🔕 Alerts off"
    await session.commit()
    await show(callback, settings_text(user), keyboards.settings_keyboard(user))


@router.callback_query(SetCb.filter(F.a == "thr"))
async def threshold(callback: CallbackQuery, callback_data: SetCb, user: User, callback_answer: CallbackAnswer,
                    session: AsyncSession) -> None:
    if callback_data.v not in keyboards.THRESHOLDS:  # callback data is user input
        callback_answer.text = "Pick one of the buttons."
        return
    user.alert_threshold = callback_data.v
    callback_answer.text = f"Alerts for score ≥ {callback_data.v}"
    await session.commit()
    await show(callback, settings_text(user), keyboards.settings_keyboard(user))


@router.message(F.text, is_reply_to("✏️ Niche"))
async def niche(message: Message, user: User, session: AsyncSession) -> None:
    user.niche = one_line(message.text, 200) or user.niche
    await session.commit()
    await message.answer(settings_text(user), reply_markup=keyboards.settings_keyboard(user))


@router.message(F.text, is_reply_to("✏️ Goal"))
async def goal(message: Message, user: User, session: AsyncSession) -> None:
    user.goal = one_line(message.text, 300) or user.goal
    await session.commit()
    await message.answer(settings_text(user), reply_markup=keyboards.settings_keyboard(user))


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}


@router.message(F.text, is_reply_to("🌍 Timezone"))
async def timezone(message: Message, user: User, session: AsyncSession) -> None:
    name = (message.text or "").strip()
    if name not in _zones():  # IANA names only: "localtime" and friends depend on the server
        await message.answer(f"❌ {q(one_line(name, 60))} is not a timezone I know. Use a name like Europe/Berlin "
                             "or America/New_York. Nothing changed.")
        return
    user.timezone = name
    await session.commit()
    await message.answer(settings_text(user), reply_markup=keyboards.settings_keyboard(user))
