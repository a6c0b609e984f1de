"""/settings: niche, goal, timezone (by reply), alerts on/off and the hot-lead threshold (buttons)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, rendering
from bot.callbacks import SetCb
from bot.handlers.common import is_reply_to
from bot.rendering import q, window_push_line
from bot.views import show
from core.db.models import User
from core.rules import one_line
from core.services import saved_replies
from core.services import settings as settings_service
from core.services.settings import SettingRefused

router = Router(name="settings")

PROMPTS = {
    "niche": ("✏️ Niche · reply with your niche", "fitness coach"),
    "goal": ("✏️ Goal · reply with your goal for DMs", "sell my 12-week program"),
    "tz": ("🌍 Timezone · reply with your timezone, like Europe/Berlin or America/New_York", "Europe/Berlin"),
    "link": ("🔗 Link · reply with your booking or shop link (https://…) for {link} in saved replies, or - to "
             "remove it", "https://"),
}


def settings_text(user: User) -> str:
    alerts = f"on, for score ≥ {user.alert_threshold}" if user.alerts_enabled else "off"
    return "\n".join([
        "⚙️ <b>Settings</b>",
        f"Niche: {q(user.niche or '—')}",
        f"Goal: {q(user.goal or '—')}",
        f"Hot-lead alerts: {alerts}",
        f"Reply-window push: {window_push_line(user.window_push_hours)}",
        f"Timezone: {q(user.timezone)} · quiet hours {user.quiet_start_hour:02d}:00–{user.quiet_end_hour:02d}:00",
        f"Link: {q(user.reply_link or '—')}",
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


REFUSED = {
    SettingRefused.EMPTY: "❌ That was empty. Nothing changed.",
    SettingRefused.NOT_OFFERED: "Pick one of the buttons.",
    SettingRefused.UNKNOWN_TIMEZONE: "❌ {text} is not a timezone I know. Use a name like Europe/Berlin or "
                                     "America/New_York. Nothing changed.",
}


@router.callback_query(SetCb.filter(F.a == "alerts"))
async def toggle_alerts(callback: CallbackQuery, user: User, callback_answer: CallbackAnswer,
                        session: AsyncSession) -> None:
    await settings_service.toggle_alerts(session, user)
    callback_answer.text = "🔔 Alerts on" if user.alerts_enabled else "🔕 Alerts off"
    await show(callback, settings_text(user), keyboards.settings_keyboard(user))


@router.callback_query(SetCb.filter(F.a == "thr"))
async def threshold(callback: CallbackQuery, callback_data: SetCb, user: User, callback_answer: CallbackAnswer,
                    session: AsyncSession) -> None:
    result = await settings_service.set_hot_threshold(session, user, callback_data.v)
    if isinstance(result, SettingRefused):
        callback_answer.text = REFUSED[result]
        return
    callback_answer.text = f"Alerts for score ≥ {user.alert_threshold}"
    await show(callback, settings_text(user), keyboards.settings_keyboard(user))


# Replies to the ForceReply prompts above: each is one core call, then the settings screen again.
SETTERS = {"✏️ Niche": ("niche", settings_service.set_niche), "✏️ Goal": ("goal", settings_service.set_goal),
           "🌍 Timezone": ("timezone", settings_service.set_timezone)}


def _reply_setter(prefix: str):  # type: ignore[no-untyped-def]
    what, setter = SETTERS[prefix]

    async def handler(message: Message, user: User, session: AsyncSession) -> None:
        result = await setter(session, user, message.text or "")
        if isinstance(result, SettingRefused):
            await message.answer(REFUSED[result].format(text=q(one_line(message.text, 60))))
            return
        await message.answer(settings_text(user), reply_markup=keyboards.settings_keyboard(user))
        if result.stale_scores:  # offer once to rescore everyone for the new niche or goal
            await message.answer(rendering.rescore_suggestion(what, result.stale_scores),
                                 reply_markup=keyboards.rescore_all_keyboard(result.rescorable))
    return handler


for _prefix in SETTERS:
    router.message(F.text, is_reply_to(_prefix))(_reply_setter(_prefix))


@router.message(F.text, is_reply_to("🔗 Link"))
async def link(message: Message, user: User, session: AsyncSession) -> None:
    result = await saved_replies.set_link(session, user, message.text or "")
    if isinstance(result, saved_replies.Refusal):
        await message.answer("❌ That is not a link: send it like https://example.com/book (or - to remove it). "
                             "Nothing changed.")
        return
    await message.answer(settings_text(user), reply_markup=keyboards.settings_keyboard(user))
