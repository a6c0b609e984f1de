"""`leadgram eval [--scorer offline|gemini] [--file PATH]`: measure a scorer on the labeled set, print one JSON object.

Figures are given per split (dev: what the offline rules were tuned on; test: held out) and for all cases.
With `--scorer gemini` every conversation is one real model call, paced by GEMINI_RPM.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.clients.gemini import GeminiScorer, Scorer
from core.config import Settings, get_settings
from core.queue import create_queue
from core.rules import DEFAULT_HOT_THRESHOLD, HOT_THRESHOLDS
from core.scoring import OfflineScorer
from core.scoring import evaluation as ev
from leadgram.commands._common import CliError, fail

HELP = "measure the scorer on the labeled conversations (eval/conversations.jsonl) and print one JSON object"
DEFAULT_FILE = Path(__file__).resolve().parents[2] / "eval" / "conversations.jsonl"
EXIT_SETTING = 1


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scorer", choices=("offline", "gemini"), default=None,
                        help="default: gemini when GEMINI_API_KEY is set, else offline")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="a JSONL set (default: the bundled one)")
    parser.add_argument("--split", choices=("dev", "test", "all"), default=None,
                        help="only this split (default: each split present, and all together)")
    parser.add_argument("--threshold", type=int, choices=HOT_THRESHOLDS, default=DEFAULT_HOT_THRESHOLD,
                        help="the creator's hot threshold (default 80)")
    parser.add_argument("--concurrency", type=int, default=4, help="model calls in flight (gemini)")
    parser.add_argument("--misses", type=int, default=0, metavar="N",
                        help="also list up to N dev cases the scorer got wrong")
    parser.add_argument("--price-in", type=float, default=None, help="USD per million input tokens")
    parser.add_argument("--price-out", type=float, default=None, help="USD per million output tokens")


async def run(args: argparse.Namespace) -> int:
    try:
        return await _eval(args)
    except CliError as error:
        return fail(error)


async def _eval(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        cases = ev.load_cases(args.file)
    except ev.EvalFileError as exc:
        raise CliError(f"leadgram eval: {exc}") from None
    if args.split in ("dev", "test"):
        cases = [c for c in cases if c.split == args.split]
        if not cases:
            raise CliError(f"leadgram eval: no {args.split} conversations in {args.file}")
    scorer, name = _scorer(args.scorer, settings)
    queue = await create_queue(settings.redis_url) if isinstance(scorer, GeminiScorer) else None
    try:
        limiter = _limiter(queue, settings) if queue is not None else None
        scored = await ev.score_cases(scorer, cases, args.concurrency if queue is not None else 1, limiter)
    finally:
        if queue is not None:
            await queue.aclose()
    print(json.dumps(_output(args, name, scored), ensure_ascii=False, indent=2))
    return 0 if all(s.result is not None for s in scored) else 1


def _scorer(choice: str | None, settings: Settings) -> tuple[Scorer, str]:
    wanted = choice or ("gemini" if settings.gemini_api_key else "offline")
    if wanted == "offline":
        return OfflineScorer(), "offline"
    if settings.gemini_api_key is None:
        raise CliError("leadgram eval: --scorer gemini needs GEMINI_API_KEY", EXIT_SETTING)
    return GeminiScorer(settings), settings.gemini_model


def _limiter(queue: Any, settings: Settings) -> Any:
    from workers.settings import limiter_for  # the same shared GEMINI_RPM pace the workers use

    return limiter_for(queue, settings)


def _output(args: argparse.Namespace, name: str, scored: list[ev.Scored]) -> dict[str, Any]:
    prices = _prices(args, name)
    groups: dict[str, list[ev.Scored]] = {}
    for s in scored:
        groups.setdefault(s.case.split, []).append(s)
    if args.split is None and len(groups) > 1:
        groups["all"] = scored
    out: dict[str, Any] = {"scorer": name, "file": str(args.file), "threshold": args.threshold,
                           "splits": {k: ev.report(v, args.threshold, name, prices) for k, v in groups.items()}}
    if args.misses > 0:
        out["misses_dev"] = ev.misses(groups.get("dev", []), args.threshold, args.misses)
    return out


def _prices(args: argparse.Namespace, name: str) -> tuple[float, float] | None:
    if name == "offline":
        return None
    known = ev.PRICES_PER_M.get(name, (None, None))
    price_in = args.price_in if args.price_in is not None else known[0]
    price_out = args.price_out if args.price_out is not None else known[1]
    if price_in is None or price_out is None:
        return None  # unknown model and no prices given: no cost estimate rather than a wrong one
    return (price_in, price_out)
