"""Plain-terminal rendering of bot messages: the text, then buttons numbered 1..n (for `leadgram console`)."""

from __future__ import annotations

from standins.telegram.state import Message


def numbered_buttons(msg: Message) -> list[tuple[int, str, str | None]]:
    """(number, text, callback_data | url) for every inline button, row by row."""
    flat = [button for row in msg.buttons for button in row]
    return [(i, text, data) for i, (text, data) in enumerate(flat, start=1)]


def render_message(msg: Message, width: int = 72) -> str:
    """What the user sees: media marker, the plain text (entities dropped), numbered button rows."""
    lines: list[str] = []
    if msg.kind == "photo" and msg.preview is not None:
        lines.append(f"[photo {msg.preview.describe()}]")
    elif msg.kind == "photo":
        lines.append(f"[photo {msg.photo if isinstance(msg.photo, str) else 'upload'}]")
    elif msg.preview is not None:  # a link preview Telegram could build: shown with the text
        lines.append(f"[preview {msg.preview.describe()}]")
    elif msg.document is not None:
        lines.append(f"[document {msg.document.filename}, {len(msg.document.data)} bytes]")
    elif msg.kind not in ("text", "photo", "document"):
        lines.append(f"[{msg.kind}]")
    if msg.text:
        lines.append(msg.text)
    if msg.edited:
        lines.append("(edited)")
    lines.extend(_button_rows(msg, width))
    if msg.force_reply:
        lines.append("↩ reply expected")
    return "\n".join(lines)


def _button_rows(msg: Message, width: int) -> list[str]:
    rows: list[str] = []
    number = 1
    for row in msg.buttons:
        cells = []
        for text, _ in row:
            cells.append(f"[{number}] {text}")
            number += 1
        rows.append("  ".join(cells)[: max(width, 20)])
    return rows


def button_for(msg: Message, number: int) -> tuple[str, str | None] | None:
    """The button the user picked by its printed number, or None."""
    for i, text, data in numbered_buttons(msg):
        if i == number:
            return text, data
    return None


_CHANGE_MARK = {"sent": "", "edited": "✏️ (message {id} edited)\n", "deleted": "🗑 (message {id} deleted)"}


def render_change(kind: str, msg: Message, width: int = 72) -> str:
    """One entry of SimUser.changes() for a terminal: new messages as is, edits marked, deletions noted."""
    mark = _CHANGE_MARK.get(kind, "").format(id=msg.message_id)
    if kind == "deleted":
        return mark
    return mark + render_message(msg, width)
