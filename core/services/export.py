"""CSV export of a creator's contacts, safe to open in a spreadsheet, newest activity first.

The default file has the columns a creator reads (name, username, tags as a plain "a, b" cell, score, sentiment,
stage, reason, next move, last message and when, the creator's notes); `full=True` gives every stored column
as stored (ids, sources, JSON tags, UTC times) plus the derived `hot`, for a backup or a migration."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Contact, User
from core.rules import is_hot, shown_sentiment, stage_names, strip_bidi
from core.services.notes import for_export
from core.timeutil import as_utc, timezone_or_utc

# Every stored column, then `hot` (derived by rules.is_hot, as in the bot) and the creator's `notes` (table notes:
# one per line, oldest first, each after its time). `sentiment` is the one the bot shows.
COLUMNS = [c.name for c in Contact.__table__.columns] + ["hot", "notes"]
# (header, value name) of the creator's export.
CREATOR_COLUMNS = [("name", "name"), ("username", "username"), ("tags", "tags"), ("score", "lead_score"),
                   ("sentiment", "sentiment"), ("stage", "stage"), ("reason", "score_reason"),
                   ("next move", "next_action"), ("last message", "last_message"),
                   ("last message at", "last_message_at"), ("notes", "notes")]
# A cell starting with one of these is a formula in Excel/Sheets: strangers' text must stay text. Spreadsheets
# also skip leading blanks and read fullwidth "＝" as "=", so the check looks past both (NFKC, whitespace, Cf).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
UPLOAD_LIMIT = 49 * 1000 * 1000  # Telegram takes documents up to 50 MB from bots; a margin for the form fields


def _formula_like(text: str) -> bool:
    if text.startswith(FORMULA_START):
        return True
    lead = unicodedata.normalize("NFKC", text)
    start = next((i for i, ch in enumerate(lead) if not (ch.isspace() or unicodedata.category(ch) == "Cf")),
                 len(lead))
    return lead[start:].startswith(FORMULA_START)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return str(value)
    text = strip_bidi(value)  # a U+202E in a name must not reorder the rest of the row in a text editor
    return "'" + text if _formula_like(text) else text


def creator_cell(value: Any, zone: ZoneInfo) -> str:
    """Plain values: tags "a, b", times "2026-11-30 14:05" in the creator's timezone."""
    if isinstance(value, list):
        return cell(", ".join(str(tag) for tag in value))
    if isinstance(value, datetime):
        return as_utc(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return cell(value)


def creator_columns() -> list[tuple[str, str]]:
    return list(CREATOR_COLUMNS)


def _values(contact: Contact, threshold: int) -> dict[str, Any]:
    values = {name: getattr(contact, name) for name in COLUMNS if name not in ("hot", "notes")}
    values["sentiment"] = shown_sentiment(contact.sentiment, contact.lead_score, threshold, contact.stage,
                                          contact.shelf)
    values["hot"] = is_hot(contact.lead_score, threshold, contact.stage, contact.shelf)
    return values


async def contacts_csv(session: AsyncSession, user: User, *, full: bool = False) -> tuple[bytes, int]:
    """(UTF-8 CSV with BOM so spreadsheets read emoji and RTL text, number of contacts)."""
    out = io.StringIO()
    writer = csv.writer(out)
    zone = timezone_or_utc(user.timezone)
    names = stage_names(user.stage_names)
    columns = [(name, name) for name in COLUMNS] if full else creator_columns()
    header = [name for name, _ in columns]
    if not full:
        header[header.index("last message at")] = f"last message at ({zone.key})"
    writer.writerow(header)
    count = 0
    notes = await for_export(session, user.id)
    stmt = (select(Contact).where(Contact.user_id == user.id)
            .order_by(Contact.last_message_at.desc().nulls_last(), Contact.id.desc()))
    for contact in (await session.execute(stmt)).scalars():
        values = _values(contact, user.alert_threshold)
        values["notes"] = "\n".join(f"{_when(n.created_at, full, zone)} {n.text}" for n in notes.get(contact.id, []))
        if not full:
            values["stage"] = names[values["stage"]] if values["stage"] in names else values["stage"]
        row = [values[key] for _, key in columns]
        writer.writerow([cell(v) for v in row] if full else [creator_cell(v, zone) for v in row])
        count += 1
    return ("\ufeff" + out.getvalue()).encode("utf-8"), count


def _when(at: datetime, full: bool, zone: ZoneInfo) -> str:
    return as_utc(at).isoformat() if full else as_utc(at).astimezone(zone).strftime("%Y-%m-%d %H:%M")



@dataclass(frozen=True)
class ExportFile:
    filename: str
    data: bytes


def export_files(data: bytes, stem: str, limit: int = UPLOAD_LIMIT) -> list[ExportFile]:
    """What to send for a CSV of `data`: the CSV itself when Telegram takes it, else one zip of it, else the
    CSV cut between rows into parts that each fit (each with the header), so nothing is ever dropped."""
    if len(data) <= limit:
        return [ExportFile(f"{stem}.csv", data)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}.csv", data)
    if buffer.tell() <= limit:
        return [ExportFile(f"{stem}.zip", buffer.getvalue())]
    parts = _split(data, limit)
    return [ExportFile(f"{stem}-part{i}of{len(parts)}.csv", part) for i, part in enumerate(parts, 1)]


def _split(data: bytes, limit: int) -> list[bytes]:
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(rows)
    parts: list[bytes] = []

    def start() -> tuple[io.StringIO, int]:
        out = io.StringIO()
        csv.writer(out).writerow(header)
        return out, len(("\ufeff" + out.getvalue()).encode("utf-8"))

    current, size = start()
    empty = size
    for row in rows:
        line = io.StringIO()
        csv.writer(line).writerow(row)
        encoded = len(line.getvalue().encode("utf-8"))
        if size + encoded > limit and size > empty:
            parts.append(("\ufeff" + current.getvalue()).encode("utf-8"))
            current, size = start()
        current.write(line.getvalue())
        size += encoded
    parts.append(("\ufeff" + current.getvalue()).encode("utf-8"))
    return parts
