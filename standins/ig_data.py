"""Data sets for the Instagram stand-in: the bundled demo accounts, plain synthetic threads, hostile threads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from standins.instagram import Dataset, SConversation, SMessage

NICHES = ("fitness", "handmade", "tattoo")
# Words in a creator's onboarding niche that pick the matching demo account.
_NICHE_WORDS = {
    "tattoo": ("tattoo", "ink", "piercing", "tatu"),
    "handmade": ("shop", "handmade", "craft", "ceramic", "candle", "jewel", "store", "etsy", "art", "pottery"),
    "fitness": ("fit", "coach", "gym", "train", "yoga", "nutrition", "health", "sport"),
}


def pick_niche(niche_text: str | None) -> str:
    text = (niche_text or "").lower()
    for key, words in _NICHE_WORDS.items():
        if any(word in text for word in words):
            return key
    return "fitness"


def demo_niche(niche: str) -> str:
    return niche if niche in NICHES else "fitness"


@cache
def _demo_raw(niche: str) -> dict[str, Any]:
    name = f"demo_{demo_niche(niche)}.json"
    raw: dict[str, Any] = json.loads(resources.files("standins").joinpath("data", name).read_text(encoding="utf-8"))
    return raw


def demo_ages(niche: str = "fitness") -> dict[str, int]:
    """{message id: seconds before the timeline's anchor} for a bundled demo account.

    A stored demo message therefore tells when its timeline was anchored: created_time + age."""
    return {m["id"]: int(m["age_s"]) for item in _demo_raw(niche)["conversations"] for m in item["messages"]}


def load_demo(niche: str = "fitness", *, now: datetime | None = None) -> Dataset:
    """A bundled demo account; message ages become timestamps counted back from `now` (the timeline's anchor).

    The same anchor always yields the same threads, message ids and created_time values."""
    now = now or datetime.now(UTC)
    raw = _demo_raw(niche)
    acc = raw["account"]
    ds = Dataset(account_id=acc["id"], username=acc["username"])
    me = {"id": acc["id"], "username": acc["username"]}
    for item in raw["conversations"]:
        ds.conversations.append(_demo_conversation(item, me, now))
        lead = item["lead"]
        ds.profiles[lead["id"]] = {"name": lead.get("name"), "username": lead.get("username") or _fallback(lead),
                                   "profile_pic": item.get("profile_pic")}
    return ds


def _fallback(lead: dict[str, Any]) -> str:
    return "user" + str(lead["id"])[-6:]


def _demo_conversation(item: dict[str, Any], me: dict[str, Any], now: datetime) -> SConversation:
    lead = {k: v for k, v in item["lead"].items() if k in ("id", "username", "name")}
    msgs = [
        SMessage(id=m["id"], from_id=me["id"] if m["from"] == "me" else lead["id"], text=m["text"],
                 created=now - timedelta(seconds=int(m["age_s"])), attachment=m.get("attachment"),
                 omit_text=bool(m.get("omit_text")))
        for m in item["messages"]
    ]
    updated = max((m.created for m in msgs), default=now - timedelta(days=1))
    return SConversation(id=item["id"], participants=[me, lead], messages=msgs, updated=updated)


def synthetic(n_conversations: int, n_messages: int, *, now: datetime | None = None,
              account_id: str = "17841400000000001", username: str = "bench.account") -> Dataset:
    """Plain generated threads (benches, paging tests): conversation i was last active i+1 minutes ago."""
    now = now or datetime.now(UTC)
    ds = Dataset(account_id=account_id, username=username)
    for i in range(n_conversations):
        lead = f"69{i:013d}"
        conv = SConversation(id=f"c{i}", participants=[{"id": account_id, "username": username},
                                                       {"id": lead, "username": f"lead_{i}"}])
        top = now - timedelta(minutes=i + 1)
        for j in range(n_messages):
            sender = account_id if j % 3 == 1 else lead
            conv.messages.append(SMessage(id=f"m{i}_{j}", from_id=sender, text=f"message {j} in thread {i}",
                                          created=top - timedelta(seconds=30 * j)))
        conv.updated = top
        ds.conversations.append(conv)
    return ds


HOSTILE_ACCOUNT = "17841400000000999"
LONG_TEXT = "x" * 9992 + "THE-END🔚"  # exactly 10,000 characters


def hostile(*, now: datetime | None = None) -> Dataset:
    """Every payload shape that has broken DM tools: each conversation id names its trap."""
    now = now or datetime.now(UTC)
    me = {"id": HOSTILE_ACCOUNT, "username": "hostile.account"}
    ds = Dataset(account_id=HOSTILE_ACCOUNT, username="hostile.account")

    def conv(cid: str, lead: dict[str, Any], texts: list[tuple[str | None, str | None]], age_min: int,
             lead_first: bool = False) -> SConversation:
        c = SConversation(id=cid, participants=[lead, me] if lead_first else [me, lead])
        for j, (text, att) in enumerate(texts):
            c.messages.append(SMessage(id=f"{cid}_m{j}", from_id=lead["id"] if j % 2 == 0 else me["id"],
                                       text=text, created=now - timedelta(minutes=age_min, seconds=j * 10),
                                       attachment=att, omit_text=att is not None and j == 0))
        c.updated = now - timedelta(minutes=age_min)
        ds.conversations.append(c)
        return c

    conv("html", {"id": "h1", "username": "x<b>y", "name": "<script>alert(1)</script> & <b>Bob</b>"},
         [("<a href='x'>price?</a> & more", None)], 1)
    conv("emoji", {"id": "h2", "username": "emoji.fan", "name": "🔥💯 Zoë 👩🏽‍💻"},
         [("😍😍😍 how much?? 👩‍👩‍👧", None)], 2, lead_first=True)
    conv("rtl", {"id": "h3", "username": "arabic.user", "name": "\u202eمحمد\u202c"},
         [("مرحبا، كم السعر؟ \u200f", None), ("שלום", None)], 3)
    conv("long", {"id": "h4", "username": "long.writer"}, [(LONG_TEXT, None)], 4)
    conv("attach", {"id": "h5", "username": "pics.only"}, [(None, "image"), ("", "video"), (None, "share")], 5)
    conv("empty", {"id": "h6", "username": "empty.thread"}, [], 6)
    conv("nouser", {"id": "h7"}, [("no username here", None)], 7)
    ds.profiles["h7"] = {"name": "Profile Only", "username": "from.profile", "profile_pic": "https://cdn.x/h7.jpg"}
    conv("self", {"id": HOSTILE_ACCOUNT, "username": "hostile.account"}, [("note to self", None)], 8)
    conv("nulltext", {"id": "h9", "username": "null.text"}, [(None, None), ("beside a null", None)], 9)
    for k in range(10, 14):
        conv(f"plain{k}", {"id": f"h{k}", "username": f"plain_{k}"}, [(f"hello {k}", None)], k)
    return ds
