"""The scheduled sync job: refresh the token if due, sync, rescore only the contacts that changed.

Idempotent: a second run of the same job re-reads Graph (upserts converge) and finds nothing new to
rescore, because scoring is driven by `scored_through` vs `last_message_at`, not by this job's memory.
A dead token stops the creator's syncing and tells them once; a throttled account is backed off.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import jobs
from core.clients.instagram import PermissionDenied, RateLimited, TokenInvalid
from core.clients.source import UNREADABLE, NotConnected, TokenUnreadable, instagram_source
from core.config import Settings
from core.crypto import TokenCipher
from core.db.models import Contact, ScoringItem, User
from core.db.repo import needs_scoring
from core.services import tokens
from core.services.sync import SyncResult, sync_user
from core.timeutil import utcnow

log = logging.getLogger(__name__)

STOP_REASONS = {"expired": "expired", "permission": "permission"}


async def _load(sessions: async_sessionmaker[AsyncSession], user_id: int) -> User | None:
    async with sessions() as session:
        return await session.get(User, user_id)


def _http(ctx: dict[str, Any]) -> httpx.AsyncClient:
    if "http" not in ctx:
        ctx["http"] = httpx.AsyncClient(timeout=httpx.Timeout(30.0))
    http: httpx.AsyncClient = ctx["http"]
    return http


async def sync_creator(ctx: dict[str, Any], user_id: int) -> dict[str, Any]:
    """The job. A manual sync frees the creator's /sync slot when it ends, done or failed (not when cancelled:
    arq runs a cancelled job again, and it is still in flight until then)."""
    try:
        outcome = await _sync_creator(ctx, user_id)
    except Exception:
        await _release(ctx, user_id)
        raise
    await _release(ctx, user_id)
    return outcome


async def _release(ctx: dict[str, Any], user_id: int) -> None:
    if "job_id" not in ctx:
        return
    try:
        await jobs.release_manual_sync(ctx["redis"], user_id, ctx["job_id"])
    except Exception:  # noqa: BLE001 - the slot frees itself once arq no longer holds the job
        log.exception("sync of user %s: could not free the /sync slot", user_id)


async def _sync_creator(ctx: dict[str, Any], user_id: int) -> dict[str, Any]:
    clock = ctx.get("clock", utcnow)
    sessions: async_sessionmaker[AsyncSession] = ctx["sessions"]
    user = await _load(sessions, user_id)
    if user is None:
        return {"skipped": "gone"}
    blocked = tokens.sync_blocked(user, clock(), ctx["settings"].allowed_telegram_ids)
    if blocked is not None:
        return {"skipped": blocked}
    refreshed = await _refresh_token(ctx, user)
    if refreshed in ("expired", "unreadable"):
        return {"stopped": refreshed}
    try:
        async with instagram_source(user, ctx["settings"], _cipher(ctx), _http(ctx), sessions=sessions,
                                    now=clock()) as client:
            result = await sync_user(sessions, user_id, client, now=clock)
    except NotConnected as exc:
        status = "unreadable" if isinstance(exc, TokenUnreadable) else "expired"
        await tokens.stop_syncing(sessions, user_id, status, str(exc), clock())
        await notify_reconnect(ctx, user_id, status)
        return {"stopped": "unreadable" if status == "unreadable" else "not_connected"}
    if result.stopped_reason in STOP_REASONS:
        await notify_reconnect(ctx, user_id)
        return {"stopped": result.stopped_reason}
    run_id = await rescore_changed(ctx, user_id, result)
    return {"new_contacts": result.new_contacts, "updated_contacts": result.updated_contacts,
            "new_messages": result.new_messages, "changed": len(result.changed_contact_ids), "run_id": run_id,
            "stopped": result.stopped_reason}


async def _refresh_token(ctx: dict[str, Any], user: User) -> str:
    """Refresh before expiry; an expired or revoked token, or one no key opens, stops syncing (and tells the
    creator once). Returns the refresh outcome; "expired" / "unreadable" mean syncing stopped."""
    settings: Settings = ctx["settings"]
    clock = ctx.get("clock", utcnow)
    if user.ig_source != "graph":
        return "not_graph"
    refresher = tokens.graph_refresher(_http(ctx), settings.ig_api_base, settings.ig_api_version)
    try:
        outcome = (await tokens.refresh_if_due(sessions=ctx["sessions"], user=user, cipher=_cipher(ctx),
                                               refresher=refresher, now=clock())).outcome
    except (TokenInvalid, PermissionDenied) as exc:
        outcome, detail = "expired", str(exc)
    except RateLimited as exc:  # refreshing can wait for the next sync; the sync itself decides on backoff
        log.info("token refresh throttled for user %s: %s", user.id, exc.message)
        return "throttled"
    else:
        detail = "Instagram token expired"
    if outcome == "unreadable":
        detail = UNREADABLE
    if outcome in ("expired", "unreadable"):
        await tokens.stop_syncing(ctx["sessions"], user.id, outcome, detail, clock())
        await notify_reconnect(ctx, user.id, outcome)
    return outcome


def _cipher(ctx: dict[str, Any]) -> TokenCipher:
    if "cipher" not in ctx:
        ctx["cipher"] = TokenCipher.from_settings(ctx["settings"])
    cipher: TokenCipher = ctx["cipher"]
    return cipher


async def rescore_changed(ctx: dict[str, Any], user_id: int, result: SyncResult) -> int | None:
    """Rescore only contacts this sync changed and that need it (a new lead, or the lead wrote again)."""
    ids = await _to_rescore(ctx["sessions"], user_id, result.changed_contact_ids)
    if not ids:
        return None
    return await _start_or_wait(ctx, user_id, ids)


async def _start_or_wait(ctx: dict[str, Any], user_id: int, ids: list[int]) -> int:
    """start_run returns the creator's active run when there is one; contacts it does not still hold as
    pending would be missed, so look again once it had time to finish (needs_scoring re-checks)."""
    from core.services import scoring

    started = await scoring.start_run(ctx["sessions"], ctx["redis"], user_id, scope="ids", contact_ids=ids)
    if not started.created:
        async with ctx["sessions"]() as session:
            pending = set((await session.execute(select(ScoringItem.contact_id).where(
                ScoringItem.run_id == started.id, ScoringItem.status == "pending"))).scalars())
        missing = sorted(set(ids) - pending)
        if missing:
            await jobs.enqueue_rescore(ctx["redis"], user_id, started.id, missing, ctx.get("clock", utcnow)())
    return int(started.id)


async def rescore_contacts(ctx: dict[str, Any], user_id: int, contact_ids: list[int]) -> int | None:
    """Job: rescore contacts a sync changed while another run was active (only those still needing it)."""
    ids = await _to_rescore(ctx["sessions"], user_id, contact_ids)
    return await _start_or_wait(ctx, user_id, ids) if ids else None


async def _to_rescore(sessions: async_sessionmaker[AsyncSession], user_id: int, changed: list[int]) -> list[int]:
    if not changed:
        return []
    async with sessions() as session:
        stmt = select(Contact.id).where(
            Contact.user_id == user_id, Contact.id.in_(changed), needs_scoring(),
            # The creator's own reply alone is not news about the lead; a never-scored contact always is.
            (Contact.last_message_from_creator.is_not(True)) | Contact.scored_at.is_(None),
        ).order_by(Contact.id)
        return list((await session.execute(stmt)).scalars())


async def notify_reconnect(ctx: dict[str, Any], user_id: int, reason: str = "expired") -> bool:
    """Tell the creator once (a flag claimed atomically in the database) how to reconnect Instagram."""
    chat_id = await tokens.claim_reconnect_notice(ctx["sessions"], user_id)
    if chat_id is None:
        return False
    from workers.jobs.alerts import notifier_of

    try:
        await (await notifier_of(ctx)).reconnect_instagram(chat_id, reason)
    except Exception:
        await tokens.unclaim_reconnect_notice(ctx["sessions"], user_id)
        raise
    return True
