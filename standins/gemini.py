"""Gemini stand-in: `POST /{v1|v1beta}/models/{model}:generateContent` on 127.0.0.1 (ephemeral port).

It behaves like the real service as ../shared/gemini-api.md describes it, unpleasant parts included:
- 2.5+ models THINK unless `thinkingConfig.thinkingBudget` is 0: thought tokens are reported as
  `thoughtsTokenCount` and count against `maxOutputTokens`; when thinking uses up the cap the answer is
  `finishReason: MAX_TOKENS` with no content parts, and when little room is left the JSON is cut mid-way.
- Pro models cannot stop thinking: a budget of 0 (or below 128) is a 400 INVALID_ARGUMENT; a thinking level on a
  2.5 model and a budget out of range are 400s too.
- Errors carry the real bodies: 429 RESOURCE_EXHAUSTED with QuotaFailure + RetryInfo(`retryDelay`), 400
  API_KEY_INVALID, 404 for an unknown model, 500 INTERNAL, 503 "The model is overloaded".
- Faults on demand (a script consumed one per request, and/or a rate of 429s): 429, 500, 503, slow, malformed,
  out_of_range, empty, safety (answer blocked), prompt_blocked (PROHIBITED_CONTENT), huge_score (1e999),
  bigint_score (a 400-digit integer), think_long (dynamic thinking far past a small cap).
Answers are deterministic from the DM text (price/booking words -> hot). Token counts are estimated as
ceil(characters / 4) (there is no offline Gemini tokenizer).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

FAULTS = ("ok", "429", "500", "503", "slow", "malformed", "out_of_range", "empty", "safety", "prompt_blocked",
          "huge_score", "bigint_score", "think_long")
_HOT = re.compile(r"how much|price|book|buy|cost|available", re.I)
DEFAULT_MAX_OUTPUT = 65536
KNOWN_MODELS = re.compile(r"gemini-(1\.5|2\.0|2\.5|3)[\w.-]*|gemini-(flash|pro|flash-lite)-latest")


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


@dataclass
class GeminiStandin:
    latency_s: float = 0.0
    slow_s: float = 5.0
    rate_429: float = 0.0
    script: list[str] = field(default_factory=list)  # consumed one per request, then "ok" (or the rate)
    seed: int = 7
    requests: list[dict[str, Any]] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    retry_delay: str = "1s"  # RetryInfo.retryDelay on a 429 (the real service says e.g. "17s")
    api_keys: set[str] | None = None  # None: any key works; else others get 400 API_KEY_INVALID
    think_min: int = 200  # dynamic thinking spends think_min..think_max tokens (per prompt, deterministic)
    think_max: int = 1500

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> GeminiStandin:
        app = web.Application()
        app.router.add_post(r"/{version:v1|v1beta}/models/{model_action}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> GeminiStandin:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _fault(self) -> str:
        if self.script:
            return self.script.pop(0)
        return "429" if self.rate_429 and self._rng.random() < self.rate_429 else "ok"

    @property
    def outcomes(self) -> list[str]:
        """What each request got: ok, MAX_TOKENS, SAFETY, an HTTP status, ..."""
        return [r["outcome"] for r in self.requests]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = request.match_info["model_action"].split(":", 1)[0]
        key = request.headers.get("x-goog-api-key")
        record: dict[str, Any] = {"path": request.path, "body": body, "model": model, "api_key": bool(key),
                                  "at": time.monotonic()}
        self.requests.append(record)
        refusal = self._refusal(model, key, body)
        if refusal is not None:  # checked before quota and before the model runs, like the real service
            record.update(fault="refused", outcome=str(refusal.status))
            return refusal
        fault = self._fault()
        record["fault"] = fault
        if fault == "429":  # quota is checked before the model runs: a real 429 comes back at once
            record["outcome"] = "429"
            return _quota_error(model, self.retry_delay)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault in ("500", "503"):
            record["outcome"] = fault
            if fault == "500":
                return _error(500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                                               "https://developers.generativeai.google/guide/troubleshooting")
            return _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        if fault == "slow":
            await asyncio.sleep(self.slow_s)
        answer = self._answer(model, body, fault)
        record["outcome"] = _outcome(answer)
        record["usage"] = answer["usageMetadata"]
        return web.json_response(answer)

    def _refusal(self, model: str, key: str | None, body: dict[str, Any]) -> web.Response | None:
        if self.api_keys is not None and key not in self.api_keys:
            return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}])
        if not KNOWN_MODELS.fullmatch(model):
            return _error(404, "NOT_FOUND", f"models/{model} is not found for API version v1beta, or is not "
                                            "supported for generateContent. Call ListModels to see the list of "
                                            "available models and their supported methods.")
        problem = thinking_problem(model, _gen(body).get("thinkingConfig"))
        return _error(400, "INVALID_ARGUMENT", problem) if problem else None

    def dynamic_thoughts(self, prompt: str) -> int:
        digest = int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16)
        return self.think_min + digest % max(1, self.think_max - self.think_min + 1)

    def _answer(self, model: str, body: dict[str, Any], fault: str) -> dict[str, Any]:
        prompt = user_text(body)
        prompt_tokens = estimate_tokens(prompt) + estimate_tokens(system_text(body))
        if fault == "prompt_blocked":  # the prompt itself is blocked: no candidates at all
            return {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                    "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens},
                    "modelVersion": model}
        gen = _gen(body)
        cap = int(gen.get("maxOutputTokens") or DEFAULT_MAX_OUTPUT)
        need = 100_000 if fault == "think_long" else self.dynamic_thoughts(prompt)
        thoughts = min(thinking_allowance(model, gen.get("thinkingConfig"), need), cap)
        drafting = "reply drafts" in system_text(body) and fault == "ok"
        text = json.dumps(draft_answer(prompt)) if drafting else _text(prompt, fault)
        room = cap - thoughts
        finish = "STOP"
        if fault == "safety":
            text, finish = None, "SAFETY"
        elif room <= 0:
            text, finish = None, "MAX_TOKENS"  # thinking ate the whole cap: no parts at all
        elif text is not None and estimate_tokens(text) > room:
            text, finish = text[: room * 4], "MAX_TOKENS"  # the JSON is cut mid-way
        out_tokens = estimate_tokens(text) if text else 0
        candidate: dict[str, Any] = {"content": {"role": "model"}, "finishReason": finish, "index": 0}
        if text is not None:
            candidate["content"]["parts"] = [{"text": text}]
        if finish == "SAFETY":
            candidate["safetyRatings"] = [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH",
                                           "blocked": True}]
        usage: dict[str, Any] = {"promptTokenCount": prompt_tokens,
                                 "totalTokenCount": prompt_tokens + out_tokens + thoughts}
        if out_tokens:
            usage["candidatesTokenCount"] = out_tokens
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model}


def _gen(body: dict[str, Any]) -> dict[str, Any]:
    gen = body.get("generationConfig") or body.get("generation_config") or {}
    return _camel(gen) if isinstance(gen, dict) else {}


def _camel(obj: dict[str, Any]) -> dict[str, Any]:
    """Proto3 JSON accepts both field spellings (the SDK sends `thinking_budget` inside `thinkingConfig`)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        head, *rest = key.split("_")
        name = head + "".join(part.title() for part in rest)
        out[name] = _camel(value) if isinstance(value, dict) else value
    return out


def _family(model: str) -> str:
    if model.startswith("gemini-3"):
        return "3-pro" if "pro" in model else "3-flash"
    if re.match(r"gemini-(1\.5|2\.0)", model):
        return "none"
    if "flash-lite" in model:
        return "flash-lite"
    return "pro" if "pro" in model else "flash"


_RANGES = {"pro": (128, 32768), "flash": (0, 24576), "flash-lite": (512, 24576)}


def thinking_problem(model: str, config: Any) -> str | None:
    """The 400 message the real service gives for a thinking config this model cannot take, else None."""
    if not isinstance(config, dict) or not config:
        return None
    family = _family(model)
    budget, level = config.get("thinkingBudget"), config.get("thinkingLevel")
    if family == "none":
        return "Thinking is not supported for this model."
    if level is not None and family not in ("3-pro", "3-flash"):
        return "Thinking level is not supported for this model. Please use thinking budget instead."
    if level is not None and budget is not None:
        return "You can only set only one of thinking budget and thinking level."
    if level is not None:
        if family == "3-pro" and str(level).upper() in ("MINIMAL", "MEDIUM"):
            return f"Thinking level {level} is not supported for this model."
        return None
    if budget is None or budget == -1 or family.startswith("3-"):
        return None
    low, high = _RANGES[family]
    if budget == 0 and family == "pro":
        return "Budget 0 is invalid. This model only works in thinking mode."
    if budget != 0 and not low <= budget <= high:
        return f"The thinking budget {budget} is invalid. Please choose a value between {low} and {high}."
    return None


def thinking_allowance(model: str, config: Any, need: int) -> int:
    """Thought tokens this request spends: `need` when thinking is dynamic, at most the budget, 0 when off."""
    family = _family(model)
    config = config if isinstance(config, dict) else {}
    budget, level = config.get("thinkingBudget"), config.get("thinkingLevel")
    if family == "none" or budget == 0:
        return 0
    if family == "flash-lite" and budget is None:
        return 0  # Flash-Lite does not think unless asked to
    if level is not None:
        return min(need, {"MINIMAL": 0, "LOW": 256, "MEDIUM": 2048}.get(str(level).upper(), need))
    if budget is None or budget < 0:
        return need
    return min(need, int(budget))


def _outcome(answer: dict[str, Any]) -> str:
    if "promptFeedback" in answer:
        return str(answer["promptFeedback"]["blockReason"])
    finish = answer["candidates"][0]["finishReason"]
    return "ok" if finish == "STOP" else str(finish)


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", []))


def system_text(body: dict[str, Any]) -> str:
    sys_ = body.get("systemInstruction") or body.get("system_instruction") or {}
    return "\n".join(p.get("text", "") for p in sys_.get("parts", []))


def lead_lines(prompt: str) -> list[str]:
    """The lead's messages from the user content (structured turns), or nothing if it is not JSON."""
    try:
        data = json.loads(prompt)
    except ValueError:
        return []
    turns = data.get("conversation") if isinstance(data, dict) else None
    return [str(t.get("text", "")) for t in turns or [] if isinstance(t, dict) and t.get("role") == "lead"]


def default_answer(prompt: str) -> dict[str, Any]:
    lines = lead_lines(prompt)
    lead = "\n".join(lines)
    if _HOT.search(lead):
        return {"score": 88, "sentiment": "hot", "tags": ["pricing", "ready to buy"],
                "next_action": "Send your price and a booking link", "reason": "Asked about price or booking"}
    if lines and len(lead.split()) <= 3 * len(lines):
        return {"score": 20, "sentiment": "cold", "tags": ["short replies"],
                "next_action": "Leave it for now", "reason": "Only short replies"}
    return {"score": 50, "sentiment": "unsure", "tags": ["curious"],
            "next_action": "Ask what they need", "reason": "Interested, no buying signal yet"}


_URL = re.compile(r"https?://[^\s<>\"']+")


def draft_answer(prompt: str) -> dict[str, Any]:
    """A reply draft (system instruction about "reply drafts"; JSON user content). Like a model that half-obeys
    an injected DM, it repeats the first link a lead wrote; the first allowed link is used for booking."""
    try:
        data = json.loads(prompt)
    except ValueError:
        data = {}
    turns = data.get("conversation") or []
    dm = "\n".join(str(t.get("text", "")) for t in turns if isinstance(t, dict) and t.get("role") == "lead")
    name = str((data.get("lead") or {}).get("first_name") or "there")
    allowed = [str(link) for link in data.get("allowed_links") or []]
    leaked = _URL.search(dm)
    parts = [f"Hi {name}! Thanks for reaching out."]
    if _HOT.search(dm):
        parts.append("The program is $99 for 12 weeks.")
    if allowed:
        parts.append(f"You can book here: {allowed[0]}")
    if leaked:
        parts.append(f"Also see {leaked.group(0)}")
    return {"text": " ".join(parts)}


def _text(prompt: str, fault: str) -> str | None:
    answer: Any = default_answer(prompt)
    if fault == "out_of_range":
        answer = {"score": 150, "sentiment": "very hot", "tags": [f"Tag{i}" for i in range(7)],
                  "next_action": "Call\nnow at https://pay.example.com/x or DM @closer_bot", "reason": "x" * 400}
    text = "" if fault == "empty" else json.dumps(answer)
    if fault == "malformed":
        text = '{"score": 70, "sentiment": "hot", "tags": ["a"'
    if fault == "huge_score":
        text = text.replace('"score": 88', '"score": 1e999').replace('"score": 50', '"score": 1e999') \
            .replace('"score": 20', '"score": 1e999')
    if fault == "bigint_score":
        text = re.sub(r'"score": \d+', '"score": ' + "9" * 400, text)
    return text


def _quota_error(model: str, retry_delay: str) -> web.Response:
    details: list[dict[str, Any]] = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
            "quotaDimensions": {"location": "global", "model": model}, "quotaValue": "10"}]},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [
            {"description": "Learn more about Gemini API quotas",
             "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay},
    ]
    return _error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing "
                                             "details.", details)


def _error(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> web.Response:
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if details:
        error["details"] = details
    return web.json_response({"error": error}, status=status)
