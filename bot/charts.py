"""/stats as a picture: this week against last week, per stage and per sentiment (one PNG, drawn with Pillow).

The text of /stats has every number; the chart is for the trend at a glance. Bars are labelled by number and,
when the built-in font can draw it, by name: a stage name in another script or with emoji would come out as
boxes, so the caption (rendering.stats_chart_caption) names every numbered bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from PIL import Image, ImageDraw, ImageFont

from core.rules import clip
from core.services.stats import Row, Stats

WIDTH, PANEL, TOP = 960, 300, 56
THIS_WEEK, LAST_WEEK, INK, GRID = (37, 99, 235), (165, 196, 252), (31, 41, 55), (229, 231, 235)
LATIN_MAX = 0x24F  # the built-in font covers Basic Latin to Latin Extended-B


def drawable(label: str) -> bool:
    return all(ord(ch) <= LATIN_MAX for ch in label)


def stats_chart(st: Stats) -> bytes:
    """The PNG: a legend, then one panel of grouped bars (this week, last week) per breakdown."""
    image = Image.new("RGB", (WIDTH, TOP + 2 * PANEL), "white")
    draw = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=18), ImageFont.load_default(size=14)
    draw.rectangle((24, 18, 40, 34), fill=THIS_WEEK)
    draw.text((48, 16), "last 7 days", fill=INK, font=font)
    draw.rectangle((200, 18, 216, 34), fill=LAST_WEEK)
    draw.text((224, 16), "the 7 days before", fill=INK, font=font)
    panels = (("1. Entered each stage", st.stages), ("2. Wrote, by sentiment", st.sentiments))
    for n, (title, rows) in enumerate(panels):
        _panel(draw, rows, TOP + n * PANEL, title, font, small)
    out = BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _panel(draw: ImageDraw.ImageDraw, rows: Sequence[Row], top: int, title: str, font: Font, small: Font) -> None:
    draw.text((24, top + 4), title, fill=INK, font=font)
    base, height = top + PANEL - 56, PANEL - 100  # the bars' baseline and their tallest height
    draw.line((24, base, WIDTH - 24, base), fill=GRID, width=2)
    peak = max((max(r.this_week, r.last_week) for r in rows), default=0) or 1
    slot = (WIDTH - 48) / max(1, len(rows))
    bar = min(36.0, slot / 3)
    for i, row in enumerate(rows, 1):
        left = 24 + (i - 1) * slot + (slot - 2 * bar) / 2
        for j, (value, colour) in enumerate(((row.this_week, THIS_WEEK), (row.last_week, LAST_WEEK))):
            x0 = left + j * bar
            y0 = base - round(height * value / peak)
            draw.rectangle((x0, y0, x0 + bar - 2, base), fill=colour)
            draw.text((x0 + bar / 2, y0 - 4), str(value), fill=INK, font=small, anchor="md")
        label = f"{i} {clip(row.label, 14)}" if drawable(row.label) else str(i)
        draw.text((24 + (i - 0.5) * slot, base + 8), label, fill=INK, font=small, anchor="ma")
