"""The 10-row contacts table for a terminal: the same columns the bot shows (core.services.listing.Row)."""

from __future__ import annotations

import unicodedata

from core.db.repo import Page
from core.services.listing import Row

# (header, display width) per column; the snippet is already clipped to listing.SNIPPET characters.
COLUMNS = (("", 2), ("Name", 24), ("Score", 5), ("Tags", 18), ("Last message", 52), ("When", 8))


def terminal_safe(text: str) -> str:
    """Drop control and format characters: a lead's name must not move the cursor or recolour the terminal."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf") or ch == "\u200d")


def width(text: str) -> int:
    total = 0
    for ch in text:
        if unicodedata.combining(ch) or ch in "\u200d\ufe0f":
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def fit(text: str, cells: int) -> str:
    """Clip to `cells` display cells (with an ellipsis) and pad to exactly that width."""
    text = terminal_safe(text)
    if width(text) > cells:
        out = ""
        for ch in text:
            if width(out + ch) > cells - 1:
                break
            out += ch
        text = out + "…"
    return text + " " * max(0, cells - width(text))


def render(rows: list[Row], page: Page, title: str) -> str:
    lines = [f"{title} · {page.total} contacts · page {page.page}/{page.pages}", ""]
    lines.append("  ".join(fit(h, w) for h, w in COLUMNS).rstrip())
    lines.append("  ".join("─" * w for _, w in COLUMNS))
    for row in rows:
        name = ("• " if row.is_new else "") + row.name
        cells = (row.emoji, name, row.score, row.tags, row.snippet, row.when)
        lines.append("  ".join(fit(c, w) for c, (_, w) in zip(cells, COLUMNS, strict=True)).rstrip())
    if not rows:
        lines.append("(no contacts yet: run `leadgram sync`, or `leadgram demo` for the demo account)")
    if page.page < page.pages:
        lines += ["", f"next: leadgram contacts --page {page.page + 1}"]
    return "\n".join(lines)
