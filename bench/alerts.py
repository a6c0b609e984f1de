"""How fast does a buyer's DM become a push alert? Prints ONE JSON object.

The split deployment on this machine (2 `leadgram worker` + 1 `leadgram scheduler`, real Redis, a private
PostgreSQL database) with SYNC_INTERVAL_MINUTES = 10 s and the Gemini stand-in answering in 1 s. For each
trial a new "how much is it?" DM appears in the Instagram stand-in at a random point of the sync interval;
we time until the alert reaches the Telegram stand-in. Also: alert messages per hot transition (must be 1.0).

    .venv/bin/python bench/alerts.py [--trials 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from core.clients.instagram import IgAccount  # noqa: E402
from core.crypto import TokenCipher  # noqa: E402
from core.db import repo  # noqa: E402
from core.db.engine import make_engine, make_sessionmaker, transaction  # noqa: E402
from core.db.models import Alert, Contact  # noqa: E402
from core.services.connect import connect_token  # noqa: E402
from standins.ig_data import synthetic  # noqa: E402
from standins.instagram import InstagramStandin  # noqa: E402
from standins.telegram import TelegramStandin  # noqa: E402
from tests.split_harness import REDIS_URL, private_database, processes, wait_for  # noqa: E402

CHAT = 8001
SECRET = "bench-secret"
INTERVAL_S = 10.0
GEMINI_LATENCY_S = 1.0
TARGET_S = 15.0


async def bench(trials: int) -> dict[str, object]:
    from standins.gemini import GeminiStandin

    redis_url = REDIS_URL.rsplit("/", 1)[0] + f"/{random.randint(3, 15)}"
    redis = Redis.from_url(redis_url)
    async with (private_database() as db_url, InstagramStandin(synthetic(trials + 2, 3)) as ig,
                TelegramStandin() as tg, GeminiStandin(latency=GEMINI_LATENCY_S) as gemini):
        tg.user(CHAT)
        engine = make_engine(db_url)
        sessions = make_sessionmaker(engine)
        async with transaction(sessions) as s:
            user = await repo.ensure_user(s, telegram_id=CHAT, chat_id=CHAT)
            user.onboarding_step, uid = "done", user.id
            await connect_token(s, user.id, IgAccount(ig.data.account_id, ig.data.username), ig.token,
                                TokenCipher(SECRET))
        env = {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET, "IG_API_BASE": ig.base_url,
               "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE": tg.base_url, "GEMINI_API_KEY": "standin",
               "GEMINI_BASE_URL": gemini.base_url, "GEMINI_RPM": "600",
               "SYNC_INTERVAL_MINUTES": str(INTERVAL_S / 60), "LOG_LEVEL": "WARNING"}

        async def all_scored() -> bool:
            async with sessions() as s:
                n = await s.execute(select(func.count()).where(Contact.user_id == uid, Contact.scored_at.is_(None)))
                return int(n.scalar_one()) == 0 and int((await s.execute(
                    select(func.count()).where(Contact.user_id == uid))).scalar_one()) > 0

        latencies: list[float] = []
        try:
            with tempfile.TemporaryDirectory() as logs:
                async with processes(env, Path(logs), workers=2, schedulers=1) as procs:
                    await wait_for(all_scored, 120, "the first sync and scoring", procs)
                    before = len(tg.user(CHAT).chat)
                    for trial in range(trials):
                        await asyncio.sleep(random.uniform(0, INTERVAL_S))  # a random phase of the sync slot
                        conv = ig.data.conversations[trial]
                        ig.add_message(conv.id, "how much is it?")
                        start = time.monotonic()
                        want = before + trial + 1

                        async def arrived(want: int = want) -> bool:
                            return len(tg.user(CHAT).chat) >= want

                        await wait_for(arrived, 60, f"alert {trial + 1}", procs, step=0.05)
                        latencies.append(round(time.monotonic() - start, 2))
                    await asyncio.sleep(2 * INTERVAL_S)  # would a duplicate alert still arrive?
                    messages = len(tg.user(CHAT).chat) - before
            async with sessions() as s:
                transitions = int((await s.execute(select(func.count()).select_from(Alert))).scalar_one())
        finally:
            await engine.dispose()
            keys = [k async for k in redis.scan_iter(match="arq:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
    return {
        "bench": "dm_to_alert", "sync_interval_s": INTERVAL_S, "gemini_latency_s": GEMINI_LATENCY_S,
        "workers": 2, "schedulers": 1, "trials": trials, "dm_to_alert_s": latencies,
        "dm_to_alert_mean_s": round(sum(latencies) / len(latencies), 2), "dm_to_alert_max_s": max(latencies),
        "target_s": TARGET_S, "within_target": max(latencies) <= TARGET_S,
        "alerts_per_transition": round(messages / transitions, 3) if transitions else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.trials))))


if __name__ == "__main__":
    main()
