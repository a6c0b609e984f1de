"""Instagram long-lived token refresh against the Graph stand-in, with an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.crypto import TokenCipher
from core.db import repo
from core.db.engine import transaction
from core.db.models import User
from core.services import tokens
from standins.ig_data import synthetic
from standins.instagram import InstagramStandin

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CIPHER = TokenCipher("test-secret")


@pytest.fixture
async def graph() -> AsyncIterator[InstagramStandin]:
    async with InstagramStandin(synthetic(2, 2)) as ig:
        yield ig


async def _creator(sessions: async_sessionmaker[AsyncSession], token: str, expires_in: timedelta,
                   issued_ago: timedelta) -> User:
    async with transaction(sessions) as s:
        user = await repo.ensure_user(s, telegram_id=77, chat_id=77)
        user.ig_source, user.ig_token_encrypted = "graph", CIPHER.encrypt(token)
        user.ig_token_expires_at, user.ig_token_refreshed_at = NOW + expires_in, NOW - issued_ago
        return user


async def _load(sessions: async_sessionmaker[AsyncSession], user_id: int) -> User:
    async with sessions() as s:
        user = await s.get(User, user_id)
        assert user is not None
        return user


async def test_token_near_expiry_is_refreshed_and_stored(
    sessions: async_sessionmaker[AsyncSession], graph: InstagramStandin
) -> None:
    user = await _creator(sessions, graph.token, expires_in=timedelta(days=3), issued_ago=timedelta(days=57))
    async with httpx.AsyncClient() as http:
        refresher = tokens.graph_refresher(http, graph.base_url, "v21.0")
        result = await tokens.refresh_if_due(sessions, user, CIPHER, refresher, NOW)
        assert result.outcome == "refreshed" and graph.calls["refresh"] == 1
        stored = await _load(sessions, user.id)
        new_token = CIPHER.decrypt(stored.ig_token_encrypted or "")
        assert new_token != graph.token and new_token in graph.tokens
        assert stored.ig_token_expires_at == NOW + timedelta(days=60) and stored.ig_token_refreshed_at == NOW
        # A replica that loaded the row before the refresh loses the race and keeps the winner's token.
        again = await tokens.refresh_if_due(sessions, user, CIPHER, refresher, NOW)
    assert again.outcome == "raced"
    assert CIPHER.decrypt((await _load(sessions, user.id)).ig_token_encrypted or "") == new_token

async def refresher_that_fails(token: str) -> tuple[str, int]:
    raise AssertionError("must not be called")


@pytest.mark.parametrize(("expires_in", "issued_ago", "outcome"), [
    (timedelta(days=30), timedelta(days=30), "not_due"),  # far from expiry
    (timedelta(days=3), timedelta(hours=2), "not_due"),  # too young: Graph refuses tokens under 24 h
    (timedelta(seconds=-1), timedelta(days=61), "expired"),  # too late: the creator must reconnect
])
async def test_refresh_only_when_graph_allows(
    sessions: async_sessionmaker[AsyncSession], graph: InstagramStandin,
    expires_in: timedelta, issued_ago: timedelta, outcome: str,
) -> None:
    user = await _creator(sessions, graph.token, expires_in=expires_in, issued_ago=issued_ago)
    result = await tokens.refresh_if_due(sessions, user, CIPHER, refresher_that_fails, NOW)
    assert result.outcome == outcome and graph.calls["refresh"] == 0
