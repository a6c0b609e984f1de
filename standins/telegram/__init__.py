"""A local Telegram Bot API stand-in validated against the official spec (api.json).

    async with TelegramStandin(token=TOKEN) as tg:          # 127.0.0.1, ephemeral port
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
        user = tg.user(1001, "Ann")                          # a user who opened the chat
        await user.send("/start")                            # message update with bot_command entity
        msg = await user.next_message()                      # next new bot message (.text, .html, .buttons)
        await user.press(msg.message_id, "Page 2 ›")         # by button text or callback_data
        await user.wait_for(lambda: "2/12" in user.message(msg.message_id).text)
        await user.reply(prompt_id, "vip")                   # ForceReply answer (reply_to_message)
        await user.press_raw(msg.message_id, "c:999")        # forged callback data
        await tg.wait_idle()                                 # nothing pending, nothing in flight
        assert tg.errors == [] and tg.unanswered_callbacks == []

Every call is checked against the spec (unknown method 404; unknown/missing/mistyped fields, HTML parse
mode, length and keyboard limits 400 with Telegram's descriptions); rejected calls land in `tg.errors`.
A test that provokes them says so: `with tg.expecting("message is too long"): ...` (or `tg.pop_errors()`).
`tg.fail_next(method, retry_after=N)` injects one 429; `tg.enable_rate_limits()` turns on flood control.
Modules: spec (api.json + type checks), html (parse mode), rules (limits), world/state (chats, updates),
methods/updates (behaviour), server (HTTP, webhooks), users (simulated users), render (terminal view for
`leadgram console`).
"""

from standins.telegram.errors import ApiError
from standins.telegram.render import button_for, numbered_buttons, render_change, render_message
from standins.telegram.server import TelegramStandin
from standins.telegram.spec import Spec, Upload
from standins.telegram.state import Callback, CallRecord, Message
from standins.telegram.users import WAIT_S, SimUser

__all__ = [
    "ApiError", "Callback", "CallRecord", "Message", "SimUser", "Spec", "TelegramStandin", "Upload", "WAIT_S",
    "button_for", "numbered_buttons", "render_change", "render_message",
]
