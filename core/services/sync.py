"""Instagram -> database sync: one bulk `INSERT … ON CONFLICT` per page for contacts and for messages.

Race-safe by construction (two syncs of one account converge on the unique keys, never select-then-insert),
incremental (paging stops at threads not updated since the last successful sync), and conservative:
a contact missing from a page is never deleted, last_message never moves backwards, and scoring fields
(tags, score, sentiment) are never touched here.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections import Counter
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import jobs
from core.clients.instagram import (
    BadRequest,
    GraphError,
    IgAccount,
    IgConversation,
    IgMessage,
    IgProfile,
    PermissionDenied,
    RateLimited,
    TokenInvalid,
)
from core.db.engine import transaction
from core.db.models import Contact, Message, User
from core.db.repo import dialect_insert
from core.db.search import refresh_search
from core.services.profiles import refresh_profiles
from core.services.reminders import zone_of
from core.timeutil import Clock, as_utc, utcnow

log = logging.getLogger(__name__)

# Graph's clock and ours differ; re-reading a little before the last sync costs nothing (upserts are idempotent).
OVERLAP = timedelta(minutes=2)


class ConversationSource(Protocol):
    """What sync needs from a client: InstagramClient (real Graph or the bundled demo stand-in)."""

    calls: int

    def conversations(self) -> AsyncGenerator[list[IgConversation], None]: ...

    async def account(self) -> IgAccount: ...

    async def profile(self, igsid: str) -> IgProfile: ...


@dataclass
class SyncResult:
    new_contacts: int = 0
    updated_contacts: int = 0  # existing contacts that received new messages
    new_messages: int = 0
    graph_calls: int = 0
    changed_contact_ids: list[int] = field(default_factory=list)  # new contacts or new messages: rescore these
    stopped_reason: str | None = None  # None = complete; expired|rate_limited|permission|unavailable|error|backoff
    detail: str | None = None
    pages: int = 0
    profiles_fetched: int = 0  # lead profiles (name, picture) read this sync
    profiles_unavailable: int = 0  # leads whose profile Graph refused (no consent, blocked)

    @property
    def ok(self) -> bool:
        return self.stopped_reason is None


@dataclass
class _Lead:
    """One lead of one page, merged across repeated conversations."""

    instagram_id: str
    username: str | None = None
    name: str | None = None
    avatar_url: str | None = None
    messages: dict[str, IgMessage] = field(default_factory=dict)
    fallback_time: datetime | None = None  # for messages Graph sent without a created_time

    def time_of(self, msg: IgMessage) -> datetime:
        return msg.created_at or self.fallback_time or utcnow()

    def newest(self) -> IgMessage | None:
        return max(self.messages.values(), key=lambda m: (self.time_of(m), m.id), default=None)

    def newest_from_lead(self) -> datetime | None:
        """When the lead last wrote: Instagram's reply window counts from it."""
        return max((self.time_of(m) for m in self.messages.values() if m.from_id == self.instagram_id),
                   default=None)


@dataclass
class _UserState:
    account_id: str | None
    last_sync_at: datetime | None
    backoff_until: datetime | None


async def sync_user(
    sessions: async_sessionmaker[AsyncSession], user_id: int, client: ConversationSource, *,
    now: Clock = utcnow,
) -> SyncResult:
    """Sync one creator's conversations. Graph failures are recorded on the user and returned, not raised."""
    started = now()
    state = await _load(sessions, user_id)
    result = SyncResult()
    if state.backoff_until is not None and state.backoff_until > started:
        result.stopped_reason, result.detail = "backoff", f"rate limited until {state.backoff_until.isoformat()}"
        return result
    calls_before = client.calls
    try:
        account_id = state.account_id or await _learn_account(sessions, user_id, client)
        cutoff = state.last_sync_at - OVERLAP if state.last_sync_at else None
        await _pages(sessions, user_id, account_id, client, cutoff, result, now)
        profiles = await refresh_profiles(sessions, user_id, client, now())
        result.profiles_fetched, result.profiles_unavailable = profiles.fetched, profiles.unavailable
    except GraphError as exc:
        result.stopped_reason, result.detail = await _record_failure(sessions, user_id, exc, now())
    else:
        await _record_success(sessions, user_id, started)
    finally:
        result.graph_calls = client.calls - calls_before
    return result


async def _pages(
    sessions: async_sessionmaker[AsyncSession], user_id: int, account_id: str, client: ConversationSource,
    cutoff: datetime | None, result: SyncResult, now: Clock,
) -> None:
    # Threads come most recently active first: the first one older than the cutoff ends the sync.
    async with aclosing(client.conversations()) as pages:
        async for page in pages:
            result.pages += 1
            fresh = [c for c in page if cutoff is None or c.updated_time is None or c.updated_time >= cutoff]
            if fresh:
                await _sync_page(sessions, user_id, account_id, fresh, client, result, now())
            if len(fresh) < len(page):
                break


async def _sync_page(
    sessions: async_sessionmaker[AsyncSession], user_id: int, account_id: str,
    page: list[IgConversation], client: ConversationSource, result: SyncResult, stamp: datetime,
) -> None:
    leads = merge_leads(page, account_id)
    async with transaction(sessions) as session:  # one page = one transaction: a failure keeps earlier pages
        ids = await _upsert_contacts(session, user_id, account_id, leads, stamp)
        inserted = await _insert_messages(session, user_id, account_id, leads, ids)
        await _recount(session, user_id, inserted)
        await refresh_search(session, user_id, [cid for cid, _ in ids.values()])  # /find: names, new messages
    new_ids = {cid for cid, is_new in ids.values() if is_new}
    result.new_contacts += len(new_ids)
    result.updated_contacts += len(set(inserted) - new_ids)
    result.new_messages += sum(inserted.values())
    seen = set(result.changed_contact_ids)  # a thread repeated across pages is reported once
    result.changed_contact_ids.extend(sorted((new_ids | set(inserted)) - seen))


def merge_leads(page: Iterable[IgConversation], account_id: str) -> dict[str, _Lead]:
    """The lead of a thread is the participant whose id is not the account's (order is not reliable)."""
    leads: dict[str, _Lead] = {}
    for conv in page:
        other = next((p for p in conv.participants if p.id != account_id), None)
        lead_id = other.id if other else next((m.from_id for m in conv.messages
                                               if m.from_id and m.from_id != account_id), None)
        if lead_id is None:
            continue  # a thread with only the account itself: nobody to track
        lead = leads.setdefault(lead_id, _Lead(instagram_id=lead_id))
        if other is not None:
            lead.username = other.username or lead.username
            lead.name = other.name or lead.name
        lead.fallback_time = conv.updated_time or lead.fallback_time
        for msg in conv.messages:
            lead.messages.setdefault(msg.id, msg)
    return leads


async def _upsert_contacts(
    session: AsyncSession, user_id: int, account_id: str, leads: dict[str, _Lead], stamp: datetime,
) -> dict[str, tuple[int, bool]]:
    """One INSERT … ON CONFLICT DO UPDATE for the page -> {instagram_id: (contact id, created now)}."""
    rows = [_contact_row(user_id, account_id, lead, stamp) for _, lead in sorted(leads.items())]
    if not rows:
        return {}
    ins = dialect_insert(session, Contact)
    stmt = ins.on_conflict_do_update(
        index_elements=["user_id", "instagram_id"], set_=_contact_updates(ins.excluded)
    ).returning(Contact.id, Contact.instagram_id, Contact.created_at)
    out: dict[str, tuple[int, bool]] = {}
    conn = await session.connection()  # Core executemany: the ORM bulk layer only adds overhead here
    for cid, igid, created in (await conn.execute(stmt, rows)).all():
        out[igid] = (cid, as_utc(created) == stamp)  # created_at is only written by the insert branch
    return out


def _contact_row(user_id: int, account_id: str, lead: _Lead, stamp: datetime) -> dict[str, Any]:
    newest = lead.newest()
    return {
        "user_id": user_id, "instagram_id": lead.instagram_id, "name": lead.name, "username": lead.username,
        "avatar_url": lead.avatar_url, "tags": [], "message_count": 0, "hot_episode": 0,
        "last_message": newest.text if newest else None,
        "last_message_at": lead.time_of(newest) if newest else None,
        "last_message_from_creator": (newest.from_id == account_id) if newest else None,
        "last_lead_message_at": lead.newest_from_lead(),
        "last_message_kind": newest.attachment_kind if newest else None,
        "created_at": stamp, "updated_at": stamp,
    }


def _contact_updates(ex: Any) -> dict[str, Any]:
    col = Contact.__table__.c
    # Only a strictly newer message replaces the last one: a stale page never moves it backwards.
    newer = and_(ex.last_message_at.is_not(None),
                 or_(col.last_message_at.is_(None), ex.last_message_at > col.last_message_at))
    return {
        "name": func.coalesce(ex.name, col.name),
        "username": func.coalesce(ex.username, col.username),
        "avatar_url": func.coalesce(ex.avatar_url, col.avatar_url),
        "last_message": case((newer, ex.last_message), else_=col.last_message),
        "last_message_at": case((newer, ex.last_message_at), else_=col.last_message_at),
        "last_message_from_creator": case((newer, ex.last_message_from_creator),
                                          else_=col.last_message_from_creator),
        "last_lead_message_at": case((and_(ex.last_lead_message_at.is_not(None), or_(
            col.last_lead_message_at.is_(None), ex.last_lead_message_at > col.last_lead_message_at)),
            ex.last_lead_message_at), else_=col.last_lead_message_at),
        "last_message_kind": case((newer, ex.last_message_kind), else_=col.last_message_kind),
        "updated_at": ex.updated_at,
    }


async def _insert_messages(
    session: AsyncSession, user_id: int, account_id: str, leads: dict[str, _Lead],
    ids: dict[str, tuple[int, bool]],
) -> Counter[int]:
    """One INSERT … ON CONFLICT DO NOTHING for the page -> {contact id: messages actually inserted}."""
    rows = [
        {"user_id": user_id, "contact_id": ids[igid][0], "instagram_message_id": msg.id,
         "from_creator": msg.from_id == account_id, "text": msg.text, "attachment_kind": msg.attachment_kind,
         "created_at": lead.time_of(msg)}
        for igid, lead in leads.items() if igid in ids
        for msg in lead.messages.values()
    ]
    if not rows:
        return Counter()
    rows.sort(key=lambda r: str(r["instagram_message_id"]))  # one lock order for concurrent syncs
    stmt = dialect_insert(session, Message).on_conflict_do_nothing(
        index_elements=["user_id", "instagram_message_id"]
    ).returning(Message.contact_id)
    conn = await session.connection()
    return Counter(cid for (cid,) in (await conn.execute(stmt, rows)).all())


async def _recount(session: AsyncSession, user_id: int, inserted: Counter[int]) -> None:
    """message_count from the table itself: right even when two syncs interleave."""
    if not inserted:
        return
    count = select(func.count(Message.id)).where(Message.contact_id == Contact.id).scalar_subquery()
    await session.execute(
        update(Contact).where(Contact.user_id == user_id, Contact.id.in_(sorted(inserted)))
        .values(message_count=count)
    )


# ---------------------------------------------------------------- user state


async def _load(sessions: async_sessionmaker[AsyncSession], user_id: int) -> _UserState:
    async with sessions() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise LookupError(f"no user with id {user_id}")
        return _UserState(user.ig_account_id, user.last_sync_at, user.ig_backoff_until)


async def _learn_account(sessions: async_sessionmaker[AsyncSession], user_id: int,
                         client: ConversationSource) -> str:
    """First sync without a known account id: one /me call, remembered for every later sync."""
    account = await client.account()
    async with transaction(sessions) as session:
        await session.execute(update(User).where(User.id == user_id).values(
            ig_account_id=account.user_id, ig_username=account.username))
    return account.user_id


async def _record_success(sessions: async_sessionmaker[AsyncSession], user_id: int, started: datetime) -> None:
    # The start time, not the end: a thread that changed while we paged is newer than it, so it is re-read.
    async with transaction(sessions) as session:
        await session.execute(update(User).where(User.id == user_id).values(
            ig_status="ok", ig_status_detail=None, ig_backoff_until=None, last_sync_at=started,
            last_sync_error=None, updated_at=utcnow()))


def failure_status(exc: GraphError) -> tuple[str, str]:
    """(users.ig_status, SyncResult.stopped_reason) for a Graph failure."""
    if isinstance(exc, TokenInvalid):
        return "expired", "expired"
    if isinstance(exc, RateLimited):
        return "rate_limited", "rate_limited"
    if isinstance(exc, PermissionDenied):
        return "permission", "permission"
    if isinstance(exc, BadRequest):
        return "error", "error"
    return "error", "unavailable"


async def _record_failure(sessions: async_sessionmaker[AsyncSession], user_id: int, exc: GraphError,
                          at: datetime) -> tuple[str, str]:
    status, reason = failure_status(exc)
    detail = str(exc)[:500]
    values: dict[str, Any] = {"ig_status": status, "ig_status_detail": detail, "last_sync_error": detail,
                              "updated_at": utcnow()}
    if isinstance(exc, RateLimited):
        values["ig_backoff_until"] = at + timedelta(seconds=exc.retry_after)
    async with transaction(sessions) as session:
        await session.execute(update(User).where(User.id == user_id).values(**values))
    log.warning("sync of user %s stopped: %s", user_id, reason)
    return reason, detail


# ---------------------------------------------------------------- /sync and the demo: a sync the creator asks for


class SyncRefused(enum.Enum):
    NOT_CONNECTED = "not_connected"


@dataclass(frozen=True)
class SyncRequested:
    job_id: str  # the sync job; its result says what it found


@dataclass(frozen=True)
class SyncRunning:
    """/sync while the creator's last manual sync is still in flight: no second job."""

    started_at: datetime  # in the creator's timezone
    job_id: str


async def request_sync(session: AsyncSession, queue: Any, user: User, new_account: bool = False,
                       ) -> SyncRequested | SyncRunning | SyncRefused:
    """Enqueue a sync of the creator's Instagram now (ends the caller's transaction first). One at a time: while
    the last one is in flight, /sync gets SyncRunning. A new account's first sync (`new_account`: /demo, a
    connection) is always enqueued."""
    await session.commit()
    if user.ig_source is None:
        return SyncRefused.NOT_CONNECTED
    asked = await jobs.enqueue_manual_sync(queue, user.id, uuid.uuid4().hex, exclusive=not new_account)
    if not asked.enqueued:
        return SyncRunning(asked.started_at.astimezone(zone_of(user)), asked.job_id)
    return SyncRequested(asked.job_id)
