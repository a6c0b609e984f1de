"""Saved replies: a creator's reusable answers with {first_name}, {username} and {link}, filled for one lead
before the preview (they become an ordinary draft: nothing is sent without the press on Send)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Contact, Reply, SavedReply, User
from core.rules import one_line
from core.services import reply as replies
from core.timeutil import utcnow

MAX_SAVED = 20
MAX_TEMPLATE_CHARS = 1000
MAX_LINK = 500
VARIABLES = ("first_name", "username", "link")
_VAR = re.compile(r"\{([^{}]*)\}")
_URL = re.compile(r"https?://[^\s<>\"']+", re.I)


class SavedRefused(enum.StrEnum):
    empty = "empty"
    too_long = "too_long"
    unknown_variable = "unknown_variable"
    too_many = "too_many"
    not_found = "not_found"
    no_link = "no_link"  # the reply uses {link} and the creator has not set one
    bad_link = "bad_link"


@dataclass(frozen=True)
class Refusal:
    why: SavedRefused
    detail: str = ""


def check_template(text: str) -> tuple[str, Refusal | None]:
    clean = (text or "").strip()
    if not clean:
        return clean, Refusal(SavedRefused.empty)
    if len(clean) > MAX_TEMPLATE_CHARS:
        return clean, Refusal(SavedRefused.too_long, str(len(clean)))
    unknown = [name for name in _VAR.findall(clean) if name not in VARIABLES]
    if unknown:
        return clean, Refusal(SavedRefused.unknown_variable, one_line(unknown[0], 30))
    return clean, None


async def list_saved(session: AsyncSession, user_id: int) -> list[SavedReply]:
    stmt = select(SavedReply).where(SavedReply.user_id == user_id).order_by(SavedReply.id)
    return list((await session.execute(stmt)).scalars())


async def add(session: AsyncSession, user_id: int, text: str) -> SavedReply | Refusal:
    clean, refused = check_template(text)
    if refused is not None:
        return refused
    count = (await session.execute(select(func.count(SavedReply.id)).where(SavedReply.user_id == user_id))).scalar_one()
    if count >= MAX_SAVED:
        return Refusal(SavedRefused.too_many, str(MAX_SAVED))
    saved = SavedReply(user_id=user_id, text=clean)
    session.add(saved)
    await session.commit()
    return saved


async def edit(session: AsyncSession, user_id: int, saved_id: int, text: str) -> SavedReply | Refusal:
    clean, refused = check_template(text)
    if refused is not None:
        return refused
    stmt = update(SavedReply).where(SavedReply.id == saved_id, SavedReply.user_id == user_id) \
        .values(text=clean, updated_at=utcnow()).execution_options(synchronize_session=False)
    result = await session.execute(stmt)
    await session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return Refusal(SavedRefused.not_found)
    saved = await get(session, user_id, saved_id)
    return saved if saved is not None else Refusal(SavedRefused.not_found)


async def get(session: AsyncSession, user_id: int, saved_id: int) -> SavedReply | None:
    stmt = select(SavedReply).where(SavedReply.id == saved_id, SavedReply.user_id == user_id) \
        .execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def remove(session: AsyncSession, user_id: int, saved_id: int) -> bool:
    result = await session.execute(delete(SavedReply).where(SavedReply.id == saved_id, SavedReply.user_id == user_id))
    await session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def first_name(contact: Contact) -> str:
    """The lead's first name as a greeting would use it; their @username or "there" when Instagram has none."""
    name = one_line(contact.name or "", 60).split(" ")[0] if contact.name else ""
    return name or contact.username or "there"


def fill(template: str, contact: Contact, link: str | None) -> str | Refusal:
    """Each known variable replaced in one pass (a value containing "{link}" is not expanded again)."""
    values = {"first_name": first_name(contact), "username": contact.username or first_name(contact),
              "link": link or ""}
    if "{link}" in template and not link:
        return Refusal(SavedRefused.no_link)
    return _VAR.sub(lambda m: values.get(m.group(1), m.group(0)), template)


async def use(session: AsyncSession, user: User, contact: Contact, saved_id: int) -> Reply | Refusal:
    """A saved reply filled for this lead, as a new draft (shown with [Send] [Edit] [Cancel])."""
    saved = await get(session, user.id, saved_id)
    if saved is None:
        return Refusal(SavedRefused.not_found)
    text = fill(saved.text, contact, user.reply_link)
    if isinstance(text, Refusal):
        return text
    draft = await replies.create_draft(session, user, contact, text, source="saved")
    return Refusal(SavedRefused.empty) if isinstance(draft, replies.Refused) else draft


def check_link(text: str) -> str | None | Refusal:
    """The creator's link setting: an http(s) URL with a host, or "-" to remove it (-> None)."""
    clean = (text or "").strip()
    if clean in ("-", "—", "none", "remove"):
        return None
    match = _URL.fullmatch(clean)
    host = clean.split("://", 1)[1].split("/", 1)[0] if match else ""
    if not match or len(clean) > MAX_LINK or "." not in host:
        return Refusal(SavedRefused.bad_link)
    return clean


async def set_link(session: AsyncSession, user: User, text: str) -> str | None | Refusal:
    link = check_link(text)
    if isinstance(link, Refusal):
        return link
    user.reply_link = link
    await session.commit()
    return link


async def allowed_links(session: AsyncSession, user: User) -> set[str]:
    """Links an AI draft may carry: the creator's link and those in their saved replies (nothing a lead wrote)."""
    found = {user.reply_link} if user.reply_link else set()
    for saved in await list_saved(session, user.id):
        found.update(_URL.findall(saved.text))
    return {link.rstrip(".,;:!?)") for link in found}
