"""Instagram connection health: long-lived token refresh, stopping on a dead token, backing off when throttled.

Graph rules (docs/instagram-graph-api.md §7): a long-lived token lives 60 days and can be refreshed only when it
is at least 24 h old and not yet expired; an expired one cannot be refreshed, the creator must log in again.
Every state change here is one conditional UPDATE, so replicas racing on the same creator stay consistent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clients.instagram import InstagramClient
from core.crypto import TokenCipher
from core.db.engine import transaction
from core.db.models import User
from core.timeutil import as_utc

MIN_AGE = timedelta(hours=24)
REFRESH_WINDOW = timedelta(days=7)
# Instagram long-lived tokens live 60 days. A pasted token's real expiry is unknown (the Graph call that
# validates it does not say), so assume the longest: it is then refreshed in time; a shorter-lived token
# simply fails earlier and the creator is asked once to reconnect.
LONG_LIVED = timedelta(days=60)


def assumed_expiry(now: datetime) -> datetime:
    return now + LONG_LIVED
# Statuses that stop scheduled syncing until the creator reconnects (reconnecting resets ig_status).
STOPPED = frozenset({"expired", "permission", "unreadable"})

# token -> (new token, seconds it lives). The Instagram client's refresh call, injected so core stays testable.
Refresher = Callable[[str], Awaitable[tuple[str, int]]]


@dataclass(frozen=True)
class Refresh:
    outcome: str  # refreshed | not_due | expired | unreadable (no key in SECRET_KEY opens it) | raced
    expires_at: datetime | None = None


def refresh_due(user: User, now: datetime, window: timedelta = REFRESH_WINDOW) -> bool:
    """Graph tokens only: old enough to refresh (24 h), close enough to expiry to bother, not yet expired."""
    if user.ig_source != "graph" or not user.ig_token_encrypted or user.ig_token_expires_at is None:
        return False
    expires = as_utc(user.ig_token_expires_at)
    issued = as_utc(user.ig_token_refreshed_at or user.created_at)
    return now - issued >= MIN_AGE and now < expires <= now + window


def token_expired(user: User, now: datetime) -> bool:
    return user.ig_token_expires_at is not None and as_utc(user.ig_token_expires_at) <= now


async def refresh_if_due(
    sessions: async_sessionmaker[AsyncSession], user: User, cipher: TokenCipher, refresher: Refresher,
    now: datetime, window: timedelta = REFRESH_WINDOW,
) -> Refresh:
    """Refresh the creator's token when due and store it atomically (token, expiry and time in one UPDATE)."""
    if token_expired(user, now):
        return Refresh("expired")
    if not refresh_due(user, now, window):
        return Refresh("not_due")
    old_blob = user.ig_token_encrypted or ""
    token = cipher.decrypt(old_blob)
    if token is None:
        return Refresh("unreadable")
    new_token, expires_in = await refresher(token)
    expires_at = now + timedelta(seconds=int(expires_in))
    async with transaction(sessions) as session:
        # Conditional on the old ciphertext: if another replica refreshed first, keep its token.
        result = await session.execute(
            update(User).where(User.id == user.id, User.ig_token_encrypted == old_blob)
            .values(ig_token_encrypted=cipher.encrypt(new_token), ig_token_expires_at=expires_at,
                    ig_token_refreshed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return Refresh("raced")
    return Refresh("refreshed", expires_at)


async def stop_syncing(
    sessions: async_sessionmaker[AsyncSession], user_id: int, status: str, detail: str, now: datetime
) -> None:
    """A dead token (or missing permission) stops syncing; nothing is deleted, contacts stay browsable."""
    async with transaction(sessions) as session:
        await session.execute(
            update(User).where(User.id == user_id)
            .values(ig_status=status, ig_status_detail=detail[:500], last_sync_error=detail[:500], updated_at=now)
            .execution_options(synchronize_session=False)
        )


async def claim_reconnect_notice(sessions: async_sessionmaker[AsyncSession], user_id: int) -> int | None:
    """Returns the chat to tell "reconnect Instagram" exactly once; None when already told (or no chat)."""
    async with transaction(sessions) as session:
        result = await session.execute(
            update(User).where(User.id == user_id, User.chat_id.is_not(None),
                               or_(User.ig_reconnect_notified.is_(False), User.ig_reconnect_notified.is_(None)))
            .values(ig_reconnect_notified=True).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        user = await session.get(User, user_id)
        return user.chat_id if user else None


async def unclaim_reconnect_notice(sessions: async_sessionmaker[AsyncSession], user_id: int) -> None:
    """The notice could not be delivered: let the next sync try again."""
    async with transaction(sessions) as session:
        await session.execute(update(User).where(User.id == user_id).values(ig_reconnect_notified=False)
                              .execution_options(synchronize_session=False))


def sync_blocked(user: User, now: datetime, allowlist: frozenset[int] = frozenset()) -> str | None:
    """Why the scheduler must not sync this creator now (None: go ahead)."""
    if not user.ig_source:
        return "not_connected"
    if allowlist and user.telegram_id not in allowlist and user.telegram_id != 0:
        return "not_allowed"  # removed from ALLOWED_TELEGRAM_IDS: no syncs, no alerts (data kept)
    if user.bot_blocked_at is not None:
        return "bot_blocked"  # they blocked the bot: nobody to tell, nothing to score for
    if user.ig_status in STOPPED:
        return "stopped"
    if user.ig_backoff_until is not None and as_utc(user.ig_backoff_until) > now:
        return "backed_off"
    return None


def graph_refresher(http: httpx.AsyncClient, base: str, version: str) -> Refresher:
    """The real refresher: Graph's `refresh_access_token` through the Instagram client."""

    async def refresh(token: str) -> tuple[str, int]:
        return await InstagramClient(http, token, base=base, version=version).refresh_token()

    return refresh
