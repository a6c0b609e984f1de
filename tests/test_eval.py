"""`leadgram eval` end to end as a subprocess: the offline rules, and Gemini through its stand-in over real HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from core.scoring.evaluation import load_cases, spearman
from standins.gemini import GeminiStandin

LEADGRAM = str(Path(sys.executable).with_name("leadgram"))
CLEARED = ("REDIS_URL", "GEMINI_API_KEY", "GEMINI_BASE_URL", "GEMINI_MODEL")


def convo(cid: str, split: str, label: str, band: list[int], lead: str, kind: str = "lead",
          creator_days_ago: int | None = None) -> dict[str, Any]:
    messages = [{"from": "lead", "ago_min": 9 * 1440 if creator_days_ago else 60, "text": lead, "attachment": None}]
    if creator_days_ago:
        messages.append({"from": "creator", "ago_min": creator_days_ago * 1440, "text": "Here is the info!",
                         "attachment": None})
    return {"id": cid, "split": split, "niche": "fitness coach", "goal": "sell my program", "label": label,
            "band": band, "kind": kind, "note": "test", "messages": messages}


# What the Gemini stand-in answers: buying words -> hot 88, a few words -> cold 20, else unsure 50.
SMALL = [
    convo("d1", "dev", "hot", [80, 100], "how much is the program? I want to book"),
    convo("d2", "dev", "cold", [0, 30], "ok"),
    convo("d3", "dev", "unsure", [40, 70], "tell me more about what the coaching involves please"),
    convo("d4", "dev", "cold", [0, 10], "buy bitcoin now and earn 5000 dollars every week guaranteed", "spam"),
    convo("t1", "test", "hot", [80, 100], "is the ring available? I would like to buy it"),
    convo("t2", "test", "ghosted", [10, 40], "what do you offer for beginners exactly", creator_days_ago=8),
]


def write(tmp: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp / "small.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


async def leadgram(tmp: Path, *args: str, **env: str) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    base.update(LOG_LEVEL="WARNING", **env)
    proc = await asyncio.create_subprocess_exec(
        LEADGRAM, *args, cwd=tmp, env=base, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_eval_through_the_gemini_standin_measures_what_it_answers(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL)
    async with GeminiStandin(script=["malformed"]) as gem:  # one cut answer: retried, and its tokens billed
        code, out, err = await leadgram(tmp_path, "eval", "--scorer", "gemini", "--file", str(path),
                                        GEMINI_API_KEY="k", GEMINI_BASE_URL=gem.base_url, GEMINI_RPM="6000")
    assert code == 0, err
    assert len(gem.requests) == 7  # one real HTTP call per conversation, one retry
    report = json.loads(out)
    assert report["scorer"] == "gemini-2.5-flash" and set(report["splits"]) == {"dev", "test", "all"}
    dev, test = report["splits"]["dev"], report["splits"]["test"]
    assert (dev["conversations"], dev["failed"], test["conversations"]) == (4, 0, 2)
    assert (dev["hot_precision"], dev["hot_recall"]) == (0.5, 1.0)  # the spammer's "buy" fooled it
    assert (dev["abuse_cases"], dev["abuse_scored_hot"], dev["abuse_scored_90_plus"]) == (1, 1, 0)
    assert dev["score_in_band"] == 0.75 and dev["macro_f1"] == 0.778
    assert dev["per_class"]["cold"] == {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 2}
    assert test["per_class"]["ghosted"]["recall"] == 0.0 and test["confusion"]["ghosted"]["unsure"] == 1
    assert dev["tokens_in_per_conversation"] > 0 and dev["cost_usd"] > 0
    assert dev["prices_usd_per_million_tokens"]["model"] == "gemini-2.5-flash"
    everyone = report["splits"]["all"]
    assert everyone["failed"] == 0 and everyone["tokens_in_failed_calls"] > 0  # the retried call cost tokens too


async def test_eval_offline_end_to_end(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL)
    code, out, err = await leadgram(tmp_path, "eval", "--scorer", "offline", "--file", str(path), "--misses", "9")
    assert code == 0, err
    report = json.loads(out)
    assert report["scorer"] == "offline" and report["threshold"] == 80
    dev = report["splits"]["dev"]
    assert dev["conversations"] == 4 and dev["tokens_in_per_conversation"] == 0 and "cost_usd" not in dev
    assert dev["abuse_scored_hot"] == 0  # "buy" next to a money promise is spam, not a buyer
    assert all(m["id"].startswith("d") for m in report["misses_dev"])  # misses come from dev only
    code, out, _ = await leadgram(tmp_path, "eval", "--scorer", "offline", "--file", str(path), "--split", "test")
    assert code == 0 and set(json.loads(out)["splits"]) == {"test"}


async def test_eval_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(SMALL[0]) + "\n" + json.dumps({**SMALL[1], "label": "warm"}) + "\n")
    code, out, err = await leadgram(tmp_path, "eval", "--scorer", "offline", "--file", str(bad))
    assert code == 2 and out == "" and "line 2" in err and "label must be one of" in err
    assert "Traceback" not in err and "EvalFileError" not in err
    code, _, err = await leadgram(tmp_path, "eval", "--scorer", "offline", "--file", str(tmp_path / "none.jsonl"))
    assert code == 2 and "no such file" in err and "Traceback" not in err
    code, _, err = await leadgram(tmp_path, "eval", "--scorer", "gemini", "--file", str(bad))
    assert code == 2 and "line 2" in err  # the file is checked before anything else
    good = write(tmp_path, SMALL)
    code, _, err = await leadgram(tmp_path, "eval", "--scorer", "gemini", "--file", str(good))
    assert code == 1 and "needs GEMINI_API_KEY" in err and "Traceback" not in err
    code, _, err = await leadgram(tmp_path, "eval", "--scorer", "gemini", "--file", str(good), GEMINI_API_KEY="k",
                                  REDIS_URL="redis://127.0.0.1:1/0")  # the shared pace lives in Redis
    assert code == 1 and "Redis (REDIS_URL) is unreachable" in err and "Traceback" not in err


def test_bundled_set_shape() -> None:
    path = Path(__file__).resolve().parents[1] / "eval" / "conversations.jsonl"
    cases = load_cases(path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(cases) == len(rows) >= 300
    assert sum(r["lang"] != "en" for r in rows) >= len(rows) / 4
    assert {"spam", "scam", "injection", "lead"} <= {c.kind for c in cases}
    assert {c.label for c in cases} == {"hot", "cold", "ghosted", "unsure"}
    assert {c.split for c in cases} == {"dev", "test"} and sum(c.split == "test" for c in cases) >= 90
    attachments = {t.attachment for c in cases for t in c.data.turns if t.attachment}
    assert {"audio", "story", "share", "image"} <= attachments
    assert any(len(t.text) > 600 for c in cases for t in c.data.turns)


def test_spearman_with_ties() -> None:
    assert round(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 9) == 1.0
    assert round(spearman([1, 2, 3, 4], [40, 30, 20, 10]), 9) == -1.0
    assert round(spearman([1, 1, 2, 3], [1, 2, 3, 4]), 3) == 0.949
    assert spearman([5, 5, 5], [1, 2, 3]) == 0.0  # no spread in the scores: no agreement
