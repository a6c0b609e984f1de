"""CSV export of a creator's contacts: every column, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Contact
from core.timeutil import as_utc

COLUMNS = [c.name for c in Contact.__table__.columns]
# A cell starting with one of these is a formula in Excel/Sheets: strangers' text must stay text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_START) else text


async def contacts_csv(session: AsyncSession, user_id: int) -> tuple[bytes, int]:
    """(UTF-8 CSV with BOM so spreadsheets read emoji and RTL text, number of contacts)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    stmt = select(Contact).where(Contact.user_id == user_id).order_by(Contact.id)
    for contact in (await session.execute(stmt)).scalars():
        writer.writerow([cell(getattr(contact, name)) for name in COLUMNS])
        count += 1
    return ("\ufeff" + out.getvalue()).encode("utf-8"), count
