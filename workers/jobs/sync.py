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

from core.clients.instagram import PermissionDenied, RateLimited, TokenInvalid
from core.clients.source import NotConnected, instagram_source
from core.config import Settings
from core.crypto import TokenCipher
from core.db.models import Contact, ScoringItem, User
from core.db.repo import needs_scoring
from core.services import tokens
from core.services.sync import SyncResult, sync_user
from core.timeutil import utcnow
from workers.jobids import namespaced

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
    clock = ctx.get("clock", utcnow)
    sessions: async_sessionmaker[AsyncSession] = ctx["sessions"]
    user = await _load(sessions, user_id)
    if user is None:
        return {"skipped": "gone"}
    blocked = tokens.sync_blocked(user, clock())
    if blocked is not None:
        return {"skipped": blocked}
    if await _refresh_token(ctx, user) == "stopped":
        return {"stopped": "expired"}
    try:
        async with instagram_source(user, ctx["settings"], _cipher(ctx), _http(ctx), sessions=sessions,
                                    now=clock()) as client:
            result = await sync_user(sessions, user_id, client, now=clock)
    except NotConnected as exc:
        await tokens.stop_syncing(sessions, user_id, "expired", str(exc), clock())
        await notify_reconnect(ctx, user_id)
        return {"stopped": "not_connected"}
    if result.stopped_reason in STOP_REASONS:
        await notify_reconnect(ctx, user_id)
        return {"stopped": result.stopped_reason}
    run_id = await rescore_changed(ctx, user_id, result)
    return {"new_contacts": result.new_contacts, "updated_contacts": result.updated_contacts,
            "new_messages": result.new_messages, "changed": len(result.changed_contact_ids), "run_id": run_id,
            "stopped": result.stopped_reason}


async def _refresh_token(ctx: dict[str, Any], user: User) -> str:
    """Refresh before expiry; an expired or revoked token stops syncing (and tells the creator once)."""
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
    if outcome in ("expired", "no_token"):
        await tokens.stop_syncing(ctx["sessions"], user.id, "expired", detail, clock())
        await notify_reconnect(ctx, user.id)
        return "stopped"
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


RESCORE_RETRY_S = 15


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
            slot = int(ctx.get("clock", utcnow)().timestamp() // RESCORE_RETRY_S)
            job_id = namespaced(ctx["redis"], f"rescore:{user_id}:{started.id}:{slot}")
            await ctx["redis"].enqueue_job("rescore_contacts", user_id, missing, _job_id=job_id,
                                           _defer_by=RESCORE_RETRY_S)
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


async def notify_reconnect(ctx: dict[str, Any], user_id: int) -> bool:
    """Tell the creator once (a flag claimed atomically in the database) how to reconnect Instagram."""
    chat_id = await tokens.claim_reconnect_notice(ctx["sessions"], user_id)
    if chat_id is None:
        return False
    from bot import notify
    from workers.jobs.alerts import bot_of, pacer_of

    try:
        await notify.send_reconnect_notice(bot_of(ctx), pacer_of(ctx), chat_id)
    except Exception:
        await tokens.unclaim_reconnect_notice(ctx["sessions"], user_id)
        raise
    return True
