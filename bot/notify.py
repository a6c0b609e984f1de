"""Push messages the creator did not ask for: hot-lead alerts (one, or a digest) and "reconnect Instagram".

Rendering is HTML through aiogram's escaping only; every message stays under Telegram's 4096 characters.
Sending goes through the shared SendPacer (≈1/s per chat, 30/s overall) and waits out TelegramRetryAfter.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot, html
from aiogram.exceptions import TelegramRetryAfter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core.rules import SENTIMENT_EMOJI, clip, one_line
from core.services.alerts import AlertItem
from core.services.sendrate import SendPacer
from core.timeutil import ago, utcnow

MAX_CHARS = 4096
DIGEST_BUDGET = 3800  # leaves room for the header and the "+N more" line
DIGEST_BUTTONS = 8
MAX_RETRY_AFTER_TRIES = 5
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class AlertOpen(CallbackData, prefix="alert"):
    """Buttons on a push alert. `what`: card | chat (of `contact_id`) | hot (the hot-leads list).
    Callback data is user input: the handler fetches the contact with the presser's own user id."""

    what: str
    contact_id: int = 0


def card_callback(contact_id: int) -> str:
    return AlertOpen(what="card", contact_id=contact_id).pack()


def chat_callback(contact_id: int) -> str:
    return AlertOpen(what="chat", contact_id=contact_id).pack()


def hot_list_callback() -> str:
    return AlertOpen(what="hot").pack()


def _who(item: AlertItem) -> str:
    name = one_line(item.name or item.username or "Someone", 60)
    handle = f" (@{html.quote(one_line(item.username, 40))})" if item.username and item.name else ""
    return f"<b>{html.quote(name)}</b>{handle}"


def _score(item: AlertItem) -> str:
    return f"{item.score}/100" if item.score is not None else "—"


def render_single(item: AlertItem) -> str:
    emoji = SENTIMENT_EMOJI.get(item.sentiment, "🔥")
    lines = [f"{emoji} Hot lead: {_who(item)} · {_score(item)}"]
    if item.reason:
        lines.append(f"<i>{html.quote(one_line(item.reason))}</i>")
    if item.next_action:
        lines.append(f"➡️ {html.quote(one_line(item.next_action))}")
    if item.last_message:
        when = ago(item.last_message_at, utcnow())
        lines.append(f"💬 “{html.quote(one_line(item.last_message, 300))}” · {when}")
    return clip("\n".join(lines), MAX_CHARS)


def render_digest(items: Sequence[AlertItem]) -> str:
    ordered = sorted(items, key=lambda i: (-(i.score or 0), i.contact_id))
    lines = [f"🔥 <b>{len(items)} hot leads</b> need you"]
    size = len(lines[0])
    shown = 0
    for n, item in enumerate(ordered, 1):
        reason = f" — {html.quote(one_line(item.reason, 90))}" if item.reason else ""
        line = f"{n}. {_who(item)} · {_score(item)}{reason}"
        if size + len(line) + 1 > DIGEST_BUDGET:
            break
        lines.append(line)
        size += len(line) + 1
        shown += 1
    if shown < len(items):
        lines.append(f"… and {len(items) - shown} more")
    return "\n".join(lines)


def single_keyboard(item: AlertItem) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="📇 Open card", callback_data=card_callback(item.contact_id))
    kb.button(text="💬 Open chat", callback_data=chat_callback(item.contact_id))
    kb.adjust(2)
    return kb.as_markup()


def digest_keyboard(items: Sequence[AlertItem]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    ordered = sorted(items, key=lambda i: (-(i.score or 0), i.contact_id))[:DIGEST_BUTTONS]
    for item in ordered:
        label = one_line(item.name or item.username or "Lead", 24)
        kb.button(text=f"🔥 {label} · {_score(item)}", callback_data=card_callback(item.contact_id))
    kb.adjust(2)
    kb.row(InlineKeyboardButton(text="🔥 All hot leads", callback_data=hot_list_callback()))
    return kb.as_markup()


def render_alerts(items: Sequence[AlertItem]) -> tuple[str, InlineKeyboardMarkup]:
    """One alert gets the full card; several pending at once become one digest."""
    if len(items) == 1:
        return render_single(items[0]), single_keyboard(items[0])
    return render_digest(items), digest_keyboard(items)


RECONNECT_TEXT = (
    "⚠️ <b>Instagram disconnected</b>\n"
    "Your Instagram access expired or was revoked, so Leadgram stopped syncing. Nothing was deleted: "
    "your contacts and scores are still here.\n"
    "To reconnect, send /connect and log in with Instagram again."
)


async def send_paced(
    bot: Bot, pacer: SendPacer, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> int:
    """Send one HTML message within Telegram's limits; returns its message id."""
    for _ in range(MAX_RETRY_AFTER_TRIES):
        await pacer.wait(chat_id)
        try:
            message = await bot.send_message(chat_id, text, parse_mode="HTML", reply_markup=markup,
                                             link_preview_options=NO_PREVIEW)
            return message.message_id
        except TelegramRetryAfter as exc:
            # Telegram asked us to wait: book the chat until then; the next wait() sleeps it out.
            await pacer.hold_chat(chat_id, float(exc.retry_after))
    raise RuntimeError("telegram kept answering RetryAfter")


async def send_alerts(bot: Bot, pacer: SendPacer, chat_id: int, items: Sequence[AlertItem]) -> int:
    text, markup = render_alerts(items)
    return await send_paced(bot, pacer, chat_id, text, markup)


async def send_reconnect_notice(bot: Bot, pacer: SendPacer, chat_id: int) -> int:
    return await send_paced(bot, pacer, chat_id, RECONNECT_TEXT)


def make_push_bot(token: str, api_base: str) -> Bot:
    """A Bot for workers that only push (alerts, notices), pointed at Telegram or a stand-in."""
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    return Bot(token, session=session)
