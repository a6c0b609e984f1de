"""The reply-window push ("reply before it closes"): text and buttons. Sent by TelegramNotifier.window_closing.

The buttons are the card's ways to answer (✍️ Reply, 🤖 Draft), the card and chat, and the thread in Instagram:
the creator can answer from the push itself; nothing is sent without their press on Send. Each opens a new
message (as the hot-lead alert's do), so the push stays as the record of what was due; 💾 Saved, which edits
its message in place, is one tap away on the card.
"""

from __future__ import annotations

from datetime import timedelta

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import AlertOpen, ListCb
from bot.keyboards import contact_cb, instagram_url
from bot.rendering import fit, q
from core.db.repo import Filter, Sort
from core.rules import display_name, one_line
from core.services.reply_window import WindowItem

BACK = ListCb(p=1, f=Filter.hot.value, s=Sort.score.value)  # where the card's "back" leads from a push


def time_left(left: timedelta) -> str:
    """"3 h 59 min", "45 min", "under a minute": what a phone screen needs, rounded down (never promises more)."""
    minutes = int(left.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def render_window(item: WindowItem) -> str:
    name = display_name(item.name, item.username, 60)
    handle = f" (@{q(one_line(item.username, 40))})" if item.username and item.name else ""
    lines = [f"⏳ <b>{time_left(item.left)} left</b> to answer <b>{q(name)}</b>{handle}",
             "Instagram closes the reply window 24 h after their last message, and it is still unanswered."]
    if item.last_message:
        lines.append(f"💬 “{q(one_line(item.last_message, 300))}”")
    return fit("\n".join(lines))


def window_keyboard(item: WindowItem) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✍️ Reply", callback_data=contact_cb("reply", item.contact_id, BACK).pack())
    kb.button(text="🤖 Draft", callback_data=contact_cb("aidraft", item.contact_id, BACK).pack())
    kb.button(text="📇 Card", callback_data=AlertOpen(what="card", contact_id=item.contact_id).pack())
    kb.button(text="💬 Chat", callback_data=AlertOpen(what="chat", contact_id=item.contact_id).pack())
    kb.adjust(2, 2)
    if (url := instagram_url(item.username)) is not None:
        kb.row(InlineKeyboardButton(text="📲 Open in Instagram", url=url))
    return kb.as_markup()
