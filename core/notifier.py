"""What workers may push to a creator, without knowing Telegram: the Notifier interface.

Implemented in bot/ (bot/notifier.py: TelegramNotifier) and handed to the workers at startup by the process
wiring (leadgram/wiring.py). A new kind of push (a reminder, a reply's outcome) is a new method here.
Every method sends one message to `chat_id` and returns its message id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from core.services.alerts import AlertItem
from core.services.reminders import ReminderItem

if TYPE_CHECKING:  # core.services.reply_window pushes through this interface
    from core.services.reply_window import WindowItem


class Undeliverable(Exception):
    """The chat cannot be written to (the creator blocked the bot, the chat is gone): retrying cannot help.
    `blocked`: the creator blocked the bot (their account then stops syncing and scoring until they return)."""

    def __init__(self, message: str, blocked: bool = False) -> None:
        super().__init__(message)
        self.blocked = blocked


class Notifier(Protocol):
    async def hot_leads(self, chat_id: int, items: Sequence[AlertItem]) -> int:
        """One hot lead in full, or several as one digest."""
        ...

    async def reconnect_instagram(self, chat_id: int, reason: str = "expired") -> int:
        """Syncing stopped, nothing was deleted, how to reconnect. `reason`: "expired" (access expired or was
        revoked) or "unreadable" (the stored token cannot be decrypted: SECRET_KEY changed)."""
        ...

    async def window_closing(self, chat_id: int, item: WindowItem) -> int:
        """A hot or unsure lead's unanswered message: Instagram's reply window closes in `item.left`; the
        card's buttons (reply, draft, open) come with it."""
        ...

    async def reply_settled(self, user_id: int, reply_id: int) -> None:
        """A reply sent (or failed) in the background: show the outcome where its draft is."""
        ...

    async def reminder(self, chat_id: int, item: ReminderItem) -> int:
        """⏰ A due reminder: the lead's card with its buttons, plus snooze and done (0: the lead was deleted
        meanwhile, nothing sent)."""
        ...

    async def aclose(self) -> None:
        """Release what the notifier opened (an HTTP session)."""
        ...
