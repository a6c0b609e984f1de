"""Showing a view: edit the pressed message in place, unless it already shows exactly this
(Telegram rejects such edits with "message is not modified")."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message

from bot.rendering import plain

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _markup_dump(markup: InlineKeyboardMarkup | None) -> object:
    return markup.model_dump(exclude_none=True, exclude_defaults=True) if markup else None


def same(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    return ((message.text or "").strip() == plain(text)
            and _markup_dump(message.reply_markup) == _markup_dump(markup))


async def show(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None,
               preview: LinkPreviewOptions | None = None) -> None:
    """Edit the message the button is on; a stale (inaccessible) message gets a fresh one instead."""
    message = callback.message
    if not isinstance(message, Message) or message.photo or message.document:
        if message is not None:
            await callback.bot.send_message(message.chat.id, text, reply_markup=markup,  # type: ignore[union-attr]
                                            link_preview_options=preview or NO_PREVIEW)
        return
    if same(message, text, markup):
        return
    await message.edit_text(text, reply_markup=markup, link_preview_options=preview or NO_PREVIEW)


def shown_page(callback: CallbackQuery) -> int | None:
    """The page the pressed list message shows now (its "page 3/12" button): how a wrap is told from a step."""
    markup = callback.message.reply_markup if isinstance(callback.message, Message) else None
    for row in markup.inline_keyboard if markup else []:
        for button in row:
            if button.text.startswith("page ") and "/" in button.text:
                number = button.text.removeprefix("page ").split("/", 1)[0]
                return int(number) if number.isdigit() else None
    return None
