"""Data sets for the Instagram stand-in: plain synthetic threads, hostile threads.

The bundled demo accounts are product data (core.demo), served in-process by core.demo.DemoGraph."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from standins.instagram import Dataset, SConversation, SMessage


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
