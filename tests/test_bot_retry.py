"""/autoscore when the model keeps failing: the run still completes, counts the failures, and the summary's
retry button rescores exactly the failed contacts once the model is back."""

from __future__ import annotations

import re

import pytest

from core.db import repo
from core.db.engine import transaction
from core.services.connect import connect_token
from core.services.sync import sync_user
from standins.gemini import GeminiStandin
from standins.ig_data import synthetic
from standins.instagram import InstagramStandin
from tests.bot_harness import bot_world

pytestmark = pytest.mark.timeout(180)


async def test_failed_contacts_counted_then_retried(db_url, sessions, redis_url, unique) -> None:
    from core.clients.instagram import IgAccount, InstagramClient
    from core.crypto import TokenCipher

    async with InstagramStandin(synthetic(3, 2)) as ig:
        async with transaction(sessions) as s:
            user = await repo.ensure_user(s, 1010, 1010)
            user.onboarding_step = "done"
            await connect_token(s, user.id, IgAccount(ig.data.account_id, ig.data.username), ig.token, TokenCipher("x"))
        import httpx

        async with httpx.AsyncClient() as http:
            client = InstagramClient(http, ig.token, base=ig.base_url, version="v21.0")
            assert (await sync_user(sessions, user.id, client)).new_contacts == 3

    async with GeminiStandin(script=["500"] * 10_000) as gem, bot_world(
        db_url, sessions, redis_url, unique, gemini_api_key="test-key", gemini_base_url=gem.base_url,
        gemini_rpm=6000, gemini_timeout_s=5,
    ) as world:
        eve = world.user(1010)
        progress = await world.say(eve, "/autoscore", "scored", timeout=20)
        mid = progress.message_id
        await eve.wait_for(lambda: "Scoring finished" in eve.message(mid).text, timeout=120)
        summary = eve.message(mid)
        assert "0 scored · 3 failed" in summary.text and "Last error" in summary.text
        # Every progress line counted honestly: processed, of which none scored (never "2/3 scored").
        shown = [str(c.params.get("text", "")) for c in world.tg.calls if c.ok
                 and c.method in ("sendMessage", "editMessageText") and "⏳" in str(c.params.get("text", ""))]
        assert shown and all(re.search(r"\d+/3 processed · 0 scored", text) for text in shown), shown
        retry = next(t for row in summary.buttons for t, _ in row if t.startswith("🔁 Retry"))
        assert retry == "🔁 Retry 3 failed"

        gem.script.clear()  # the model is back
        calls = len(gem.requests)
        await eve.press(mid, retry)
        again = await world.new_message(eve, mid, "scored", timeout=20)
        await eve.wait_for(lambda: "Scoring finished" in eve.message(again.message_id).text, timeout=60)
        assert "3 scored · 0 failed" in eve.message(again.message_id).text
        assert len(gem.requests) - calls == 3
        async with sessions() as s:
            page = await repo.list_contacts(s, user.id)
            assert all(c.lead_score is not None for c in page.contacts)
        await world.tg.wait_idle()
        assert world.tg.errors == [], [e.description for e in world.tg.errors]
        assert world.tg.unanswered_callbacks == []
