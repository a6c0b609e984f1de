"""What the stand-in remembers: chats with their message history, pending updates, callback queries."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from standins.telegram.spec import Upload

# Button as the user sees it: (text, callback_data or url or None)
Button = tuple[str, str | None]


@dataclass(frozen=True)
class Preview:
    """Media Telegram fetched from a URL the bot gave it (a link preview, a photo by URL), re-served by the
    stand-in at `local_url` the way Telegram serves what it cached."""

    url: str
    content_type: str
    data: bytes
    local_url: str

    def describe(self) -> str:
        size = f"{len(self.data)} bytes"
        if self.data[:8] == b"\x89PNG\r\n\x1a\n" and len(self.data) >= 24:
            size = f"{int.from_bytes(self.data[16:20], 'big')}×{int.from_bytes(self.data[20:24], 'big')}"
        return f"{self.content_type} {size} · {self.local_url}"


@dataclass
class Message:
    """One message in a chat, as it is now (edits overwrite, deletes flag)."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str = ""  # what the user reads: the text, or the caption of a media message (plain, entities applied)
    entities: list[dict[str, Any]] = field(default_factory=list)
    html: str = ""  # the source as the bot sent it (HTML when parse_mode=HTML)
    parse_mode: str | None = None
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    link_preview: dict[str, Any] | None = None  # link_preview_options as sent (a card's avatar rides here)
    photo: str | Upload | None = None
    document: Upload | None = None
    file_id: str | None = None
    kind: str = "text"  # text, photo, document, or the send method for other media
    reply_to: int | None = None
    deleted: bool = False
    edited: int = 0  # how many times it was edited
    edit_date: int | None = None
    preview: Preview | None = None  # what Telegram fetched for link_preview_options.url or a photo URL

    @property
    def buttons(self) -> list[list[Button]]:
        """Inline keyboard rows as (text, callback_data | url)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b["text"], b.get("callback_data", b.get("url"))) for b in row] for row in rows]

    @property
    def force_reply(self) -> bool:
        return bool((self.reply_markup or {}).get("force_reply"))

    def button_list(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]


@dataclass
class ChatState:
    chat_id: int
    user: dict[str, Any]
    started: bool = False
    blocked: bool = False
    messages: dict[int, Message] = field(default_factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        message_id = self.next_id
        self.next_id += 1
        return message_id


@dataclass
class Callback:
    id: str
    user_id: int
    message_id: int
    data: str
    answered: bool = False
    answer: dict[str, Any] | None = None


@dataclass
class CallRecord:
    method: str
    params: dict[str, Any]
    ok: bool
    error: str | None = None
    code: int = 200
    at: float = 0.0  # the stand-in clock when it was answered (for "at most one edit per 2 s" checks)


class Pulse:
    """A broadcast 'something changed' signal: waiters wake on the next notify()."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that races with the event.
        try:
            async with asyncio.timeout(max(seconds, 0)):
                await self._event.wait()
        except TimeoutError:
            pass


DEFAULT_UPDATES = ("message", "edited_message", "callback_query", "channel_post", "my_chat_member")
NOT_BY_DEFAULT = ("chat_member", "message_reaction", "message_reaction_count")


@dataclass
class UpdateQueue:
    """Pending updates in order; getUpdates confirms by offset, the webhook loop pops on 2xx."""

    items: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1
    allowed: list[str] | None = None

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        if not self.is_allowed(kind):
            return None
        update = {"update_id": self.next_id, kind: payload}
        self.next_id += 1
        self.items.append(update)
        return update

    def is_allowed(self, kind: str) -> bool:
        if not self.allowed:
            return kind not in NOT_BY_DEFAULT
        return kind in self.allowed

    def confirm(self, offset: int) -> None:
        if offset < 0:
            self.items = self.items[offset:]
        elif offset:
            self.items = [u for u in self.items if u["update_id"] >= offset]
