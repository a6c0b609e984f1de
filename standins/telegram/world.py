"""The stand-in's Telegram: one bot, private chats with simulated users, updates, files, throttling."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from standins.telegram.errors import ApiError, bad_request, forbidden, too_many_requests
from standins.telegram.spec import Upload
from standins.telegram.state import Callback, CallRecord, ChatState, Message, Preview, Pulse, UpdateQueue

COUNTED = ("send", "edit", "copy", "forward")  # method prefixes that count against flood limits
NOT_COUNTED = ("sendchataction",)


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    last_error: str | None = None
    last_error_date: int | None = None


@dataclass
class RateLimiter:
    """Token buckets like Telegram's flood control: ~1 msg/s per chat with a small burst, 30/s overall."""

    clock: Callable[[], float]
    per_chat: float = 1.0
    burst: float = 3.0
    overall: float = 30.0
    _chats: dict[int, tuple[float, float]] = field(default_factory=dict)
    _global: tuple[float, float] | None = None

    def take(self, chat_id: int) -> None:
        now = self.clock()
        level, wait = _refill(self._chats.get(chat_id), now, self.per_chat, self.burst)
        glevel, gwait = _refill(self._global, now, self.overall, self.overall)
        if wait > 0 or gwait > 0:
            raise too_many_requests(max(1, math.ceil(max(wait, gwait))))
        self._chats[chat_id] = (level - 1, now)
        self._global = (glevel - 1, now)


def _refill(bucket: tuple[float, float] | None, now: float, rate: float, cap: float) -> tuple[float, float]:
    """(tokens available now, seconds until one token is available)."""
    level = cap if bucket is None else min(cap, bucket[0] + (now - bucket[1]) * rate)
    return level, 0.0 if level >= 1 else (1 - level) / rate


class World:
    """All state plus the small helpers the method handlers share."""

    def __init__(self, token: str, clock: Callable[[], float] | None = None) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 100000001
        self.bot_user = {"id": self.bot_id, "is_bot": True, "first_name": "Leadgram", "username": "leadgram_bot"}
        self.clock = clock or time.time
        self.chats: dict[int, ChatState] = {}
        self.updates = UpdateQueue()
        self.callbacks: dict[str, Callback] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, Upload | str] = {}
        self.webhook: Webhook | None = None
        self.errors: list[CallRecord] = []
        self.throttled: list[CallRecord] = []
        self.calls: list[CallRecord] = []
        self.failures: dict[str, list[ApiError]] = {}
        self.rate: RateLimiter | None = None
        self.pulse = Pulse()
        self.log: list[tuple[str, Message]] = []  # ("sent" | "edited" | "deleted" | "user", message), in order
        self.active_poll: object | None = None  # the one getUpdates allowed to wait (a newer one wins)
        self.closing = False  # set by stop(): long polls answer at once instead of holding shutdown
        self.in_flight = 0  # API calls being handled now, long polls excluded (for wait_idle)
        self.last_activity = 0.0
        self._ids = itertools.count(1)
        # Telegram fetches the URLs it is given for previews and photos itself, and caches what it got. With
        # no client (tests) URLs are accepted and nothing is fetched.
        self.fetch: httpx.AsyncClient | None = None
        self.base_url = ""
        self.previews: dict[str, Preview | None] = {}

    def now(self) -> int:
        return int(self.clock())

    async def fetched(self, url: str) -> Preview | None:
        """The image at `url` as Telegram would show it, or None (no fetch client, unreachable, not an image)."""
        if self.fetch is None or not url.startswith(("http://", "https://")):
            return None
        if url not in self.previews:
            preview = None
            try:
                resp = await self.fetch.get(url, timeout=5.0)
            except httpx.HTTPError:
                resp = None
            kind = resp.headers.get("content-type", "").split(";")[0].strip() if resp is not None else ""
            if resp is not None and resp.status_code == 200 and kind.startswith("image/"):
                preview = Preview(url, kind, resp.content, f"{self.base_url}/preview/{len(self.previews) + 1}")
            self.previews[url] = preview
        return self.previews[url]

    def preview_media(self, number: int) -> Preview | None:
        return next((p for p in self.previews.values() if p and p.local_url.endswith(f"/preview/{number}")), None)

    def new_file_id(self, kind: str, value: Upload | str) -> str:
        file_id = f"{kind}-{next(self._ids)}"
        self.files[file_id] = value
        return file_id

    def changed(self) -> None:
        self.pulse.notify()

    def record(self, kind: str, msg: Message) -> None:
        self.log.append((kind, msg))
        self.changed()

    # chats -----------------------------------------------------------------
    def chat_for(self, chat_id: int | str) -> ChatState:
        """The private chat a bot call targets; Telegram refuses chats the user never opened."""
        chat = self._lookup(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if not chat.started:
            raise forbidden("bot can't initiate conversation with a user")
        if chat.blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def _lookup(self, chat_id: int | str) -> ChatState | None:
        # "@username" only names channels and supergroups; a user's private chat is reachable by id alone.
        return self.chats.get(chat_id) if isinstance(chat_id, int) else None

    def message(self, chat: ChatState, message_id: int, missing: str) -> Message:
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise bad_request(missing)
        return msg

    # throttling -------------------------------------------------------------
    def fail_next(self, method: str, error: ApiError) -> None:
        self.failures.setdefault(method.lower(), []).append(error)

    def check_throttle(self, method: str, params: dict[str, Any]) -> None:
        queued = self.failures.get(method.lower())
        if queued:
            raise queued.pop(0)
        name = method.lower()
        if self.rate is not None and name.startswith(COUNTED) and name not in NOT_COUNTED and "chat_id" in params:
            chat = self._lookup(params["chat_id"])
            self.rate.take(chat.chat_id if chat else 0)

    # serialization ------------------------------------------------------------
    def message_json(self, msg: Message, with_reply: bool = True) -> dict[str, Any]:
        chat = self.chats[msg.chat_id]
        body: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": {"id": chat.chat_id, "type": "private", **_names(chat.user)},
            "from": self.bot_user if msg.from_bot else chat.user,
        }
        body.update(_content_json(msg))
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            body["reply_markup"] = msg.reply_markup
        if msg.edit_date:
            body["edit_date"] = msg.edit_date
        if with_reply and msg.reply_to and msg.reply_to in chat.messages:
            body["reply_to_message"] = self.message_json(chat.messages[msg.reply_to], with_reply=False)
        return body


def _names(user: dict[str, Any]) -> dict[str, Any]:
    return {k: user[k] for k in ("first_name", "last_name", "username") if user.get(k)}


def _content_json(msg: Message) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if msg.kind == "text":
        body["text"] = msg.text
        if msg.entities:
            body["entities"] = msg.entities
        return body
    if msg.kind == "photo":
        body["photo"] = [_photo_size(msg.file_id or "photo", 90), _photo_size(msg.file_id or "photo", 800)]
    elif msg.kind == "document" and msg.document is not None:
        body["document"] = {
            "file_id": msg.file_id, "file_unique_id": f"u{msg.file_id}", "file_name": msg.document.filename,
            "mime_type": msg.document.content_type, "file_size": len(msg.document.data),
        }
    if msg.text:
        body["caption"] = msg.text
        if msg.caption_entities:
            body["caption_entities"] = msg.caption_entities
    return body


def _photo_size(file_id: str, side: int) -> dict[str, Any]:
    return {"file_id": f"{file_id}", "file_unique_id": f"u{file_id}-{side}", "width": side, "height": side}
