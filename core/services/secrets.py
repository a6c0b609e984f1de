"""`leadgram secrets rotate`: re-encrypt every stored Instagram token with the newest SECRET_KEY."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.crypto import TokenCipher
from core.db.engine import transaction
from core.db.models import User


@dataclass(frozen=True)
class Rotated:
    rotated: int
    unreadable: list[int] = field(default_factory=list)  # Telegram ids whose token no key in SECRET_KEY opens


async def rotate_tokens(sessions: async_sessionmaker[AsyncSession], cipher: TokenCipher) -> Rotated:
    """Each token is rewritten only if it is still the one read (a concurrent refresh keeps its own, which the
    running processes already encrypt with the newest key). Unreadable tokens are left as they are."""
    rotated, unreadable = 0, []
    async with transaction(sessions) as session:
        rows = (await session.execute(
            select(User.id, User.telegram_id, User.ig_token_encrypted)
            .where(User.ig_token_encrypted.is_not(None)).order_by(User.id)
        )).all()
        for user_id, telegram_id, blob in rows:
            new = cipher.rotate(blob) if blob else None
            if new is None:
                unreadable.append(telegram_id)
                continue
            result = await session.execute(
                update(User).where(User.id == user_id, User.ig_token_encrypted == blob)
                .values(ig_token_encrypted=new).execution_options(synchronize_session=False))
            rotated += result.rowcount  # type: ignore[attr-defined]
    return Rotated(rotated, unreadable)
