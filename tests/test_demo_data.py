"""The bundled demo accounts read like a real inbox: every thread of every niche is checked for the glitches a
creator would notice ("Hey The, …", "Hey Sofia_B!", the same message twice), the inbox keeps its rough parts
(spam, emoji-only, other languages, attachments), every lead has a picture, and the demo is product data served
in-process by core (no stand-in, no port)."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from core.clients.instagram import InstagramClient
from core.demo import DEMO_BASE, DEMO_TOKEN, NICHES, DemoGraph, DemoThread, avatar_png, demo_account, pick_niche

GREETING = re.compile(r"^(?:Hey|Hi|Hello)(?: ([^!,\s]+))?[!,]")
PAID = re.compile(r"\b(sent the payment|paid|deposit sent|sending the deposit|booking now|booked|ordering now"
                  r"|order placed)\b", re.I)
THREADS = [t for niche in NICHES for t in demo_account(niche).threads]


def wrong_greetings(thread: DemoThread) -> list[str]:
    """"Hey The," / "Hey Sofia_B!" / a name the lead never showed: a greeting names the display name's first word."""
    first = thread.lead.name.split(" ")[0] if thread.lead.name else ""
    return [m.text for m in thread.messages if not m.from_lead and m.text
            and ((g := GREETING.match(m.text)) is not None and (g.group(1) or "") != first
                 or "{" in m.text or "}" in m.text)]


def repeats(thread: DemoThread) -> list[str]:
    # Compared without the greeting: "Hi Liam! Yes, 3 spots left" and "Yes! 3 spots left" are one message too.
    said = [re.sub(r"^(?:Hey|Hi|Hello)\b[^!,]*[!,]\s*", "", m.text).lower().rstrip("!.")
            for m in thread.messages if m.text]
    return sorted({text for text in said if said.count(text) > 1})


def talks_after_paying(thread: DemoThread) -> list[str]:
    older = [m.text or "" for m in thread.messages if m.from_lead][1:]  # newest first: all but the last word
    return [text for text in older if PAID.search(text)]


@pytest.mark.parametrize("glitch", [wrong_greetings, repeats, talks_after_paying], ids=lambda f: f.__name__)
def test_no_thread_of_any_demo_account_has_the_glitch(glitch: Callable[[DemoThread], list[str]]) -> None:
    found = {f"{t.lead.username}: {t.id}": hits for t in THREADS if (hits := glitch(t))}
    assert found == {}


@pytest.mark.parametrize("niche", NICHES)
def test_leads_are_distinct_people_with_ids_that_never_repeat(niche: str) -> None:
    account = demo_account(niche)
    leads = [t.lead for t in account.threads]
    names = [lead.name for lead in leads if lead.name]
    assert len(account.threads) == 120
    assert len({lead.id for lead in leads}) == len(leads)
    assert len({lead.username for lead in leads}) == len(leads) and all(lead.username for lead in leads)
    assert len(set(names)) == len(names)
    message_ids = [m.id for t in account.threads for m in t.messages]
    assert len(set(message_ids)) == len(message_ids)
    assert 0 < sum(1 for lead in leads if not lead.listed) < 10  # a few need the profile call for a username


@pytest.mark.parametrize("niche", NICHES)
def test_the_inbox_keeps_spam_emoji_other_languages_and_attachments(niche: str) -> None:
    threads = demo_account(niche).threads
    lead_texts = [m.text for t in threads for m in t.messages if m.from_lead and m.text]
    emoji_only = [t for t in lead_texts if not any(ch.isalnum() for ch in t)]
    scripts = {name for name, pattern in (("arabic", r"[\u0600-\u06ff]"), ("cyrillic", r"[\u0400-\u04ff]"),
                                          ("japanese", r"[\u3040-\u30ff]"), ("spanish", r"¿|Cuánto"))
               if any(re.search(pattern, t) for t in lead_texts)}
    spam = [t for t in threads if t.kind == "spam"]
    assert len(emoji_only) >= 3 and len(scripts) >= 3 and len(spam) >= 8
    assert sum(1 for t in threads for m in t.messages if m.attachment and not m.text) >= 5
    assert {t.kind for t in threads} >= {"hot", "warm", "cold", "ghosted", "spam", "foreign", "emoji", "attachment"}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    idat = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[idat - 4:idat])
    assert len(zlib.decompress(data[idat + 4:idat + 4 + length])) == height * (1 + 3 * width)
    return width, height


def test_every_lead_has_a_picture_of_its_own() -> None:
    leads = [t.lead.id for t in THREADS]
    pictures = {avatar_png(lead) for lead in leads}
    assert len(pictures) == len(leads)  # one per lead, none shared
    assert {png_size(p) for p in pictures} == {(96, 96)}


async def test_the_demo_graph_serves_profiles_with_pictures_to_the_real_client() -> None:
    account = demo_account("tattoo")
    anchor = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    async with httpx.AsyncClient(transport=DemoGraph(account, anchor)) as http:
        client = InstagramClient(http, DEMO_TOKEN, base=DEMO_BASE, version="v21.0")
        assert (await client.account()).user_id == account.id
        conversations = [c async for page in client.conversations() for c in page]
        assert len(conversations) == 120 and client.calls == 1 + 5  # /me + 5 pages of 25
        updated = [c.updated_time for c in conversations]
        assert updated == sorted(updated, reverse=True)  # most recently active first, like Graph
        unlisted = next(t.lead for t in account.threads if not t.lead.listed)
        profile = await client.profile(unlisted.id)
        assert (profile.username, profile.name) == (unlisted.username, unlisted.name)
        assert profile.profile_pic is not None and profile.profile_pic.startswith("https://")
        picture = await http.get(profile.profile_pic)
        assert picture.headers["content-type"] == "image/png" and picture.content == avatar_png(unlisted.id)
        wrong = InstagramClient(http, "IGAAsomeone-else", base=DEMO_BASE, version="v21.0", attempts=1)
        with pytest.raises(Exception) as refused:
            await wrong.account()
        assert type(refused.value).__name__ == "TokenInvalid"


def test_niche_text_picks_the_matching_demo_account() -> None:
    assert [pick_niche(t) for t in ("Tattoo artist", "handmade jewelry shop", "fitness coach", None, "poetry")] \
        == ["tattoo", "handmade", "fitness", "fitness", "fitness"]


def test_the_demo_needs_no_stand_in() -> None:
    """Product code never imports the test servers: loading and syncing the demo leaves standins unimported."""
    code = ("import sys, core.clients.source, core.clients.demo, core.services.sync, leadgram.commands.demo; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'standins'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
