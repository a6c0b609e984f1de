"""A local Telegram Bot API stand-in validated against the official spec (see server.TelegramStandin)."""

from standins.telegram.errors import ApiError
from standins.telegram.render import button_for, numbered_buttons, render_message
from standins.telegram.server import TelegramStandin
from standins.telegram.spec import Spec, Upload
from standins.telegram.state import Callback, CallRecord, Message
from standins.telegram.users import SimUser

__all__ = [
    "ApiError", "Callback", "CallRecord", "Message", "SimUser", "Spec", "TelegramStandin", "Upload",
    "button_for", "numbered_buttons", "render_message",
]
