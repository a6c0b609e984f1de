"""Measure a scorer on a labeled set of conversations (eval/conversations.jsonl): one JSON-able report.

Each line of the set is one conversation: `id`, `split` (dev|test), `niche`, `goal`, `label`
(hot|cold|ghosted|unsure), `band` ([lo, hi], the score a careful person would give), `kind`
(lead|spam|scam|injection), `note`, and `messages` oldest first, each `{"from": "lead"|"creator",
"ago_min": minutes before now, "text": ..., "attachment": Graph kind or null}`.

A lead counts as hot the way the product shows it: score >= the creator's threshold. A "hot" sentiment below
the threshold is displayed as unsure, so it is scored as unsure here too.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core import rules
from core.clients.gemini import SYSTEM_INSTRUCTION, ScoreError, ScoreInput, Scorer, ScoreResult, Turn, build_prompt
from core.ratelimit import RateLimiter, TooFarAhead
from core.rules import DEFAULT_HOT_THRESHOLD, Sentiment
from core.timeutil import utcnow

LABELS = tuple(s.value for s in Sentiment)
ABUSE_KINDS = ("spam", "scam", "injection")
KINDS = ("lead", *ABUSE_KINDS)
DEFAULT_THRESHOLD = DEFAULT_HOT_THRESHOLD
# USD per million tokens (Google AI paid tier, text). Thinking tokens are billed as output.
PRICES_PER_M: dict[str, tuple[float, float]] = {
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.5-pro": (1.25, 10.00),
}


class EvalFileError(ValueError):
    """The set cannot be read; the message names the line and what is wrong."""


@dataclass(frozen=True)
class Case:
    id: str
    split: str
    label: str
    band: tuple[int, int]
    kind: str
    note: str
    data: ScoreInput


@dataclass(frozen=True)
class Scored:
    case: Case
    result: ScoreResult | None  # None: the scorer failed on this case
    error: str | None = None
    failed_tokens_in: int = 0  # tokens billed for calls that failed (cut, blocked, malformed): they cost too
    failed_tokens_out: int = 0


# ---------------------------------------------------------------- reading the set


def load_cases(path: Path, now: datetime | None = None) -> list[Case]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvalFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    at = now or utcnow()
    cases = [_case(line, n, at) for n, line in enumerate(lines, 1) if line.strip()]
    if not cases:
        raise EvalFileError(f"{path}: no conversations in the file")
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise EvalFileError(f"{path}: id {case.id!r} appears twice")
        seen.add(case.id)
    return cases


def _case(line: str, n: int, now: datetime) -> Case:
    try:
        raw = json.loads(line)
    except ValueError:
        raise EvalFileError(f"line {n}: not valid JSON") from None
    if not isinstance(raw, dict):
        raise EvalFileError(f"line {n}: expected a JSON object")
    label, kind, band = raw.get("label"), raw.get("kind", "lead"), raw.get("band")
    if label not in LABELS:
        raise EvalFileError(f"line {n}: label must be one of {', '.join(LABELS)}")
    if kind not in KINDS:
        raise EvalFileError(f"line {n}: kind must be one of {', '.join(KINDS)}")
    if not (isinstance(band, list) and len(band) == 2 and all(isinstance(b, int) for b in band)
            and 0 <= band[0] <= band[1] <= 100):
        raise EvalFileError(f"line {n}: band must be [low, high] with 0 <= low <= high <= 100")
    turns = [_turn(m, n, now) for m in _list(raw.get("messages"), n)]
    turns.sort(key=lambda t: t.at)
    data = ScoreInput(_opt_str(raw.get("niche")), _opt_str(raw.get("goal")), turns, now)
    return Case(str(raw.get("id") or f"line{n}"), str(raw.get("split") or "dev"), label, (band[0], band[1]),
                kind, str(raw.get("note") or ""), data)


def _list(value: Any, n: int) -> list[Any]:
    if not isinstance(value, list):
        raise EvalFileError(f"line {n}: messages must be a list")
    return value


def _turn(raw: Any, n: int, now: datetime) -> Turn:
    if not isinstance(raw, dict) or raw.get("from") not in ("lead", "creator"):
        raise EvalFileError(f"line {n}: each message needs \"from\": \"lead\" or \"creator\"")
    ago = raw.get("ago_min")
    if not isinstance(ago, int) or isinstance(ago, bool) or ago < 0:
        raise EvalFileError(f"line {n}: each message needs ago_min, a whole number of minutes >= 0")
    text = raw.get("text") or ""
    if not isinstance(text, str):
        raise EvalFileError(f"line {n}: a message text must be a string")
    return Turn(raw["from"] == "creator", text, now - timedelta(minutes=ago), _opt_str(raw.get("attachment")))


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------- scoring the set


async def score_cases(scorer: Scorer, cases: Sequence[Case], concurrency: int = 1,
                      limiter: RateLimiter | None = None, tries: int = 3) -> list[Scored]:
    """Score every case (at most `concurrency` at once, paced by `limiter`); a case that keeps failing is kept
    as a failure, so one bad answer does not lose the measurement of the others."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(case: Case) -> Scored:
        async with gate:
            return await _score_with_retries(scorer, case, limiter, tries)

    return list(await asyncio.gather(*(one(c) for c in cases)))


async def _score_with_retries(scorer: Scorer, case: Case, limiter: RateLimiter | None, tries: int) -> Scored:
    error, spent_in, spent_out = "", 0, 0
    for attempt in range(1, tries + 1):
        try:
            if limiter is not None:
                await _acquire(limiter)
            result = await scorer.score(case.data)
            return Scored(case, result, None, spent_in, spent_out)
        except ScoreError as exc:
            error = str(exc)
            spent_in += int(getattr(exc, "tokens_in", 0) or 0)
            spent_out += int(getattr(exc, "tokens_out", 0) or 0)
            if not exc.retryable:
                break
            await asyncio.sleep(min(30.0, 0.5 * 2 ** attempt))
    return Scored(case, None, error, spent_in, spent_out)


async def _acquire(limiter: RateLimiter) -> None:
    while True:
        try:
            return await limiter.acquire(60.0)
        except TooFarAhead as exc:
            await asyncio.sleep(exc.wait_s)


# ---------------------------------------------------------------- metrics


def shown_sentiment(result: ScoreResult, threshold: int) -> str:
    """What the creator sees (core/rules.py): hot iff score >= threshold; a "hot" below it shows as unsure."""
    return rules.shown_sentiment(result.sentiment, result.score, threshold) or Sentiment.unsure.value


def report(scored: Sequence[Scored], threshold: int = DEFAULT_THRESHOLD, model: str | None = None,
           prices: tuple[float, float] | None = None) -> dict[str, Any]:
    """The figures for one split: sentiment quality, hot precision/recall, score calibration, abuse, tokens."""
    ok = [s for s in scored if s.result is not None]
    pairs = [(s.case.label, shown_sentiment(s.result, threshold)) for s in ok if s.result]
    per_class = {label: _prf(pairs, label) for label in LABELS}
    hot = _prf([("hot" if t == "hot" else "-", "hot" if p == "hot" else "-") for t, p in pairs], "hot")
    scores = [s.result.score for s in ok if s.result]
    mids = [(s.case.band[0] + s.case.band[1]) / 2 for s in ok]
    abuse = [s for s in ok if s.case.kind in ABUSE_KINDS and s.result]
    tokens_in = sum(s.result.tokens_in for s in ok if s.result)
    tokens_out = sum(s.result.tokens_out for s in ok if s.result)  # answer + thinking (both billed as output)
    thinking = sum(getattr(s.result, "tokens_thinking", 0) for s in ok if s.result)
    wasted_in = sum(s.failed_tokens_in for s in scored)
    wasted_out = sum(s.failed_tokens_out for s in scored)
    out: dict[str, Any] = {
        "conversations": len(scored), "failed": len(scored) - len(ok),
        "macro_f1": _macro_f1(pairs, per_class),
        "per_class": per_class,
        "hot_precision": hot["precision"], "hot_recall": hot["recall"],
        "score_in_band": _r(_share(s.case.band[0] <= s.result.score <= s.case.band[1] for s in ok if s.result)),
        "spearman_score_vs_band": _r(spearman(scores, mids)),
        "abuse_cases": len(abuse),
        "abuse_scored_hot": sum(1 for s in abuse if s.result and rules.is_hot(s.result.score, threshold)),
        "abuse_scored_90_plus": sum(1 for s in abuse if s.result and s.result.score >= 90),
        "distinct_scores": len(set(scores)),
        "tokens_in_per_conversation": _r(tokens_in / len(ok)) if ok else 0.0,
        "tokens_out_per_conversation": _r(tokens_out / len(ok)) if ok else 0.0,
        "thinking_tokens_per_conversation": _r(thinking / len(ok)) if ok else 0.0,
        "tokens_in_failed_calls": wasted_in, "tokens_out_failed_calls": wasted_out,
        "prompt_tokens_estimate_per_conversation": _r(_prompt_estimate([s.case for s in scored])),
        "confusion": _confusion(pairs),
    }
    if prices is not None:
        # every billed token counts, the failed calls' too
        cost = ((tokens_in + wasted_in) * prices[0] + (tokens_out + wasted_out) * prices[1]) / 1_000_000
        out["cost_usd"] = round(cost, 6)
        out["cost_usd_per_1000_conversations"] = round(cost / len(ok) * 1000, 4) if ok else 0.0
        out["prices_usd_per_million_tokens"] = {"model": model, "input": prices[0], "output": prices[1]}
    return out


def misses(scored: Iterable[Scored], threshold: int, limit: int) -> list[dict[str, Any]]:
    """The cases the scorer got wrong (label or band), for reading; never used to compute a figure."""
    out: list[dict[str, Any]] = []
    for s in scored:
        got = shown_sentiment(s.result, threshold) if s.result else "failed"
        score = s.result.score if s.result else None
        if got != s.case.label or score is None or not s.case.band[0] <= score <= s.case.band[1]:
            out.append({"id": s.case.id, "label": s.case.label, "band": list(s.case.band), "got": got,
                        "score": score, "reason": s.result.reason if s.result else s.error, "note": s.case.note})
    return out[:limit]


def _prf(pairs: Sequence[tuple[str, str]], label: str) -> dict[str, Any]:
    tp = sum(1 for t, p in pairs if t == label and p == label)
    predicted = sum(1 for _, p in pairs if p == label)
    support = sum(1 for t, _ in pairs if t == label)
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": _r(precision), "recall": _r(recall), "f1": _r(f1), "support": support}


def _macro_f1(pairs: Sequence[tuple[str, str]], per_class: dict[str, dict[str, Any]]) -> float:
    """Mean F1 over the sentiments that occur in the labels or the answers (a split without ghosted leads
    is not marked down for them)."""
    present = {label for pair in pairs for label in pair}
    f1s = [per_class[label]["f1"] for label in LABELS if label in present]
    return _r(sum(f1s) / len(f1s)) if f1s else 0.0


def _confusion(pairs: Sequence[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """labeled -> shown -> count."""
    return {t: {p: sum(1 for a, b in pairs if (a, b) == (t, p)) for p in LABELS} for t in LABELS}


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rho with average ranks for ties (Pearson correlation of the ranks)."""
    if len(xs) < 2:
        return 0.0
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = math.sqrt(sum((a - mx) ** 2 for a in rx))
    vy = math.sqrt(sum((b - my) ** 2 for b in ry))
    return cov / (vx * vy) if vx and vy else 0.0


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _prompt_estimate(cases: Sequence[Case]) -> float:
    """Input tokens Gemini would get, as ceil(chars / 4) (what the stand-in counts): known for any scorer."""
    if not cases:
        return 0.0
    system = math.ceil(len(SYSTEM_INSTRUCTION) / 4)
    return sum(system + math.ceil(len(build_prompt(c.data)) / 4) for c in cases) / len(cases)


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0


def _r(value: float) -> float:
    return round(value, 3)
