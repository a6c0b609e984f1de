"""Which Instagram a creator reads: the bundled demo account or the real Graph API with their token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clients.demo import demo_client
from core.clients.instagram import InstagramClient
from core.config import Settings
from core.crypto import TokenCipher
from core.db.models import CLI_CREATOR_ID, User


class NotConnected(Exception):
    """The creator has no usable Instagram connection; the message says what to do."""


UNREADABLE = ("the stored Instagram token cannot be opened with any key in SECRET_KEY (the key changed): "
              "add the old key to SECRET_KEY, or reconnect with /connect")


class TokenUnreadable(NotConnected):
    """A token is stored, but no key in SECRET_KEY decrypts it: not an Instagram problem, a key problem."""


def uses_env_token(user: User, settings: Settings) -> bool:
    """The CLI creator (single-creator self-hosting) reads the account of IG_ACCESS_TOKEN."""
    return user.telegram_id == CLI_CREATOR_ID and settings.ig_access_token is not None


def graph_client(http: httpx.AsyncClient, token: str, settings: Settings, user_id: str = "me") -> InstagramClient:
    return InstagramClient(http, token, base=settings.ig_api_base, version=settings.ig_api_version,
                           user_id=user_id)


@asynccontextmanager
async def instagram_source(
    user: User, settings: Settings, cipher: TokenCipher, http: httpx.AsyncClient, *,
    sessions: async_sessionmaker[AsyncSession] | None = None, now: datetime | None = None,
) -> AsyncIterator[InstagramClient]:
    """Yields the client for this creator, or raises NotConnected.

    Pass `sessions` whenever the result is synced: the demo account then keeps the creator's stable timeline
    (core.clients.demo.demo_anchor; `now` anchors a first demo sync) instead of one that moves with every sync."""
    if uses_env_token(user, settings):
        assert settings.ig_access_token is not None
        yield graph_client(http, settings.ig_access_token.get_secret_value(), settings, settings.ig_user_id)
    elif user.ig_source == "demo":
        async with demo_client(user.niche, now=now, sessions=sessions, user_id=user.id) as client:
            yield client
    elif user.ig_source == "graph" and user.ig_token_encrypted:
        token = cipher.decrypt(user.ig_token_encrypted)
        if token is None:
            raise TokenUnreadable(UNREADABLE)
        yield graph_client(http, token, settings)
    else:
        raise NotConnected("no Instagram account connected")
