"""`leadgram score [--all] [--user ID]`: one scoring pass with a progress bar and a summary.

Without REDIS_URL the jobs run on an in-process arq worker (fakeredis); with REDIS_URL they go to the
`leadgram worker` processes and this command waits for the run to finish. Progress is read from the DB.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from arq.constants import default_queue_name

from core.config import get_settings
from core.db.models import ScoringRun
from core.queue import create_queue, is_fake, make_worker, running
from core.services import scoring
from leadgram.commands._common import CliError, add_user_arg, database, fail, resolve_user, who

HELP = "tag and score contacts with Gemini (or the offline rules without GEMINI_API_KEY)"
BAR = 30


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="rescore every contact, not only new or changed ones")
    parser.add_argument("--queue", default=default_queue_name, help=argparse.SUPPRESS)
    add_user_arg(parser)


async def run(args: argparse.Namespace) -> int:
    try:
        return await _score(args)
    except CliError as error:
        return fail(error)


async def _score(args: argparse.Namespace) -> int:
    from leadgram.wiring import worker_hooks

    settings = get_settings()
    async with database(settings) as sessions:
        user = await resolve_user(sessions, args.user)
        queue = await create_queue(settings.redis_url, args.queue)
        worker = None
        if is_fake(queue):
            _quiet_worker_logs(settings.log_level)
            hooks = worker_hooks()
            worker = make_worker(queue, hooks["functions"], on_startup=hooks["on_startup"],
                                 on_shutdown=hooks["on_shutdown"], ctx={"settings": settings, "sessions": sessions},
                                 poll_delay=0.05)
        try:
            if worker is not None:
                async with running(worker):
                    final = await _pass(sessions, queue, user.id, "all" if args.all else "unscored")
            else:
                final = await _pass(sessions, queue, user.id, "all" if args.all else "unscored")
        finally:
            await queue.aclose()
    print(f"scoring for {who(user)}: {summary(final)}")
    return 0 if final.failed == 0 else 1


async def _pass(sessions: Any, queue: Any, user_id: int, scope: str) -> ScoringRun:
    started = await scoring.start_run(sessions, queue, user_id, scope=scope)
    while True:
        async with sessions() as session:
            current = await scoring.get_run(session, user_id, started.id)
        assert current is not None
        _bar(current)
        if current.status == "done":
            if current.total:
                sys.stderr.write("\n")
            return current
        await asyncio.sleep(0.2)


def _quiet_worker_logs(level: str) -> None:
    """The in-process worker would log a line per job through the progress bar: the bar is the report here."""
    if level.upper() != "DEBUG":
        logging.getLogger("arq").setLevel(logging.WARNING)


def _bar(run: ScoringRun) -> None:
    if not run.total:  # nothing to do: the summary line says so, an empty bar says nothing
        return
    finished = run.done + run.failed + run.skipped
    filled = BAR * finished // run.total if run.total else BAR
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {finished}/{run.total}")
    sys.stderr.flush()


def summary(run: ScoringRun) -> str:
    return (f"{run.done} scored, {run.failed} failed, {run.skipped} skipped, {run.hot_found} hot leads found, "
            f"tokens used {run.tokens_in} in / {run.tokens_out} out")
