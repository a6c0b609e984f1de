"""Gemini stand-in: `POST /{v1|v1beta}/models/{model}:generateContent` on 127.0.0.1 (ephemeral port).

Records requests, answers deterministically from the DM text (price/booking words -> hot), and injects
faults: a scripted sequence and/or a rate of 429s, plus 500, slow, malformed, out-of-range and empty answers.
Token counts are estimated as ceil(characters / 4) (there is no offline Gemini tokenizer).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

FAULTS = ("ok", "429", "500", "slow", "malformed", "out_of_range", "empty")
_HOT = re.compile(r"how much|price|book|buy|cost|available", re.I)


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

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        fault = self._fault()
        self.requests.append({"path": request.path, "body": body, "fault": fault,
                              "api_key": bool(request.headers.get("x-goog-api-key"))})
        if fault == "429":  # quota is checked before the model runs: a real 429 comes back at once
            return _error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault == "500":
            return _error(500, "INTERNAL", "An internal error has occurred.")
        if fault == "slow":
            await asyncio.sleep(self.slow_s)
        return web.json_response(_answer(body, fault))


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", []))


def system_text(body: dict[str, Any]) -> str:
    sys_ = body.get("systemInstruction") or body.get("system_instruction") or {}
    return "\n".join(p.get("text", "") for p in sys_.get("parts", []))


def default_answer(dm: str) -> dict[str, Any]:
    lead = "\n".join(line for line in dm.splitlines() if "] lead:" in line)
    if _HOT.search(lead):
        return {"score": 88, "sentiment": "hot", "tags": ["pricing", "ready to buy"],
                "next_action": "Send your price and a booking link", "reason": "Asked about price or booking"}
    if lead and len(lead.split()) <= 3 * max(1, lead.count("\n") + 1):
        return {"score": 20, "sentiment": "cold", "tags": ["short replies"],
                "next_action": "Leave it for now", "reason": "Only short replies"}
    return {"score": 50, "sentiment": "unsure", "tags": ["curious"],
            "next_action": "Ask what they need", "reason": "Interested, no buying signal yet"}


def _answer(body: dict[str, Any], fault: str) -> dict[str, Any]:
    prompt = user_text(body)
    answer: Any = default_answer(prompt)
    if fault == "out_of_range":
        answer = {"score": 150, "sentiment": "very hot", "tags": [f"Tag{i}" for i in range(7)],
                  "next_action": "Call\nnow", "reason": "x" * 400}
    text = "" if fault == "empty" else json.dumps(answer)
    if fault == "malformed":
        text = '{"score": 70, "sentiment": "hot", "tags": ["a"'
    prompt_tokens = estimate_tokens(prompt) + estimate_tokens(system_text(body))
    out_tokens = estimate_tokens(text)
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP",
                        "index": 0}],
        "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": out_tokens,
                          "totalTokenCount": prompt_tokens + out_tokens},
        "modelVersion": "standin",
    }


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message, "status": code}}, status=status)
