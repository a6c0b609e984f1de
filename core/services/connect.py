"""Connecting a creator's Instagram: the demo account or a real token (validated by the caller with ONE
`InstagramClient.account()` call). A new connection resets what the old one learned, so the next sync is full."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clients.instagram import IgAccount
from core.crypto import TokenCipher
from core.db.models import User
from core.timeutil import utcnow


def _fresh(now: datetime) -> dict[str, Any]:
    return {"ig_status": "ok", "ig_status_detail": None, "ig_backoff_until": None, "ig_reconnect_notified": False,
            "last_sync_at": None, "last_sync_error": None, "updated_at": now}


async def connect_demo(session: AsyncSession, user_id: int, *, now: datetime | None = None) -> None:
    """The bundled demo account; its account id is learned by the first sync (one /me call)."""
    values = _fresh(now or utcnow()) | {"ig_source": "demo", "ig_token_encrypted": None, "ig_account_id": None,
                                        "ig_username": None, "ig_token_expires_at": None}
    await session.execute(update(User).where(User.id == user_id).values(**values))


async def _drop_demo_leads(session: AsyncSession, user_id: int) -> int:
    """A real account replaces the demo: the demo's made-up leads must not mix into the real list or export."""
    from core.services.account import clear_leads

    source = (await session.execute(select(User.ig_source).where(User.id == user_id))).scalar_one_or_none()
    return await clear_leads(session, user_id) if source == "demo" else 0


async def connect_token(
    session: AsyncSession, user_id: int, account: IgAccount, token: str, cipher: TokenCipher, *,
    expires_at: datetime | None = None, now: datetime | None = None,
) -> int:
    """A real token the caller validated with `InstagramClient.account()`; stored encrypted. Returns how many
    demo leads were removed (connecting over the demo)."""
    removed = await _drop_demo_leads(session, user_id)
    stamp = now or utcnow()
    values = _fresh(stamp) | {
        "ig_source": "graph", "ig_token_encrypted": cipher.encrypt(token), "ig_account_id": account.user_id,
        "ig_username": account.username, "ig_token_expires_at": expires_at, "ig_token_refreshed_at": stamp,
    }
    await session.execute(update(User).where(User.id == user_id).values(**values))
    return removed


async def connect_env(session: AsyncSession, user_id: int, *, now: datetime | None = None) -> None:
    """The CLI creator reading IG_ACCESS_TOKEN: the token stays in the environment, never in the database."""
    await _drop_demo_leads(session, user_id)
    values = _fresh(now or utcnow()) | {"ig_source": "graph", "ig_token_encrypted": None, "ig_account_id": None,
                                        "ig_username": None, "ig_token_expires_at": None}
    await session.execute(update(User).where(User.id == user_id).values(**values))
