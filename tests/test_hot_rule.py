"""The one definition of a hot lead (core/rules.py): score >= the creator's threshold. The list filter, /hot,
alerts and the export agree on it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ContactCb
from bot.notifier import hot_list_callback
from core.db import repo
from core.db.engine import transaction
from core.db.models import Contact, User
from core.db.repo import ContactQuery, Filter, Sort
from core.jobs import enqueue_alerts
from core.rules import is_hot, shown_sentiment
from core.services import alerts
from core.services.export import contacts_csv
from standins.telegram import Message
from tests.bot_harness import bot_world

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # outside the default quiet hours (22:00-08:00 UTC)


def test_hot_is_the_score_against_the_threshold() -> None:
    assert [is_hot(s, 80) for s in (None, 0, 79, 80, 100)] == [False, False, False, True, True]
    assert is_hot(65, 60) and not is_hot(65, 70)


def test_model_sentiment_alone_is_not_hot() -> None:
    assert shown_sentiment("hot", 50, 80) == "unsure"
    assert shown_sentiment("unsure", 90, 80) == "hot"
    assert shown_sentiment("cold", 10, 80) == "cold"
    assert shown_sentiment(None, None, 80) is None


async def _creator(sessions: async_sessionmaker[AsyncSession], threshold: int = 80) -> int:
    async with transaction(sessions) as s:
        user = await repo.ensure_user(s, telegram_id=5001, chat_id=5001)
        user.alert_threshold = threshold
        return user.id


async def _scored(sessions: async_sessionmaker[AsyncSession], uid: int, ig: str, sentiment: str, score: int) -> int:
    """A contact as the scoring job leaves it: score written, then the hot transition recorded."""
    async with transaction(sessions) as s:
        user = await s.get(User, uid)
        assert user is not None
        contact = Contact(user_id=uid, instagram_id=ig, name=ig, tags=[])
        s.add(contact)
        await s.flush()
        contact.sentiment, contact.lead_score, contact.score_source = sentiment, score, "ai"
        await alerts.on_scored(s, user, contact, None)
        return contact.id


async def _hot_ids(sessions: async_sessionmaker[AsyncSession], uid: int) -> list[int]:
    async with sessions() as s:
        user = await s.get(User, uid)
        assert user is not None
        query = ContactQuery(Filter.hot, Sort.score, hot_threshold=user.alert_threshold)
        return [c.id for c in (await repo.list_contacts(s, uid, 1, query)).contacts]


async def test_a_lead_scored_90_unsure_is_alerted_and_in_the_hot_list(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    uid = await _creator(sessions)
    lead = await _scored(sessions, uid, "a", "unsure", 90)
    claim = await alerts.claim_due(sessions, uid, NOON)
    assert [i.contact_id for i in claim.items] == [lead]
    assert await _hot_ids(sessions, uid) == [lead]


async def test_a_model_hot_below_the_threshold_is_neither_alerted_nor_listed(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    uid = await _creator(sessions)
    await _scored(sessions, uid, "a", "hot", 60)
    assert (await alerts.claim_due(sessions, uid, NOON)).items == ()
    assert await _hot_ids(sessions, uid) == []


async def test_the_hot_list_follows_the_creators_threshold(sessions: async_sessionmaker[AsyncSession]) -> None:
    uid = await _creator(sessions, threshold=60)
    lead = await _scored(sessions, uid, "a", "cold", 65)
    assert await _hot_ids(sessions, uid) == [lead]
    async with transaction(sessions) as s:
        user = await s.get(User, uid)
        assert user is not None
        user.alert_threshold = 70
    assert await _hot_ids(sessions, uid) == []


async def test_a_manual_score_of_25_takes_a_lead_out_of_hot(sessions: async_sessionmaker[AsyncSession]) -> None:
    uid = await _creator(sessions)
    lead = await _scored(sessions, uid, "b", "hot", 92)
    assert await _hot_ids(sessions, uid) == [lead]
    async with transaction(sessions) as s:
        assert await repo.set_manual_score(s, uid, lead, 25)
    assert await _hot_ids(sessions, uid) == []
    async with sessions() as s:
        contact = await repo.get_contact(s, uid, lead)
        assert contact is not None
        assert shown_sentiment(contact.sentiment, contact.lead_score, 80) == "unsure"
    assert (await alerts.claim_due(sessions, uid, NOON)).items == ()  # its pending alert is stale


async def test_export_marks_hot_by_the_same_rule(sessions: async_sessionmaker[AsyncSession]) -> None:
    uid = await _creator(sessions)
    hot = await _scored(sessions, uid, "a", "unsure", 90)
    not_hot = await _scored(sessions, uid, "b", "hot", 50)
    async with sessions() as s:
        user = await s.get(User, uid)
        assert user is not None
        data, _ = await contacts_csv(s, user, full=True)  # ids and `hot` are in the full export
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8").removeprefix("\ufeff"))))
    by_id = {int(r["id"]): r for r in rows}
    assert (by_id[hot]["hot"], by_id[hot]["sentiment"]) == ("true", "hot")
    assert (by_id[not_hot]["hot"], by_id[not_hot]["sentiment"]) == ("false", "unsure")


async def test_the_alerts_hot_list_button_shows_the_alerted_lead(
        db_url: str, sessions: async_sessionmaker[AsyncSession], redis_url: str, unique: str) -> None:
    """End to end: a lead scored 90 with sentiment "unsure" is in the digest, and "All hot leads" lists it."""
    async with bot_world(db_url, sessions, redis_url, unique) as world:
        ann = world.user(5001)
        await world.say(ann, "/start", "niche")
        async with transaction(sessions) as s:
            user = await repo.get_user(s, 5001)
            assert user is not None
            user.quiet_start_hour = user.quiet_end_hour = 0
            uid = user.id
        unsure = await _scored(sessions, uid, "ig-unsure-90", "unsure", 90)
        hot = await _scored(sessions, uid, "ig-hot-95", "hot", 95)
        after = max(m.message_id for m in ann.chat)
        await enqueue_alerts(world.app.deps.queue, uid)

        def pushed() -> Message | None:
            return next((m for m in ann.chat if m.message_id > after and _has(m, hot_list_callback())), None)

        alert: Message = await ann.wait_for(pushed, timeout=20)
        await ann.press_raw(alert.message_id, hot_list_callback())

        def listed() -> Message | None:
            return next((m for m in ann.chat if m.message_id > alert.message_id and _cards(m)), None)

        hot_list: Message = await ann.wait_for(listed, timeout=20)
        assert _cards(hot_list) == [hot, unsure]


def _has(message: Message, data: str) -> bool:
    return any(d == data for row in message.buttons for _, d in row)


def _cards(message: Message) -> list[int]:
    cards = [ContactCb.unpack(d) for row in message.buttons for _, d in row if d and d.startswith("c:")]
    return [c.id for c in cards if c.a == "card"]
