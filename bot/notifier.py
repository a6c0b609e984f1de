"""TelegramNotifier: core.notifier.Notifier for Telegram: the pushes workers send (hot-lead alerts, one or a
digest; "reconnect Instagram"; a reply's background outcome), rendered and sent.

Rendering is HTML escaped and fitted to Telegram's limit by bot/rendering.py (q, fit), like every other text.
Sending goes through the shared SendPacer (≈1/s per chat, 30/s overall); a 429 is the Bot's one policy
(bot/client.py), booked on the same pacer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import screens
from bot.callbacks import AlertOpen
from bot.client import make_bot
from bot.keyboards import instagram_url
from bot.rendering import fit, machine_label, q
from bot.window_notify import render_window, window_keyboard
from core.config import Settings
from core.notifier import Undeliverable
from core.rules import display_name, one_line
from core.services import reminders
from core.services import reply as replies
from core.services.alerts import AlertItem
from core.services.reminders import ReminderItem
from core.services.reply_window import WindowItem
from core.services.sendrate import SendPacer
from core.timeutil import Clock, ago, utcnow

log = logging.getLogger(__name__)

DIGEST_SHOWN = 3  # leads a digest names (and has buttons for); the rest are behind "All hot leads"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def card_callback(contact_id: int) -> str:
    return AlertOpen(what="card", contact_id=contact_id).pack()


def chat_callback(contact_id: int) -> str:
    return AlertOpen(what="chat", contact_id=contact_id).pack()


def hot_list_callback() -> str:
    return AlertOpen(what="hot").pack()


def _who(item: AlertItem) -> str:
    name = display_name(item.name, item.username, 60)
    handle = f" (@{q(one_line(item.username, 40))})" if item.username and item.name else ""
    return f"<b>{q(name)}</b>{handle}"


def _score(item: AlertItem) -> str:
    return f"{item.score}/100" if item.score is not None else "—"


def render_single(item: AlertItem) -> str:
    lines = [f"🔥 Hot lead: {_who(item)} · {_score(item)}"]
    by = machine_label(item.scored_by)
    if item.reason:
        lines.append(f"{by}: <i>{q(one_line(item.reason))}</i>")
    if item.next_action:
        lines.append(f"➡️ {by} suggests: {q(one_line(item.next_action))}")
    if item.last_message:
        when = ago(item.last_message_at, utcnow())
        lines.append(f"💬 “{q(one_line(item.last_message, 300))}” · {when}")
    return fit("\n".join(lines))


def render_digest(items: Sequence[AlertItem]) -> str:
    """Grouped, not a wall: how many, the best few with what each one asked, the rest one tap away."""
    ordered = sorted(items, key=lambda i: (-(i.score or 0), i.contact_id))
    lines = [f"🔥 <b>{len(items)} hot leads</b> need you. The best {min(len(items), DIGEST_SHOWN)}:"]
    for n, item in enumerate(ordered[:DIGEST_SHOWN], 1):
        lines.append(f"{n}. {_who(item)} · {_score(item)}")
        if item.last_message:
            lines.append(f"    💬 “{q(one_line(item.last_message, 120))}”")
        elif item.reason:
            lines.append(f"    <i>{q(one_line(item.reason, 120))}</i>")
    if len(items) > DIGEST_SHOWN:
        rest = len(items) - DIGEST_SHOWN
        lines.append(f"\n+ {rest} more hot lead{'s' if rest != 1 else ''}: 🔥 All hot leads shows them, best first.")
    return fit("\n".join(lines))


def single_keyboard(item: AlertItem) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="📇 Open card", callback_data=card_callback(item.contact_id))
    kb.button(text="💬 Open chat", callback_data=chat_callback(item.contact_id))
    kb.adjust(2)
    if (url := instagram_url(item.username)) is not None:  # what Leadgram cannot send (media, voice)
        kb.row(InlineKeyboardButton(text="📲 Open in Instagram", url=url))
    return kb.as_markup()


def digest_keyboard(items: Sequence[AlertItem]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    ordered = sorted(items, key=lambda i: (-(i.score or 0), i.contact_id))[:DIGEST_SHOWN]
    for item in ordered:
        label = display_name(item.name, item.username, 24)
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
UNREADABLE_TEXT = (
    "⚠️ <b>Instagram disconnected</b>\n"
    "Leadgram can no longer read your stored Instagram token: the server's encryption key (SECRET_KEY) changed. "
    "Your Instagram access itself may be fine. Nothing was deleted: your contacts and scores are still here.\n"
    "To reconnect, send /connect with your token again."
)


class TelegramNotifier:
    """Pushes through `bot` (made by bot.client.make_bot with the same `pacer`, so 429 holds are shared)."""

    def __init__(self, bot: Bot, pacer: SendPacer, owns_bot: bool = False, *,
                 sessions: async_sessionmaker[AsyncSession] | None = None, human_agent: bool = False,
                 clock: Clock = utcnow) -> None:
        self.bot = bot
        self.pacer = pacer
        self._owns_bot = owns_bot
        self.sessions, self.human_agent, self.clock = sessions, human_agent, clock

    @classmethod
    def from_settings(cls, settings: Settings, redis: object, clock: Clock = utcnow,
                      sessions: async_sessionmaker[AsyncSession] | None = None) -> TelegramNotifier:
        """A push-only notifier of its own (a worker process without a bot)."""
        if settings.telegram_bot_token is None:
            raise RuntimeError("TELEGRAM_BOT_TOKEN is not set: cannot push alerts")
        pacer = SendPacer(redis, clock=clock)
        return cls(make_bot(settings, pacer=pacer), pacer, owns_bot=True, sessions=sessions,
                   human_agent=settings.ig_human_agent, clock=clock)

    async def reply_settled(self, user_id: int, reply_id: int) -> None:
        """A reply sent (or failed) in the background: its draft message shows the outcome (edited in place)."""
        if self.sessions is None:
            raise RuntimeError("this notifier has no database sessions: cannot show a reply's outcome")
        async with self.sessions() as session:
            found = await replies.get_reply(session, user_id, reply_id)
        if found is None or found[0].chat_id is None or found[0].message_id is None:
            return
        reply, contact = found
        screen = screens.draft(reply, contact, human_agent=self.human_agent, now=self.clock())
        try:
            await self.bot.edit_message_text(screen.text, chat_id=reply.chat_id, message_id=reply.message_id,
                                             reply_markup=screen.markup, parse_mode="HTML",
                                             link_preview_options=NO_PREVIEW)
        except TelegramBadRequest as exc:  # unchanged, or the message is gone: the outcome is on the card anyway
            log.info("reply %s: draft message not edited (%s)", reply_id, exc.message)

    async def hot_leads(self, chat_id: int, items: Sequence[AlertItem]) -> int:
        text, markup = render_alerts(items)
        return await self._send(chat_id, text, markup)

    async def window_closing(self, chat_id: int, item: WindowItem) -> int:
        return await self._send(chat_id, render_window(item), window_keyboard(item))

    async def reconnect_instagram(self, chat_id: int, reason: str = "expired") -> int:
        return await self._send(chat_id, UNREADABLE_TEXT if reason == "unreadable" else RECONNECT_TEXT)

    async def reminder(self, chat_id: int, item: ReminderItem) -> int:
        """⏰ The lead's card as it is now, with snooze and done (core.services.reminders claimed it)."""
        if self.sessions is None:
            raise RuntimeError("this notifier has no database sessions: cannot show a reminder's lead")
        async with self.sessions() as session:
            found = await reminders.push_subject(session, item)
            if found is None:  # deleted meanwhile (the reminder went with it): nothing to show, the others go
                return 0
            user, contact = found
            screen = await screens.reminder_push(session, user, contact, item.reminder_id, item.snoozes,
                                                 human_agent=self.human_agent, now=self.clock())
        return await self._send(chat_id, screen.text, screen.markup)

    async def aclose(self) -> None:
        if self._owns_bot:
            await self.bot.session.close()

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> int:
        await self.pacer.wait(chat_id)
        try:
            message = await self.bot.send_message(chat_id, text, parse_mode="HTML", reply_markup=markup,
                                                  link_preview_options=NO_PREVIEW)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:  # blocked, or the chat is gone
            raise Undeliverable(str(exc), blocked=isinstance(exc, TelegramForbiddenError)) from exc
        return message.message_id
