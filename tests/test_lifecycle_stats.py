"""/stats: per stage and per sentiment, this week against last week (core counts checked against the rows; the
bot's message through the Telegram stand-in carries them)."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import select, update

from bot.charts import drawable, stats_chart
from core.db import repo
from core.db.models import Contact
from core.rules import STAGE_KEYS, shown_sentiment
from core.services import shelf, stages
from core.services.stats import Row, Stats, stats
from core.timeutil import as_utc, utcnow
from standins.telegram import Upload
from tests.bot_harness import bot_world
from tests.test_lifecycle_stages import scored_demo

pytestmark = pytest.mark.timeout(180)


async def test_stats_per_stage_and_sentiment_this_week_vs_last(db_url, sessions, redis_url, unique) -> None:
    async with bot_world(db_url, sessions, redis_url, unique) as world:
        ann, uid = await scored_demo(world, 1431)
        now = utcnow()
        async with sessions() as s:
            user = await repo.get_user(s, 1431)
            assert user is not None
            ids = list((await s.execute(select(Contact.id).where(Contact.user_id == uid).order_by(Contact.id)))
                       .scalars())
            for cid in ids[:3]:
                assert isinstance(await stages.set_stage(s, user, cid, "won"), stages.StageSet)
            # One of them was won 10 days ago: last week, not this week.
            ten_days = now - timedelta(days=10)
            await s.execute(update(Contact).where(Contact.id == ids[0]).values(stage_changed_at=ten_days))
            await s.commit()
            assert isinstance(await shelf.shelve(s, user, ids[5], "spam"), shelf.Shelved)
            got = await stats(s, user, now)
            rows = list((await s.execute(select(Contact).where(Contact.user_id == uid))).scalars())

        listed = [c for c in rows if c.shelf is None]
        assert got.total == len(listed) and got.shelves == {"spam": 1, "archived": 0}
        by_stage = {r.key: r for r in got.stages}
        assert list(by_stage) == list(STAGE_KEYS)
        for key in STAGE_KEYS:
            assert by_stage[key].now == sum(1 for c in listed if c.stage == key), key

        def week(c: Contact, back: int) -> bool:
            at = as_utc(c.stage_changed_at or c.created_at)
            return now - timedelta(days=7 * (back + 1)) <= at and (back == 0 or at < now - timedelta(days=7 * back))

        won = [c for c in listed if c.stage == "won"]
        assert by_stage["won"].this_week == sum(1 for c in won if week(c, 0)) >= 2
        assert by_stage["won"].last_week == sum(1 for c in won if week(c, 1)) >= 1
        for row in got.sentiments:
            shown = [c for c in listed
                     if shown_sentiment(c.sentiment, c.lead_score, 80, c.stage, c.shelf) == row.key]
            assert row.now == len(shown), row.key
            assert row.this_week == sum(1 for c in shown if c.last_message_at
                                        and as_utc(c.last_message_at) >= now - timedelta(days=7)), row.key
        assert sum(r.now for r in got.sentiments) == len(listed)

        shown_msg = await world.say(ann, "/stats", "Your leads")
        assert f"{got.total} in the list" in shown_msg.text
        assert f"won · {by_stage['won'].now} · " in shown_msg.text
        # 📈: the same numbers as a picture, a PNG with a caption naming every numbered bar.
        await ann.press(shown_msg.message_id, "📈 Chart: this week vs last")
        photo = await world.new_message(ann, shown_msg.message_id, "This week against last week")
        assert photo.kind == "photo" and isinstance(photo.photo, Upload)
        with Image.open(BytesIO(photo.photo.data)) as image:
            assert image.format == "PNG" and image.size[0] >= 600
        assert all(r.label in photo.text for r in got.stages + got.sentiments)
        await world.tg.wait_idle()
        assert world.tg.errors == [], [(e.method, e.error) for e in world.tg.errors]


def test_chart_draws_any_names_and_empty_weeks() -> None:
    """Names the font cannot draw (other scripts, emoji, markup) and all-zero weeks still make a PNG."""
    rows = [Row("new", "новые 🆕 <b>", 0, 0, 0), Row("c5", "x" * 200, 3, 2, 5), Row("won", "won", 1, 0, 0)]
    png = stats_chart(Stats(rows, [Row(None, "not scored", 0, 0, 0)], {"spam": 0, "archived": 0}, 4))
    with Image.open(BytesIO(png)) as image:
        assert image.format == "PNG"
    assert not drawable("новые") and drawable("offer sent")
