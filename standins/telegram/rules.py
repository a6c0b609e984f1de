"""Telegram's content limits, checked after the structural spec check: text, captions, keyboards, commands."""

from __future__ import annotations

import re
from typing import Any

from standins.telegram.errors import bad_request
from standins.telegram.html import parse_html, utf16_len

# Lengths are counted in characters (code points) of the parsed, trimmed text, as the Bot API docs say.
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_ANSWER_TEXT = 200
MAX_BUTTONS = 100
MAX_ROW = 8
PARSE_MODES = ("HTML", "MarkdownV2", "Markdown")
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
)
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def parse_text(text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None) -> tuple[str, list[Any]]:
    """Plain text + entities after applying parse_mode (explicit entities win, as in Telegram)."""
    if entities is not None or not parse_mode:
        return text, list(entities or [])
    mode = {m.lower(): m for m in PARSE_MODES}.get(parse_mode.lower())
    if mode is None:
        raise bad_request(f"unsupported parse_mode \"{parse_mode}\"")
    if mode == "HTML":
        return parse_html(text)
    # Markdown modes are not used by Leadgram; accepted as plain text rather than half-validated.
    return text, []


def trim(plain: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips leading/trailing whitespace from texts and captions; entities move and are clipped."""
    stripped = plain.strip()
    if stripped == plain:
        return plain, entities
    shift = utf16_len(plain[: len(plain) - len(plain.lstrip())])
    end = utf16_len(stripped)
    moved = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            moved.append({**entity, "offset": start, "length": stop - start})
    return stripped, moved


def check_message_text(text: str, parse_mode: str | None, entities: list[Any] | None) -> tuple[str, list[Any]]:
    plain, parsed = trim(*parse_text(text, parse_mode, entities))
    if not plain:
        raise bad_request("message text is empty")
    if len(plain) > MAX_TEXT:
        raise bad_request("message is too long")
    return plain, parsed


def check_caption(caption: str | None, parse_mode: str | None, entities: list[Any] | None) -> tuple[str, list[Any]]:
    if caption is None:
        return "", []
    plain, parsed = trim(*parse_text(caption, parse_mode, entities))
    if len(plain) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return plain, parsed


def check_reply_markup(markup: dict[str, Any] | None) -> None:
    if markup is None:
        return
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])
    elif "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise bad_request("force_reply must be True")
        placeholder = markup.get("input_field_placeholder")
        if placeholder is not None and not 1 <= len(placeholder) <= 64:
            raise bad_request("input_field_placeholder must be 1-64 characters")
    elif markup.get("remove_keyboard") is not True:
        raise bad_request("can't parse reply keyboard markup JSON object")


def _check_inline_keyboard(rows: list[list[dict[str, Any]]]) -> None:
    if sum(len(row) for row in rows) > MAX_BUTTONS or any(len(row) > MAX_ROW for row in rows):
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _check_inline_button(button)


def _check_inline_button(button: dict[str, Any]) -> None:
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_EMPTY")
    actions = [key for key in _BUTTON_ACTIONS if key in button]
    if not actions:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(f"can't parse inline keyboard button: exactly one of {', '.join(actions)} must be used")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not url.startswith(("http://", "https://", "tg://")):
        raise bad_request("BUTTON_URL_INVALID")


def _check_reply_keyboard(rows: list[list[dict[str, Any]]]) -> None:
    for row in rows:
        for button in row:
            if not button["text"].strip():
                raise bad_request("BUTTON_TEXT_EMPTY")


def check_answer_text(text: str | None) -> None:
    if text is not None and len(text) > MAX_ANSWER_TEXT:
        raise bad_request("MESSAGE_TOO_LONG")


def check_commands(commands: list[dict[str, Any]]) -> None:
    if len(commands) > 100:
        raise bad_request("too many commands")
    for command in commands:
        if not _COMMAND.match(command["command"]):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(command["description"].strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")


def check_chat_action(action: str) -> None:
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")


def check_secret_token(token: str | None) -> None:
    if token is not None and not _SECRET.match(token):
        raise bad_request("secret token contains unallowed characters")
