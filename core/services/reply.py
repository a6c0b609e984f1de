"""Replying to a lead from Telegram: the reply window, drafts, and exactly-once sends with the Graph Send API.

Nothing is sent without the creator's press on Send: a draft (typed, saved or AI-written) only becomes a
message through `send()`, called for that press (or by the retry job a throttled press scheduled).

Exactly once: `send()` claims the reply row (draft -> sending) with one conditional UPDATE before the Graph
call, so a double press, a second bot replica or a retried job finds it taken. A send whose outcome is unknown
(the request left, no answer came) is never repeated blindly: the conversation is read first and the message,
if Instagram has it, is recorded under the id Instagram gave it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt, wait_exponential_jitter

from core import jobs
from core.clients.instagram import (
    MAX_TEXT_BYTES,
    GraphError,
    InstagramClient,
    OutsideWindow,
    PermissionDenied,
    RateLimited,
    RecipientUnavailable,
    SendUnknown,
    TokenInvalid,
)
from core.clients.source import NotConnected, instagram_source
from core.config import Settings
from core.crypto import TokenCipher
from core.db.engine import transaction
from core.db.models import Contact, Message, Reply, User
from core.db.repo import dialect_insert
from core.ratelimit import RateLimiter, TooFarAhead
from core.services import tokens
from core.timeutil import Clock, as_utc, utcnow

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
MAX_DRAFT_CHARS = 4000  # what a Telegram message can carry back to the creator; Instagram's limit is in bytes
RECONCILE_SKEW = timedelta(minutes=2)  # Instagram's clock and ours differ
LEASE = timedelta(minutes=2)  # a claim older than this without an outcome is reconciled by the retry job
RATE_WAIT_S = 5.0  # wait this long at most for a free per-account send slot, else retry in the background
# Pace at 90 % of IG_SEND_PER_SECOND: network and event-loop jitter can bunch calls paced exactly at the limit
# into one second on Instagram's side (a 613, and a minute's throttle).
PACE_HEADROOM = 0.9

# A client for the creator's Instagram (real Graph, or the bundled demo stand-in); raises NotConnected.
Gateway = Callable[[User], AbstractAsyncContextManager[InstagramClient]]


class WindowKind(enum.StrEnum):
    open = "open"  # within 24 h of the lead's last message
    personal = "personal"  # 24 h - 7 days, HUMAN_AGENT (only when IG_HUMAN_AGENT=true)
    closed = "closed"  # they must write first
    unavailable = "unavailable"  # Instagram said they cannot receive messages (until they write again)


@dataclass(frozen=True)
class Window:
    kind: WindowKind
    remaining: timedelta = timedelta(0)

    @property
    def can_send(self) -> bool:
        return self.kind in (WindowKind.open, WindowKind.personal)

    @property
    def human_agent(self) -> bool:
        return self.kind is WindowKind.personal


def reply_window(contact: Contact, now: datetime, human_agent: bool) -> Window:
    """Instagram's rule: 24 h after the person's last message; then, with the HUMAN_AGENT feature, a human's
    reply up to 7 days; never before they wrote."""
    last = as_utc(contact.last_lead_message_at) if contact.last_lead_message_at else None
    gone = as_utc(contact.reply_unavailable_at) if contact.reply_unavailable_at else None
    if gone is not None and (last is None or gone >= last):
        return Window(WindowKind.unavailable)
    if last is None:
        return Window(WindowKind.closed)
    age = now - last
    if age < WINDOW:
        return Window(WindowKind.open, WINDOW - age)
    if human_agent and age < HUMAN_AGENT_WINDOW:
        return Window(WindowKind.personal, HUMAN_AGENT_WINDOW - age)
    return Window(WindowKind.closed)


def byte_size(text: str) -> int:
    return len(text.encode())


# ---------------------------------------------------------------- drafts


class Refused(enum.StrEnum):
    empty = "empty"
    too_long_for_telegram = "too_long_for_telegram"
    not_found = "not_found"
    not_a_draft = "not_a_draft"  # already sent, sending, or cancelled


def check_text(text: str) -> tuple[str, Refused | None]:
    clean = (text or "").strip()
    if not clean:
        return clean, Refused.empty
    if len(clean) > MAX_DRAFT_CHARS:
        return clean, Refused.too_long_for_telegram
    return clean, None


async def create_draft(session: AsyncSession, user: User, contact: Contact, text: str,
                       source: str = "typed") -> Reply | Refused:
    """A new draft for the creator's own contact (over 1000 bytes is kept too: the preview says by how much)."""
    clean, refused = check_text(text)
    if refused is not None:
        return refused
    reply = Reply(user_id=user.id, contact_id=contact.id, text=clean, source=source, status="draft")
    session.add(reply)
    await session.commit()
    return reply


async def get_reply(session: AsyncSession, user_id: int, reply_id: int) -> tuple[Reply, Contact] | None:
    """The creator's own reply and its contact (callback data and prompts are user input)."""
    row = (await session.execute(
        select(Reply, Contact).join(Contact, Contact.id == Reply.contact_id)
        .where(Reply.id == reply_id, Reply.user_id == user_id, Contact.user_id == user_id)
        .execution_options(populate_existing=True)  # sends write through other sessions: read what is stored
    )).first()
    return (row[0], row[1]) if row else None


async def edit_draft(session: AsyncSession, user_id: int, reply_id: int, text: str) -> Reply | Refused:
    clean, refused = check_text(text)
    if refused is not None:
        return refused
    found = await get_reply(session, user_id, reply_id)
    if found is None:
        return Refused.not_found
    result = await session.execute(
        update(Reply).where(Reply.id == reply_id, Reply.user_id == user_id, Reply.status == "draft")
        .values(text=clean, error=None, updated_at=utcnow()).execution_options(synchronize_session=False))
    await session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return Refused.not_a_draft
    await session.refresh(found[0])
    return found[0]


async def cancel_draft(session: AsyncSession, user_id: int, reply_id: int) -> bool:
    """Discard a draft; False when it is no longer a draft (sent meanwhile, or being sent)."""
    result = await session.execute(
        update(Reply).where(Reply.id == reply_id, Reply.user_id == user_id, Reply.status == "draft")
        .values(status="cancelled", updated_at=utcnow()).execution_options(synchronize_session=False))
    await session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def attach_message(session: AsyncSession, user_id: int, reply_id: int, chat_id: int, message_id: int) -> None:
    """Remember the Telegram message showing the draft, so a background retry can edit it with the outcome."""
    await session.execute(update(Reply).where(Reply.id == reply_id, Reply.user_id == user_id)
                          .values(chat_id=chat_id, message_id=message_id).execution_options(synchronize_session=False))
    await session.commit()


# ---------------------------------------------------------------- sending


class Outcome(enum.StrEnum):
    sent = "sent"
    already_sent = "already_sent"
    in_progress = "in_progress"  # another press / replica / job holds the claim
    retrying = "retrying"  # throttled: a background job sends it when Instagram allows
    reconciling = "reconciling"  # outcome unknown and the conversation could not be read yet
    # failures: the draft is kept in every one of them
    too_long = "too_long"
    window_closed = "window_closed"
    outside_window = "outside_window"
    unavailable = "unavailable"
    token = "token"
    permission = "permission"
    not_connected = "not_connected"
    unconfirmed = "unconfirmed"  # no answer, and the conversation does not have it: not sent
    rate_limited = "rate_limited"  # retries used up
    failed = "failed"
    not_found = "not_found"
    cancelled = "cancelled"


FAILURES = frozenset({Outcome.too_long, Outcome.window_closed, Outcome.outside_window, Outcome.unavailable,
                      Outcome.token, Outcome.permission, Outcome.not_connected, Outcome.unconfirmed,
                      Outcome.rate_limited, Outcome.failed})


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    reply_id: int
    retry_in: float | None = None  # Outcome.retrying: seconds until the background attempt
    size: int = 0  # bytes of the text (Outcome.too_long)
    told_reconnect: bool = False  # Outcome.token: this send took the one reconnect notice
    claimed: bool = True  # False: another press / replica / job holds this reply (it shows the outcome)


@dataclass
class SendContext:
    """What a send needs besides the reply: the database, a way to reach Instagram, the shared pace."""

    sessions: async_sessionmaker[AsyncSession]
    gateway: Gateway
    redis: Any  # the queue's Redis: per-account send pace shared by every replica and worker
    human_agent: bool = False
    per_second: int = 100
    timeout_s: float = 15.0
    clock: Clock = utcnow


async def send(ctx: SendContext, user_id: int, reply_id: int, *, claim_from: tuple[str, ...] = ("draft",)
               ) -> SendResult:
    """Send one reply (a press on Send, or the retry job with claim_from=("retrying",)).

    One transaction claims, then checks: the claim is its first statement, so SQLite takes the write lock at once
    (waiting its turn) instead of upgrading a read; a refused send puts the draft back before it commits. The
    Graph call happens after the commit."""
    async with transaction(ctx.sessions) as session:
        claimed = (await session.execute(
            update(Reply).where(Reply.id == reply_id, Reply.user_id == user_id, Reply.status.in_(claim_from))
            .values(status="sending", claimed_at=ctx.clock(), attempts=Reply.attempts + 1, error=None,
                    updated_at=ctx.clock())
            .returning(Reply.id).execution_options(synchronize_session=False))).first()
        found = await get_reply(session, user_id, reply_id)
        user = await session.get(User, user_id)
        if found is None or user is None:
            return SendResult(Outcome.not_found, reply_id)
        reply, contact = found
        if claimed is None:  # another press, replica or job holds it (or it is settled)
            return SendResult(_busy(reply.status), reply_id, claimed=False)
        window = reply_window(contact, ctx.clock(), ctx.human_agent)
        refused = _refusal(reply, window)
        await session.execute(
            update(Reply).where(Reply.id == reply_id).execution_options(synchronize_session=False).values(
                status="draft", error=refused.outcome.value if refused.outcome is not Outcome.too_long else None)
            if refused is not None else
            update(Reply).where(Reply.id == reply_id).execution_options(synchronize_session=False).values(
                human_agent=window.human_agent))
        if refused is not None:  # said on the draft, which is kept
            return refused
    return await _deliver(ctx, user, reply, contact, window)


def _refusal(reply: Reply, window: Window) -> SendResult | None:
    size = byte_size(reply.text)
    if size > MAX_TEXT_BYTES:
        return SendResult(Outcome.too_long, reply.id, size=size)
    if not window.can_send:
        kind = Outcome.unavailable if window.kind is WindowKind.unavailable else Outcome.window_closed
        return SendResult(kind, reply.id)
    return None


def _back_to_draft(ctx: SendContext, reply_id: int, outcome: Outcome, from_status: tuple[str, ...]) -> Any:
    return (update(Reply).where(Reply.id == reply_id, Reply.status.in_(from_status))
            .values(status="draft", error=outcome.value, updated_at=ctx.clock())
            .execution_options(synchronize_session=False))


def _busy(status: str) -> Outcome:
    if status == "sent":
        return Outcome.already_sent
    if status == "cancelled":
        return Outcome.cancelled
    if status == "retrying":
        return Outcome.retrying
    return Outcome.in_progress


def _pace_key(ctx: SendContext, user: User) -> str:
    return jobs.redis_key(ctx.redis, "ratelimit", "igsend", user.ig_account_id or f"user{user.id}")


async def _deliver(ctx: SendContext, user: User, reply: Reply, contact: Contact, window: Window) -> SendResult:
    limiter = RateLimiter(ctx.redis, _pace_key(ctx, user), max(1, int(ctx.per_second * 60 * PACE_HEADROOM)))
    try:
        await limiter.acquire(RATE_WAIT_S)
    except TooFarAhead as exc:  # the account's pace is booked: the background job sends it later
        return await _retry_later(ctx, reply, exc.wait_s)
    try:
        async with ctx.gateway(user) as client:
            try:
                sent = await client.send_text(contact.instagram_id, reply.text, human_agent=window.human_agent,
                                              timeout_s=ctx.timeout_s)
            except SendUnknown as exc:
                log.warning("reply %s: outcome unknown (%s), reconciling", reply.id, exc.message)
                return await reconcile(ctx, reply.id, client)
    except NotConnected:
        return await _fail(ctx, reply, Outcome.not_connected)
    except GraphError as exc:
        return await _graph_failure(ctx, user, reply, exc)
    await record_sent(ctx.sessions, reply.id, sent.message_id, ctx.clock())
    return SendResult(Outcome.sent, reply.id)


async def _graph_failure(ctx: SendContext, user: User, reply: Reply, exc: GraphError) -> SendResult:
    if isinstance(exc, RateLimited):
        return await _retry_later(ctx, reply, exc.retry_after)
    if isinstance(exc, OutsideWindow):
        return await _fail(ctx, reply, Outcome.outside_window)
    if isinstance(exc, RecipientUnavailable):
        async with transaction(ctx.sessions) as session:
            await session.execute(update(Contact).where(Contact.id == reply.contact_id)
                                  .values(reply_unavailable_at=ctx.clock()).execution_options(synchronize_session=False))
        return await _fail(ctx, reply, Outcome.unavailable)
    if isinstance(exc, TokenInvalid):
        # The reconnect flow: syncing stops and the one reconnect notice is this send's answer.
        await tokens.stop_syncing(ctx.sessions, user.id, "expired", str(exc), ctx.clock())
        told = await tokens.claim_reconnect_notice(ctx.sessions, user.id) is not None
        result = await _fail(ctx, reply, Outcome.token)
        return SendResult(result.outcome, reply.id, told_reconnect=told)
    if isinstance(exc, PermissionDenied):
        return await _fail(ctx, reply, Outcome.permission)
    log.warning("reply %s not sent: %s", reply.id, exc)
    return await _fail(ctx, reply, Outcome.failed)


async def _fail(ctx: SendContext, reply: Reply, outcome: Outcome, *,
                from_status: tuple[str, ...] = ("sending",)) -> SendResult:
    """Not sent: the draft is kept (back to `draft`) with the reason, for the preview to say."""
    async with transaction(ctx.sessions) as session:
        await session.execute(_back_to_draft(ctx, reply.id, outcome, from_status))
    return SendResult(outcome, reply.id)


MAX_ATTEMPTS = 5


async def _retry_later(ctx: SendContext, reply: Reply, hint_s: float) -> SendResult:
    """Throttled (codes 4/613, or our own per-account pace): the background job sends it after the wait."""
    if reply.attempts >= MAX_ATTEMPTS:  # counted at the claim
        return await _fail(ctx, reply, Outcome.rate_limited)
    async with transaction(ctx.sessions) as session:
        await session.execute(update(Reply).where(Reply.id == reply.id, Reply.status == "sending")
                              .values(status="retrying", error=Outcome.rate_limited.value, updated_at=ctx.clock())
                              .execution_options(synchronize_session=False))
    return SendResult(Outcome.retrying, reply.id, retry_in=max(1.0, float(hint_s)))


async def reconcile(ctx: SendContext, reply_id: int, client: InstagramClient) -> SendResult:
    """The send's answer was lost: look for the message in the conversation before anything else.

    Found -> recorded as sent under Instagram's id. Not there -> not sent: back to a draft ("unconfirmed").
    The conversation could not be read -> stays `unknown` for the retry job to look again."""
    async with transaction(ctx.sessions) as session:
        await session.execute(update(Reply).where(Reply.id == reply_id, Reply.status.in_(("sending", "unknown")))
                              .values(status="unknown", updated_at=ctx.clock())
                              .execution_options(synchronize_session=False))
        reply = await session.get(Reply, reply_id)
        contact = await session.get(Contact, reply.contact_id) if reply else None
    if reply is None or contact is None or reply.status != "unknown":
        return SendResult(Outcome.not_found if reply is None else _busy(reply.status), reply_id)
    try:
        thread = await client.thread_messages(contact.instagram_id)
    except GraphError as exc:
        log.warning("reply %s: cannot read the conversation to reconcile (%s)", reply_id, exc)
        return SendResult(Outcome.reconciling, reply_id)
    since = as_utc(reply.claimed_at or reply.created_at) - RECONCILE_SKEW
    async with ctx.sessions() as session:
        known = set((await session.execute(select(Reply.instagram_message_id).where(
            Reply.user_id == reply.user_id, Reply.instagram_message_id.is_not(None)))).scalars())
    match = next((m for m in thread if m.from_id != contact.instagram_id and m.text.strip() == reply.text.strip()
                  and (m.created_at is None or m.created_at >= since) and m.id not in known), None)
    if match is None:
        return await _fail(ctx, reply, Outcome.unconfirmed, from_status=("unknown",))
    await record_sent(ctx.sessions, reply_id, match.id, match.created_at or ctx.clock(), from_status=("unknown",))
    return SendResult(Outcome.sent, reply_id)


async def record_sent(sessions: async_sessionmaker[AsyncSession], reply_id: int, message_id: str, at: datetime,
                      from_status: tuple[str, ...] = ("sending",)) -> None:
    """The reply is sent: stored as a chat message under Instagram's id (a later sync or echo of the same id
    is a no-op), and the contact's last message / who wrote last move to it. Not news to the scorer and no alert:
    the creator's own reply only becomes context at the next scoring. Three statements, one transaction."""
    async with transaction(sessions) as session:
        row = (await session.execute(
            update(Reply).where(Reply.id == reply_id, Reply.status.in_(from_status))
            .values(status="sent", instagram_message_id=message_id, sent_at=at, error=None, updated_at=at)
            .returning(Reply.user_id, Reply.contact_id, Reply.text).execution_options(synchronize_session=False)
        )).first()
        if row is None:  # settled by someone else meanwhile
            return
        user_id, contact_id, text = row
        await session.execute(dialect_insert(session, Message).values(
            user_id=user_id, contact_id=contact_id, instagram_message_id=message_id, from_creator=True, text=text,
            attachment_kind=None, created_at=at,
        ).on_conflict_do_nothing(index_elements=["user_id", "instagram_message_id"]))
        newer = or_(Contact.last_message_at.is_(None), Contact.last_message_at <= at)
        count = select(func.count(Message.id)).where(Message.contact_id == Contact.id).scalar_subquery()
        await session.execute(update(Contact).where(Contact.id == contact_id, Contact.user_id == user_id).values(
            message_count=count,
            last_message=case((newer, text), else_=Contact.last_message),
            last_message_from_creator=case((newer, True), else_=Contact.last_message_from_creator),
            last_message_at=case((newer, at), else_=Contact.last_message_at),
        ).execution_options(synchronize_session=False))


async def resume(ctx: SendContext, user_id: int, reply_id: int) -> SendResult:
    """The retry job: send a throttled reply, or settle one whose outcome is unknown (reconcile first, never a
    blind resend). A claim left `sending` longer than the lease (a process died mid-call) counts as unknown."""
    async with ctx.sessions() as session:
        reply = await session.get(Reply, reply_id)
        user = await session.get(User, user_id)
    if reply is None or user is None or reply.user_id != user_id:
        return SendResult(Outcome.not_found, reply_id)
    stale = (reply.status == "sending" and reply.claimed_at is not None
             and as_utc(reply.claimed_at) < ctx.clock() - LEASE)
    if reply.status == "unknown" or stale:
        try:
            async with ctx.gateway(user) as client:
                return await reconcile(ctx, reply_id, client)
        except NotConnected:
            return SendResult(Outcome.not_connected, reply_id)
    return await send(ctx, user_id, reply_id, claim_from=("retrying",))


def send_context(settings: Settings, sessions: async_sessionmaker[AsyncSession], cipher: TokenCipher,
                 http: httpx.AsyncClient, redis: Any, clock: Clock = utcnow) -> SendContext:
    """The one way the bot and the workers build a send: the creator's Instagram source and the settings."""
    def gateway(user: User) -> AbstractAsyncContextManager[InstagramClient]:
        return instagram_source(user, settings, cipher, http, sessions=sessions)

    return SendContext(sessions=sessions, gateway=gateway, redis=redis, human_agent=settings.ig_human_agent,
                       per_second=settings.ig_send_per_second, timeout_s=settings.ig_send_timeout_s, clock=clock)


async def schedule(redis: Any, user_id: int, reply_id: int, after_s: float, attempt: int) -> bool:
    """The background attempt of a throttled (or unsettled) send: one job per reply and attempt."""
    return await jobs.enqueue_send_reply(redis, user_id, reply_id, after_s, attempt)


def needs_background(result: SendResult) -> bool:
    return result.outcome in (Outcome.retrying, Outcome.reconciling)


async def press_send(session: AsyncSession, ctx: SendContext, user: User, reply_id: int) -> SendResult:
    """The creator pressed Send: send now; a throttled or unsettled send goes on in the background (a job).
    Ends the caller's transaction first: the send writes through sessions of its own (SQLite has one writer)."""
    await session.commit()
    result = await send(ctx, user.id, reply_id)
    if needs_background(result):
        await schedule(ctx.redis, user.id, result.reply_id, result.retry_in or 5.0, attempt=1)
    return result


def _wait_for(state: RetryCallState) -> float:
    """Instagram's own hint when it gave one (retrying sooner extends a throttle), else exponential + jitter."""
    result = state.outcome.result() if state.outcome and not state.outcome.failed else None
    hinted = result.retry_in if isinstance(result, SendResult) and result.retry_in else 0.0
    return max(hinted, _BACKOFF(state))


_BACKOFF = wait_exponential_jitter(initial=2, max=120)


async def settle(ctx: SendContext, user_id: int, reply_id: int,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> SendResult:
    """The background attempts of one reply: retried with backoff while Instagram throttles (codes 4/613) or the
    conversation cannot be read to reconcile; a throttle that outlasts MAX_ATTEMPTS gives the draft back."""
    retrying = AsyncRetrying(retry=retry_if_result(needs_background), wait=_wait_for,
                             stop=stop_after_attempt(MAX_ATTEMPTS), sleep=sleep,
                             retry_error_callback=lambda state: state.outcome.result() if state.outcome else None)
    result: SendResult = await retrying(resume, ctx, user_id, reply_id)
    if result.outcome is Outcome.retrying:
        async with ctx.sessions() as session:
            reply = await session.get(Reply, reply_id)
        if reply is not None:
            result = await _fail(ctx, reply, Outcome.rate_limited, from_status=("retrying",))
    return result
