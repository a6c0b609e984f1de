"""Profile pictures for the demo leads: a small PNG identicon per lead, the same bytes for the same lead.

Generated, not bundled: 360 leads would otherwise be 360 files. A 5×5 mirrored grid on a light background,
colour and pattern taken from a hash of the lead id (the way GitHub's default avatars look).
"""

from __future__ import annotations

import colorsys
import hashlib
import struct
import zlib
from functools import lru_cache

GRID = 5
CELL = 16
MARGIN = 8
SIZE = GRID * CELL + 2 * MARGIN  # 96 px square
BACKGROUND = (240, 240, 240)


@lru_cache(maxsize=512)
def avatar_png(seed: str) -> bytes:
    """A SIZE×SIZE RGB PNG for `seed` (a lead's IGSID)."""
    digest = hashlib.sha256(seed.encode()).digest()
    hue = digest[0] / 255
    red, green, blue = colorsys.hls_to_rgb(hue, 0.45 + digest[1] / 255 * 0.15, 0.55 + digest[2] / 255 * 0.3)
    ink = (int(red * 255), int(green * 255), int(blue * 255))
    bits = int.from_bytes(digest[3:7], "big")
    half = (GRID + 1) // 2
    on = [[bool(bits >> (y * half + min(x, GRID - 1 - x)) & 1) for x in range(GRID)] for y in range(GRID)]
    rows = bytearray()
    for py in range(SIZE):
        rows.append(0)  # PNG filter type "None" for each scanline
        y = (py - MARGIN) // CELL
        for px in range(SIZE):
            x = (px - MARGIN) // CELL
            inside = 0 <= x < GRID and 0 <= y < GRID and py >= MARGIN and px >= MARGIN
            rows.extend(ink if inside and on[y][x] else BACKGROUND)
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) \
        + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
