"""core.services.reply against the Instagram stand-in over HTTP and the real databases: throttled sends retried
with backoff, two replicas racing one draft, an unavailable person, replies sent from the Instagram app."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import select

from core.clients.instagram import InstagramClient
from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, Message, Reply, User
from core.queue import create_queue
from core.services import reply as replies
from core.services.connect import connect_demo
from core.services.sync import sync_user
from standins.instagram import InstagramStandin
from tests.reply_harness import ACCOUNT, NOW, reply_data

pytestmark = pytest.mark.timeout(60)


@asynccontextmanager
async def setup(sessions, unique):
    """A creator synced from the stand-in, a SendContext reaching it, and the queue's Redis for the pace."""
    async with InstagramStandin(reply_data(), clock=lambda: NOW) as ig, httpx.AsyncClient(timeout=10) as http:
        async with transaction(sessions) as session:
            user = await repo.ensure_user(session, 4001, 4001)
            await connect_demo(session, user.id)  # any source: the gateway below reaches the stand-in
            user_id = user.id
        client = InstagramClient(http, ig.token, base=ig.base_url, version="v21.0")
        await sync_user(sessions, user_id, client, now=lambda: NOW)
        queue = await create_queue(None, unique)

        @asynccontextmanager
        async def gateway(_user: User):
            yield InstagramClient(http, ig.token, base=ig.base_url, version="v21.0")

        ctx = replies.SendContext(sessions=sessions, gateway=gateway, redis=queue, clock=lambda: NOW)
        try:
            yield ig, ctx, user_id, client
        finally:
            await queue.aclose()


async def _draft(sessions, user_id: int, name: str, text: str) -> tuple[int, Contact]:
    async with sessions() as session:
        user = await session.get(User, user_id)
        contact = (await session.execute(select(Contact).where(Contact.username == f"lead_{name}"))).scalar_one()
        made = await replies.create_draft(session, user, contact, text)
        assert isinstance(made, Reply)
        return made.id, contact


async def test_throttled_send_is_retried_with_backoff_and_sent_once(sessions, unique) -> None:
    async with setup(sessions, unique) as (ig, ctx, user_id, _):
        reply_id, _ = await _draft(sessions, user_id, "fresh", "Let's talk")
        ig.fail_send("throttle:613", "throttle:4")
        first = await replies.send(ctx, user_id, reply_id)
        assert first.outcome is replies.Outcome.retrying and first.retry_in and first.retry_in >= 60  # Graph's hint
        again = await replies.send(ctx, user_id, reply_id)  # a press meanwhile does not send a second copy
        assert again.outcome is replies.Outcome.retrying and not again.claimed
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)

        done = await replies.settle(ctx, user_id, reply_id, sleep=sleep)
        assert done.outcome is replies.Outcome.sent and [s.text for s in ig.sent] == ["Let's talk"]
        assert len(waits) == 1 and waits[0] >= 60  # the second throttle's hint was waited out, not hammered
        assert ig.send_attempts == 3


async def test_two_replicas_pressing_at_once_send_one_message(sessions, unique) -> None:
    async with setup(sessions, unique) as (ig, ctx, user_id, _):
        reply_id, _ = await _draft(sessions, user_id, "fresh", "Only once please")
        other = replies.SendContext(sessions=ctx.sessions, gateway=ctx.gateway, redis=ctx.redis, clock=ctx.clock)
        results = await asyncio.gather(*(replies.send(c, user_id, reply_id) for c in (ctx, other, ctx, other)))
        assert sorted(r.outcome.value for r in results).count("sent") == 1
        assert len(ig.sent) == 1 and ig.send_attempts == 1


async def test_unavailable_person_marks_the_contact_once(sessions, unique) -> None:
    async with setup(sessions, unique) as (ig, ctx, user_id, _):
        reply_id, contact = await _draft(sessions, user_id, "fresh", "Hello?")
        ig.fail_send("unavailable")
        result = await replies.send(ctx, user_id, reply_id)
        assert result.outcome is replies.Outcome.unavailable
        async with sessions() as session:
            marked = await session.get(Contact, contact.id)
            kept = await session.get(Reply, reply_id)
        assert marked.reply_unavailable_at is not None and kept.status == "draft" and kept.error == "unavailable"
        window = replies.reply_window(marked, NOW, False)
        assert window.kind is replies.WindowKind.unavailable and not window.can_send
        again = await replies.send(ctx, user_id, reply_id)  # not tried again until they write
        assert again.outcome is replies.Outcome.unavailable and ig.send_attempts == 1


async def test_replies_sent_from_the_instagram_app_show_after_a_sync(sessions, unique) -> None:
    async with setup(sessions, unique) as (ig, _, user_id, client):
        reply_id, contact = await _draft(sessions, user_id, "fresh", "sent from Leadgram")
        ig.add_message("c_fresh", "sent from the app", from_id=ACCOUNT, at=NOW)
        await sync_user(sessions, user_id, client, now=lambda: NOW)
        async with sessions() as session:
            stored = (await session.execute(select(Message).where(Message.contact_id == contact.id)
                                            .order_by(Message.created_at))).scalars().all()
            fresh = await session.get(Contact, contact.id)
        assert stored[-1].text == "sent from the app" and stored[-1].from_creator
        assert fresh.last_message == "sent from the app" and fresh.last_message_from_creator
        # The lead's window still counts from the lead's own message, not the creator's.
        assert fresh.last_lead_message_at == contact.last_lead_message_at
