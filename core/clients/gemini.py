"""Lead scoring with Gemini (google-genai, structured output), and the types every scorer shares.

The offline rule scorer lives in core/scoring/offline.py and returns the same ScoreResult.

The DM text is untrusted (written by strangers): it goes only in the user content as structured turns (see
core/clients/prompt.py), never in the system instruction, and the model gets no tools. Whatever the model answers
is validated again with core/rules.py (clamped score, known sentiment, at most 3 normalised tags, one-line texts,
links that did not appear in the conversation defanged).

Gemini as it really behaves (../shared/gemini-api.md): 2.5 models think by default and thought tokens count
against `max_output_tokens` and are billed as output. Thinking is therefore set explicitly (`thinking_plan`),
the cap leaves room for it, and a MAX_TOKENS / blocked / cut answer is a failed try with its reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from core.clients.prompt import (
    MAX_MESSAGES,
    SYSTEM_INSTRUCTION,
    LeadScore,
    ScoreInput,
    SentimentEnum,
    StageEnum,
    Turn,
    build_prompt,
)
from core.config import Settings
from core.rules import (
    MAX_TAGS_AI,
    clamp_score,
    defang_links,
    normalize_tags,
    one_line,
    parse_sentiment,
    parse_stage,
)

__all__ = ["MAX_MESSAGES", "SYSTEM_INSTRUCTION", "LeadScore", "ScoreInput", "SentimentEnum", "StageEnum", "Turn",
           "build_prompt"]

log = logging.getLogger(__name__)

API_VERSION = "v1beta"  # structured output (responseSchema) and systemInstruction are documented on v1beta
ANSWER_TOKENS = 400  # the JSON answer itself (≈ 120 tokens typical, two 200-char lines at most)
DYNAMIC_THINKING_TOKENS = 8192  # what dynamic thinking may spend (docs: up to ~8k on 2.5 Flash)


class ScoreError(Exception):
    """A failed model call. `retryable`: asking again may help. Tokens billed for the failed call are kept."""

    retryable = True

    def __init__(self, reason: str, tokens_in: int = 0, tokens_out: int = 0) -> None:
        super().__init__(reason)
        self.tokens_in = tokens_in
        self.tokens_out = tokens_out


class RateLimited(ScoreError):
    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class Unavailable(ScoreError):
    pass


class Timeout(ScoreError):
    pass


class BadOutput(ScoreError):
    pass


class Truncated(BadOutput):
    """finishReason MAX_TOKENS: thinking and/or the answer used up max_output_tokens."""


class Blocked(ScoreError):
    """The prompt or the answer was blocked (SAFETY, PROHIBITED_CONTENT, ...): the same DM blocks again."""

    retryable = False


class Refused(ScoreError):
    """A 4xx other than 429 (bad key, bad model, bad config): asking again will not help."""

    retryable = False


@dataclass(frozen=True)
class ScoreResult:
    score: int
    sentiment: str
    tags: list[str]
    next_action: str
    reason: str
    scored_by: str
    tokens_in: int = 0
    tokens_out: int = 0  # billed output: answer + thinking
    tokens_thinking: int = 0  # the thinking part of tokens_out
    stage: str | None = None  # a suggestion (core.rules.STAGE_KEYS); never overrides the creator's stage
    spam: bool = False  # confident spam/scam: suggested to the creator, never acted on alone


class Scorer(Protocol):
    async def score(self, data: ScoreInput) -> ScoreResult: ...


def validate(raw: Any, scored_by: str, tokens_in: int = 0, tokens_out: int = 0, conversation: str = "",
             tokens_thinking: int = 0) -> ScoreResult:
    """Our own validation whatever the schema promised: clamp (core.rules), default, cap, defang."""
    if not isinstance(raw, dict):
        raise BadOutput("model answer is not a JSON object", tokens_in, tokens_out)
    score = clamp_score(raw.get("score"))
    if score is None:
        raise BadOutput("model answer has no usable score", tokens_in, tokens_out)
    tags_raw = raw.get("tags")
    tags = normalize_tags(tags_raw if isinstance(tags_raw, list) else [], limit=MAX_TAGS_AI)
    reason = raw.get("reason") or raw.get("score_reason")
    return ScoreResult(
        score=score, sentiment=parse_sentiment(raw.get("sentiment")).value, tags=tags,
        next_action=one_line(defang_links(one_line(raw.get("next_action"), 10_000), conversation)),
        reason=one_line(defang_links(one_line(reason, 10_000), conversation)),
        scored_by=scored_by, tokens_in=tokens_in, tokens_out=tokens_out, tokens_thinking=tokens_thinking,
        stage=parse_stage(raw.get("stage")), spam=raw.get("spam") is True,
    )


# ---------------------------------------------------------------- thinking


@dataclass(frozen=True)
class ThinkingPlan:
    budget: int | None = None  # thinking_budget to send (2.5 models); None = send none
    level: str | None = None  # thinking_level to send (Gemini 3 models)
    note: str | None = None  # one startup line when the setting is impossible for the model

    @property
    def max_output_tokens(self) -> int:
        """Room for the answer plus whatever thinking may spend: thoughts count against the cap."""
        if self.level is not None:
            return ANSWER_TOKENS + (1024 if self.level in ("MINIMAL", "LOW") else DYNAMIC_THINKING_TOKENS)
        if self.budget is None or self.budget == 0:
            return ANSWER_TOKENS
        return ANSWER_TOKENS + (DYNAMIC_THINKING_TOKENS if self.budget < 0 else self.budget)


# 2.5 thinking budgets (docs): Pro 128..32768 and cannot stop thinking; Flash 0..24576; Flash-Lite 0 or 512..24576.
_RANGES = (("flash-lite", 512, 24576, True), ("flash", 1, 24576, True), ("pro", 128, 32768, False))


def thinking_plan(model: str, budget: int | None) -> ThinkingPlan:
    """The thinking config for GEMINI_MODEL and GEMINI_THINKING_BUDGET (None = the least the model allows;
    -1 = dynamic). A model that cannot think less than N gets N, and the plan says so once."""
    name = model.lower().removeprefix("models/")
    if re.match(r"gemini-(1\.|2\.0)", name):  # models without thinking reject a thinking config
        note = None if not budget else f"{model} does not think: GEMINI_THINKING_BUDGET={budget} is ignored"
        return ThinkingPlan(note=note)
    if name.startswith("gemini-3"):
        return _level_plan(model, "pro" in name, budget)
    for part, low, high, can_stop in _RANGES:
        if part in name:
            return _budget_plan(model, budget, low, high, can_stop)
    return ThinkingPlan(budget=budget)  # unknown model: send only what was asked for


def _budget_plan(model: str, budget: int | None, low: int, high: int, can_stop: bool) -> ThinkingPlan:
    if budget is None:
        return ThinkingPlan(budget=0 if can_stop else low)
    if budget == -1 or (budget == 0 and can_stop) or low <= budget <= high:
        return ThinkingPlan(budget=budget)
    used = low if budget < low else high
    why = "it only works in thinking mode, " if budget == 0 else ""
    allowed = f"0..{high}" if can_stop and low == 1 else f"0 or {low}..{high}" if can_stop else f"{low}..{high}"
    return ThinkingPlan(budget=used, note=f"GEMINI_THINKING_BUDGET={budget} is impossible for {model} "
                                          f"({why}allowed {allowed}): using {used}")


def _level_plan(model: str, pro: bool, budget: int | None) -> ThinkingPlan:
    least = "LOW" if pro else "MINIMAL"  # Gemini 3 takes a level, not a budget; Pro cannot go below low
    if budget is None or budget == 0:
        note = (f"GEMINI_THINKING_BUDGET=0 is impossible for {model} (it always thinks): using thinking level low"
                if budget == 0 and pro else None)
        return ThinkingPlan(level=least, note=note)
    return ThinkingPlan(level="HIGH" if budget < 0 or budget > 4096 else "LOW")


# ---------------------------------------------------------------- Gemini


class GeminiScorer:
    def __init__(self, settings: Settings) -> None:
        from google import genai
        from google.genai import types

        assert settings.gemini_api_key is not None
        self.types = types
        self.settings = settings
        self.model = settings.gemini_model
        self.timeout_s = settings.gemini_timeout_s
        self.plan = thinking_plan(self.model, settings.gemini_thinking_budget)
        # attempts=1: retries belong to arq (with backoff and the shared rate limiter), not to the SDK.
        http = types.HttpOptions(
            base_url=settings.gemini_base_url, api_version=API_VERSION, timeout=int(self.timeout_s * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self.client = genai.Client(api_key=settings.gemini_api_key.get_secret_value(), http_options=http)
        thinking = None
        if self.plan.budget is not None or self.plan.level is not None:
            thinking = types.ThinkingConfig(thinking_budget=self.plan.budget, thinking_level=self.plan.level)
        self.config = types.GenerateContentConfig(
            system_instruction=SYSTEM_INSTRUCTION, response_mime_type="application/json",
            response_schema=LeadScore, temperature=0.2, max_output_tokens=self.plan.max_output_tokens,
            thinking_config=thinking,
        )

    async def score(self, data: ScoreInput) -> ScoreResult:
        response = await self._call(build_prompt(data))
        usage = response.usage_metadata
        tokens_in = int(getattr(usage, "prompt_token_count", 0) or 0)
        thinking = int(getattr(usage, "thoughts_token_count", 0) or 0)
        tokens_out = int(getattr(usage, "candidates_token_count", 0) or 0) + thinking  # both are billed
        _check_finish(response, tokens_in, tokens_out, thinking)
        parsed = response.parsed
        try:
            raw: Any = parsed.model_dump(mode="json") if isinstance(parsed, BaseModel) else _loads(response.text)
        except BadOutput as exc:
            exc.tokens_in, exc.tokens_out = tokens_in, tokens_out
            raise
        return validate(raw, self.model, tokens_in, tokens_out, data.conversation_text(), thinking)

    async def _call(self, prompt: str) -> Any:
        from google.genai import errors

        try:
            async with asyncio.timeout(self.timeout_s + 1):
                return await self.client.aio.models.generate_content(
                    model=self.model, contents=prompt, config=self.config)
        except errors.APIError as exc:
            raise classify(exc) from None
        except TimeoutError as exc:
            raise Timeout("Gemini did not answer in time") from exc
        except OSError as exc:
            raise Unavailable(f"Gemini unreachable: {type(exc).__name__}") from exc
        except Exception as exc:  # aiohttp/httpx timeouts and disconnects have no common base
            if "timeout" in type(exc).__name__.lower():
                raise Timeout("Gemini did not answer in time") from exc
            raise Unavailable(f"Gemini call failed: {type(exc).__name__}") from exc


def _check_finish(response: Any, tokens_in: int, tokens_out: int, thinking: int) -> None:
    """A blocked prompt, a blocked answer or an answer cut by the token cap is a failed try, never a score."""
    feedback = getattr(response, "prompt_feedback", None)
    block = getattr(feedback, "block_reason", None)
    if block:
        raise Blocked(f"Gemini blocked this conversation ({_name(block)})", tokens_in, tokens_out)
    candidates = getattr(response, "candidates", None) or []
    if not candidates:
        raise BadOutput("Gemini returned no answer", tokens_in, tokens_out)
    reason = _name(getattr(candidates[0], "finish_reason", None))
    if reason == "MAX_TOKENS":
        spent = f" after {thinking} thinking tokens (lower GEMINI_THINKING_BUDGET)" if thinking else ""
        raise Truncated(f"Gemini answer cut off at the token limit{spent}", tokens_in, tokens_out)
    if reason in ("SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "OTHER"):
        raise Blocked(f"Gemini blocked the answer ({reason})", tokens_in, tokens_out)


def _name(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def classify(exc: Any) -> ScoreError:
    """An APIError as a ScoreError with a reason in words (Gemini's own message; never the key)."""
    code = int(getattr(exc, "code", 0) or 0)
    status = str(getattr(exc, "status", "") or "")
    message = one_line(getattr(exc, "message", "") or "", 160)
    details = _details(exc)
    if code == 429 or status == "RESOURCE_EXHAUSTED":
        delay = retry_delay(details)
        wait = f", retry after {delay:g} s" if delay is not None else ""
        return RateLimited(f"Gemini quota exceeded (429 RESOURCE_EXHAUSTED{wait})", delay)
    if code >= 500:
        return Unavailable(f"Gemini {code} {status}: {message}".strip(" :"))
    if any(d.get("reason") == "API_KEY_INVALID" for d in details):
        return Refused("Gemini rejected GEMINI_API_KEY (API_KEY_INVALID)")
    return Refused(f"Gemini refused the request ({code} {status}): {message}".strip(" :"))


def _details(exc: Any) -> list[dict[str, Any]]:
    body = getattr(exc, "details", None)
    error = body.get("error") if isinstance(body, dict) else None
    items = error.get("details") if isinstance(error, dict) else None
    return [d for d in items if isinstance(d, dict)] if isinstance(items, list) else []


def retry_delay(details: list[dict[str, Any]]) -> float | None:
    """`google.rpc.RetryInfo.retryDelay` ("17s", "0.5s") in seconds, if the 429 carries one."""
    for item in details:
        if str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", str(item.get("retryDelay", "")))
            if match:
                return min(float(match.group(1)), 3600.0)
    return None


def _loads(text: str | None) -> Any:
    if not text or not text.strip():
        raise BadOutput("empty model answer")
    try:
        return json.loads(text)
    except ValueError:
        raise BadOutput("model answer is not valid JSON (cut off?)") from None
