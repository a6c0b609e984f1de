"""/start: niche, then goal (plain replies), then connect Instagram (a token, or the demo account).

The steps are `users.onboarding_step`: niche -> goal -> connect -> done. Connecting (either way) finishes
onboarding; what the bot says at each step is the bot's business, which step comes next is decided here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from core.clients.graph_errors import in_words
from core.clients.instagram import GraphError, IgAccount, TokenInvalid
from core.clients.source import graph_client
from core.config import Settings
from core.crypto import TokenCipher
from core.db import repo
from core.db.models import User
from core.rules import clean_goal, clean_niche
from core.services import account, connect
from core.services.tokens import assumed_expiry


class Step(enum.StrEnum):
    niche = "niche"
    goal = "goal"
    connect = "connect"
    done = "done"


async def creator(session: AsyncSession, telegram_id: int, chat_id: int | None) -> User:
    """The creator behind an update, created on first contact (race-safe upsert) with their chat remembered
    (alerts go there). Commits only when it wrote: a short write, never SQLite's write lock across a handler."""
    user = await repo.get_user(session, telegram_id)
    if user is None or (chat_id is not None and user.chat_id != chat_id):
        user = await repo.ensure_user(session, telegram_id, chat_id)
        await session.commit()
    if user.bot_blocked_at is not None:  # any update from them: they are back, sync and score again
        await account.chat_blocked(session, telegram_id, blocked=False)
        await session.commit()
        user.bot_blocked_at = None
    return user


def step_of(user: User) -> Step:
    try:
        return Step(user.onboarding_step or Step.niche)
    except ValueError:
        return Step.niche


class OnboardingRefused(enum.Enum):
    EMPTY = "empty"  # the answer had nothing in it once trimmed
    NOT_THIS_STEP = "not_this_step"


@dataclass(frozen=True)
class Answered:
    step: Step  # the step the creator is at now
    value: str  # what was saved, as saved


async def answer(session: AsyncSession, user: User, text: str) -> Answered | OnboardingRefused:
    """The creator's reply at the niche or goal step: saved (one line, capped), and the next step set."""
    step = step_of(user)
    if step is Step.niche:
        value, following = clean_niche(text), Step.goal
    elif step is Step.goal:
        value, following = clean_goal(text), Step.connect
    else:
        return OnboardingRefused.NOT_THIS_STEP
    if not value:
        return OnboardingRefused.EMPTY
    if step is Step.niche:
        user.niche = value
    else:
        user.goal = value
    user.onboarding_step = following
    await session.commit()  # saved before the reply, so the next message sees the new step
    return Answered(following, value)


async def use_demo(session: AsyncSession, user: User) -> None:
    """Connect the bundled demo account; onboarding is done (the caller starts its first sync)."""
    await connect.connect_demo(session, user.id)
    user.onboarding_step = Step.done
    await session.commit()


class ConnectRefused(enum.Enum):
    NO_TOKEN = "no_token"
    REJECTED = "rejected"  # Instagram says the token is invalid or expired


@dataclass(frozen=True)
class Unchecked:
    """Instagram could not check the token now (nothing saved, try again later); `why` in words."""

    why: str


@dataclass(frozen=True)
class Connected:
    account: IgAccount

    @property
    def name(self) -> str:
        return f"@{self.account.username}" if self.account.username else self.account.user_id


async def connect_token(
    session: AsyncSession, user: User, token: str, *, http: httpx.AsyncClient, settings: Settings,
    cipher: TokenCipher, now: datetime,
) -> Connected | ConnectRefused | Unchecked:
    """Check the token with one Graph call, store it encrypted, finish onboarding. Nothing is saved on failure."""
    token = (token or "").strip()
    if not token:
        return ConnectRefused.NO_TOKEN
    try:
        account = await graph_client(http, token, settings).account()
    except TokenInvalid:
        return ConnectRefused.REJECTED
    except GraphError as exc:
        return Unchecked(in_words(exc))
    await connect.connect_token(session, user.id, account, token, cipher, expires_at=assumed_expiry(now))
    user.onboarding_step = Step.done
    await session.commit()
    return Connected(account)
