"""A simulated Telegram user in a private chat with the bot: sends text, replies, presses buttons, waits."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import Callable
from typing import Any

from standins.telegram.html import utf16_len
from standins.telegram.state import Callback, ChatState, Message
from standins.telegram.world import World

# How long a wait gives the bot by default. A wait returns as soon as its condition holds, so this only
# bounds a failure; it is generous because CI shares 2 cores and SQLite writers queue behind each other.
WAIT_S = 30.0

_callback_ids = itertools.count(1)


def _member(status: str, bot_user: dict[str, Any]) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": bot_user}
    if status == "kicked":
        member["until_date"] = 0
    return member


class SimUser:
    """One Telegram user talking to the bot in a private chat (chat id == user id), driven by a test or console."""

    def __init__(
        self, world: World, telegram_id: int, first_name: str, username: str | None, started: bool = True
    ) -> None:
        self.world = world
        self.id = telegram_id
        self.user: dict[str, Any] = {"id": telegram_id, "is_bot": False, "first_name": first_name,
                                     "language_code": "en"}
        if username:
            self.user["username"] = username
        world.chats.setdefault(telegram_id, ChatState(telegram_id, self.user, started=started))
        self._cursor = 0  # highest bot message id returned by next_message()

    @property
    def state(self) -> ChatState:
        return self.world.chats[self.id]

    # what the user sees -----------------------------------------------------------
    @property
    def chat(self) -> list[Message]:
        """The bot's messages in this chat as they are now (edits applied, deleted ones gone)."""
        return [m for m in self.state.messages.values() if m.from_bot and not m.deleted]

    @property
    def last(self) -> Message | None:
        chat = self.chat
        return chat[-1] if chat else None

    def message(self, message_id: int) -> Message:
        return self.state.messages[message_id]

    # what the user does -------------------------------------------------------------
    def block(self, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends then fail with 403, and the bot gets my_chat_member."""
        if self.state.blocked == blocked:
            return
        self.state.blocked = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        self.world.updates.push("my_chat_member", {
            "chat": {"id": self.id, "type": "private", "first_name": self.user["first_name"]},
            "from": self.user, "date": self.world.now(),
            "old_chat_member": _member(old, self.world.bot_user), "new_chat_member": _member(new, self.world.bot_user),
        })
        self._touch()

    async def send(self, text: str) -> Message:
        """A text message; a leading /command gets its bot_command entity as Telegram adds it."""
        return self._post(text, reply_to=None)

    async def reply(self, to_message_id: int, text: str) -> Message:
        """A reply (what answering a ForceReply prompt produces): carries reply_to_message."""
        if to_message_id not in self.state.messages:
            raise LookupError(f"no message {to_message_id} in chat {self.id}")
        return self._post(text, reply_to=to_message_id)

    def _post(self, text: str, reply_to: int | None) -> Message:
        self.block(False)  # writing to the bot again means restarting it
        chat = self.state
        chat.started = True
        msg = Message(chat.new_id(), chat.chat_id, False, self.world.now(), text=text, html=text, reply_to=reply_to)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            msg.entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        chat.messages[msg.message_id] = msg
        self.world.updates.push("message", self.world.message_json(msg))
        self.world.log.append(("user", msg))
        self._touch()
        return msg

    async def press(self, message_id: int, text_or_data: str) -> Callback:
        """Press a button that is on the message now, found by its text or its callback_data."""
        msg = self.state.messages.get(message_id)
        if msg is None or msg.deleted or not msg.from_bot:
            raise LookupError(f"no bot message {message_id} in chat {self.id}")
        for button in msg.button_list():
            if text_or_data in (button["text"], button.get("callback_data")) and "callback_data" in button:
                return self._callback(msg.message_id, button["callback_data"], self.world.message_json(msg))
        raise LookupError(f"no button {text_or_data!r} on message {message_id}: {msg.buttons}")

    async def press_raw(self, message_id: int, data: str) -> Callback:
        """A callback with arbitrary (forged or stale) data, as a modified client could send.

        For a message id not in the chat the callback carries an InaccessibleMessage (date 0), as
        Telegram does for messages too old to show."""
        msg = self.state.messages.get(message_id)
        if msg is None:
            inaccessible = {"chat": {"id": self.id, "type": "private", "first_name": self.user["first_name"]},
                            "message_id": message_id, "date": 0}
            return self._callback(message_id, data, inaccessible)
        return self._callback(msg.message_id, data, self.world.message_json(msg))

    def _callback(self, message_id: int, data: str, message: dict[str, Any]) -> Callback:
        callback = Callback(f"cb{next(_callback_ids)}", self.id, message_id, data)
        self.world.callbacks[callback.id] = callback
        payload = {"id": callback.id, "from": self.user, "chat_instance": f"ci{self.id}", "data": data,
                   "message": message}
        self.world.updates.push("callback_query", payload)
        self._touch()
        return callback

    def _touch(self) -> None:
        self.world.last_activity = asyncio.get_running_loop().time()
        self.world.changed()

    # waiting without sleeps ------------------------------------------------------------
    async def wait_for(self, predicate: Callable[..., Any], timeout: float = WAIT_S) -> Any:  # noqa: ASYNC109
        """Re-check `predicate()` (or `predicate(user)`) on every change until truthy; returns its value."""
        wants_user = bool(inspect.signature(predicate).parameters)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate(self) if wants_user else predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met in {timeout}s; chat: {[m.text[:80] for m in self.chat]}")
            await self.world.pulse.wait(remaining)

    async def next_message(self, timeout: float = WAIT_S) -> Message:  # noqa: ASYNC109
        """The next new bot message after the last one returned here (edits are not new messages)."""
        def fresh() -> Message | None:
            return next((m for m in self.chat if m.message_id > self._cursor), None)

        msg: Message = await self.wait_for(fresh, timeout)
        self._cursor = msg.message_id
        return msg

    async def changes(self, since: int, timeout: float = 5.0) -> tuple[int, list[tuple[str, Message]]]:  # noqa: ASYNC109
        """Bot-side changes to this chat ("sent"/"edited"/"deleted") after log position `since`.

        Waits until there is at least one or `timeout` passes; returns the new position for the next call
        (the console prints edits as they happen with this)."""
        def fresh() -> list[tuple[str, Message]]:
            return [(k, m) for k, m in self.world.log[since:] if m.chat_id == self.id and k != "user"]

        try:
            found: list[tuple[str, Message]] = await self.wait_for(fresh, timeout)
        except TimeoutError:
            found = []
        return len(self.world.log), found

    async def wait_answered(self, callback: Callback, timeout: float = WAIT_S) -> dict[str, Any]:  # noqa: ASYNC109
        """The bot's answerCallbackQuery params (text, show_alert) for a press."""
        await self.wait_for(lambda: callback.answered, timeout)
        return callback.answer or {}
