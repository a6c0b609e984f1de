"""The bundled demo Instagram accounts, one per niche (core/demo/<niche>.json, written by
scripts/gen_demo_data.py), and which one a creator's onboarding niche picks.

Times are ages ("age_s": seconds before the timeline's anchor), so a demo always looks recent; see
core.clients.demo for how a creator's anchor is fixed once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

NICHES = ("fitness", "handmade", "tattoo")
# Words in a creator's onboarding niche that pick the matching demo account (first match wins).
_NICHE_WORDS = {
    "tattoo": ("tattoo", "ink", "piercing", "tatu"),
    "handmade": ("shop", "handmade", "craft", "ceramic", "candle", "jewel", "store", "etsy", "art", "pottery"),
    "fitness": ("fit", "coach", "gym", "train", "yoga", "nutrition", "health", "sport"),
}


def pick_niche(niche_text: str | None) -> str:
    """The demo account for a creator's niche text; fitness when nothing matches."""
    text = (niche_text or "").lower()
    for key, words in _NICHE_WORDS.items():
        if any(word in text for word in words):
            return key
    return "fitness"


@dataclass(frozen=True)
class DemoMessage:
    id: str
    from_lead: bool
    text: str | None
    age_s: int  # seconds before the anchor
    attachment: str | None = None  # image | video | audio | share
    omit_text: bool = False  # attachment-only messages sometimes carry no "message" key at all


@dataclass(frozen=True)
class DemoLead:
    id: str  # the IGSID
    username: str | None
    name: str | None
    listed: bool = True  # False: the conversation's participant entry omits the username (the profile has it)


@dataclass(frozen=True)
class DemoThread:
    id: str
    kind: str  # hot, warm, cold, ghosted, spam, foreign, emoji, attachment (what the generator meant)
    lead: DemoLead
    messages: tuple[DemoMessage, ...]  # newest first

    @property
    def newest_age_s(self) -> int:
        return min((m.age_s for m in self.messages), default=86400)


@dataclass(frozen=True)
class DemoAccount:
    niche: str
    id: str  # the IG professional account id
    username: str
    label: str
    threads: tuple[DemoThread, ...]

    def ages(self) -> dict[str, int]:
        """{message id: seconds before the anchor}: a stored demo message tells when its timeline began."""
        return {m.id: m.age_s for t in self.threads for m in t.messages}

    def thread_of(self, lead_id: str) -> DemoThread | None:
        return next((t for t in self.threads if t.lead.id == lead_id), None)


@cache
def demo_account(niche: str | None = None) -> DemoAccount:
    """The bundled account for a niche key (fitness, handmade, tattoo; anything else: fitness)."""
    key = niche if niche in NICHES else "fitness"
    raw: dict[str, Any] = json.loads(resources.files("core.demo").joinpath(f"{key}.json").read_text("utf-8"))
    acc = raw["account"]
    return DemoAccount(niche=key, id=acc["id"], username=acc["username"], label=acc["label"],
                       threads=tuple(_thread(item) for item in raw["conversations"]))


def _thread(item: dict[str, Any]) -> DemoThread:
    lead = item["lead"]
    messages = tuple(
        DemoMessage(id=m["id"], from_lead=m["from"] == "lead", text=m["text"], age_s=int(m["age_s"]),
                    attachment=m.get("attachment"), omit_text=bool(m.get("omit_text")))
        for m in item["messages"])
    return DemoThread(id=item["id"], kind=item["kind"], messages=messages,
                      lead=DemoLead(id=lead["id"], username=lead.get("username"), name=lead.get("name"),
                                    listed=lead.get("listed", True)))
