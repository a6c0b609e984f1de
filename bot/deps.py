"""What handlers need besides the update: injected once into the Dispatcher (aiogram workflow data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.crypto import TokenCipher
from core.timeutil import utcnow

if TYPE_CHECKING:
    from bot.progress import Watchers


@dataclass
class Deps:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    queue: Any  # arq ArqRedis (real Redis or in-process fakeredis)
    http: httpx.AsyncClient
    cipher: TokenCipher
    watchers: Watchers
    clock: Callable[[], datetime] = field(default=utcnow)
    drafter: Any = None  # core.clients.drafter.Drafter, made on the first 🤖 Draft press
