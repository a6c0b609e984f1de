"""Issue 5's safety rules, end to end through the real bot and the Telegram stand-in (every call checked
against the Bot API spec): forged and stale callbacks, the ALLOWED_TELEGRAM_IDS gate, hostile Instagram text,
Telegram 429s, the CSV export and /settings. Both dialects, real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import AlertOpen, ContactCb, ListCb, RunCb, SetCb, TagMenuCb, tag_key
from bot.handlers.common import NOT_FOUND
from bot.middlewares import PRIVATE_ONLY, REFUSAL
from core.db.models import Alert, Contact, Message, ScoringItem, ScoringRun, User
from core.services.export import COLUMNS
from standins.ig_data import HOSTILE_ACCOUNT, LONG_TEXT, hostile
from standins.instagram import Dataset, InstagramStandin, SConversation, SMessage
from standins.telegram import Callback, SimUser
from tests.bot_harness import BotWorld, bot_world, onboard_demo

pytestmark = pytest.mark.timeout(180)

Sessions = async_sessionmaker[AsyncSession]


@contextlib.asynccontextmanager
async def checked_world(db_url: str, sessions: Sessions, redis_url: str, unique: str,
                        **overrides: Any) -> AsyncIterator[BotWorld]:
    """A bot world that must end with no rejected Telegram call and every button press answered."""
    async with bot_world(db_url, sessions, redis_url, unique, **overrides) as w:
        yield w
        await w.tg.wait_idle()
        assert w.tg.errors == [], [(e.method, e.error) for e in w.tg.errors]
        assert w.tg.unanswered_callbacks == []


@pytest.fixture
async def world(db_url: str, sessions: Sessions, redis_url: str, unique: str) -> AsyncIterator[BotWorld]:
    async with checked_world(db_url, sessions, redis_url, unique) as w:
        yield w


# ---------------------------------------------------------------- helpers


async def user_row(sessions: Sessions, telegram_id: int) -> User:
    async with sessions() as s:
        user = (await s.execute(select(User).where(User.telegram_id == telegram_id))).scalar_one()
        return user


async def contacts_of(sessions: Sessions, user_id: int) -> list[Contact]:
    async with sessions() as s:
        return list((await s.execute(select(Contact).where(Contact.user_id == user_id)
                                     .order_by(Contact.id))).scalars())


def row_dict(obj: Any) -> dict[str, Any]:
    return {c.name: getattr(obj, c.name) for c in obj.__table__.columns}


async def snapshot(sessions: Sessions) -> dict[str, Any]:
    """Every contact, message count, run and alert in the database, by id."""
    async with sessions() as s:
        contacts = {c.id: row_dict(c) for c in (await s.execute(select(Contact))).scalars()}
        runs = {r.id: row_dict(r) for r in (await s.execute(select(ScoringRun))).scalars()}
        alerts = {a.id: row_dict(a) for a in (await s.execute(select(Alert))).scalars()}
        messages = (await s.execute(select(Message.contact_id, func.count()).group_by(Message.contact_id))).all()
    return {"contacts": contacts, "runs": runs, "alerts": alerts, "messages": dict(messages)}


async def settle(world: BotWorld, timeout: float = 90.0) -> None:  # noqa: ASYNC109
    """Until background work is over: no scoring run running, no alert waiting, the bot idle.

    Alerts are switched off first: pushes would interleave with the chats the tests inspect."""
    async with world.sessions() as s, s.begin():
        await s.execute(update(User).values(alerts_enabled=False))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with world.sessions() as s:
            running = (await s.execute(select(func.count()).select_from(ScoringRun)
                                       .where(ScoringRun.status != "done"))).scalar_one()
            waiting = (await s.execute(select(func.count()).select_from(Alert)
                                       .where(Alert.status.in_(("pending", "sending"))))).scalar_one()
        if not running and not waiting:
            break
        if loop.time() > deadline:
            raise TimeoutError(f"still {running} runs running, {waiting} alerts waiting")
        await asyncio.sleep(0.1)
    await world.tg.wait_idle(quiet=0.5)


def chat_view(user: SimUser) -> dict[int, tuple[str, int, Any]]:
    return {m.message_id: (m.text, m.edited, m.reply_markup) for m in user.chat}


async def answers(user: SimUser, presses: list[tuple[str, Callback]]) -> dict[str, str]:
    return {label: (await user.wait_answered(cb)).get("text", "") for label, cb in presses}


# ---------------------------------------------------------------- 1. forged and stale callbacks


async def test_forged_and_stale_callbacks_reveal_and_change_nothing(world: BotWorld) -> None:
    ann, bob = world.user(2001, "Ann"), world.user(2002, "Bob")
    await onboard_demo(world, ann, "fitness coach")
    await onboard_demo(world, bob, "tattoo artist")
    await settle(world)
    a_user, b_user = await user_row(world.sessions, ann.id), await user_row(world.sessions, bob.id)
    a_contacts, b_contacts = await contacts_of(world.sessions, a_user.id), await contacts_of(world.sessions, b_user.id)
    assert a_contacts and b_contacts
    b_names = {c.name for c in b_contacts} | {c.username for c in b_contacts}
    # A's leads whose names Bob's own (demo) contacts do not share: none of them may ever show in Bob's chat.
    secret = [c for c in a_contacts if c.name and c.name not in b_names and c.username not in b_names][:3]
    assert len(secret) == 3
    target = secret[0]
    a_tag = next((t for c in a_contacts for t in (c.tags or [])), "vip")
    async with world.sessions() as s:
        a_run = (await s.execute(select(ScoringRun.id).where(ScoringRun.user_id == a_user.id))).scalars().first()
    assert a_run is not None

    listing = await world.say(bob, "/contacts", "📇")
    other = await world.say(bob, "/contacts", "📇")  # paged to 99999 below
    third = await world.say(bob, "/contacts", "📇")  # shows a chat page far beyond the last below
    # A stale button: Bob's own contact, deleted after the list was shown.
    gone = b_contacts[0]
    gone_button = ContactCb(a="card", id=gone.id).pack()
    async with world.sessions() as s, s.begin():
        for model in (Alert, ScoringItem, Message):
            await s.execute(delete(model).where(model.contact_id == gone.id))  # type: ignore[attr-defined]
        await s.execute(delete(Contact).where(Contact.id == gone.id))
    mine = b_contacts[1]
    before_db = await snapshot(world.sessions)
    before_chat = chat_view(bob)

    forged = {f"{a}:{c.id}": ContactCb(a=a, id=c.id).pack() for c in secret for a in ("card", "chat")}
    forged |= {
        "tags": ContactCb(a="tags", id=target.id).pack(),
        "tog": ContactCb(a="tog", id=target.id, t=tag_key(a_tag)).pack(),
        "newtag": ContactCb(a="newtag", id=target.id).pack(),
        "score": ContactCb(a="score", id=target.id).pack(),
        "set": ContactCb(a="set", id=target.id, v=90).pack(),
        "set37": ContactCb(a="set", id=target.id, v=37).pack(),
        "typed": ContactCb(a="typed", id=target.id).pack(),
        "rescore": ContactCb(a="rescore", id=target.id).pack(),
        "chat-page": ContactCb(a="chat", id=target.id, v=2).pack(),
        "alert-card": AlertOpen(what="card", contact_id=target.id).pack(),
        "alert-chat": AlertOpen(what="chat", contact_id=target.id).pack(),
        "deleted": gone_button,
        "no-such-id": ContactCb(a="card", id=max(c.id for c in a_contacts + b_contacts) + 1000).pack(),
        "negative-id": ContactCb(a="card", id=-1).pack(),
        "garbage-x": "x",
        "garbage-int": "c:card:notanint",
        "garbage-fields": "c:card:1:1:all:last::0:extra",
        "garbage-action": ContactCb(a="nuke", id=mine.id).pack(),
    }
    rng = random.Random(5)
    alphabet = [chr(c) for c in range(33, 127)] + list("éß€😀🔥\u202e\u200f:")
    for n in range(64):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 64)))
        while len(text.encode()) > 64:
            text = text[:-1]
        forged[f"random-{n}"] = text
    presses = [(label, await bob.press_raw(listing.message_id, data)) for label, data in forged.items()]
    # The same forged card and chat from a message too old to show (the bot would have to send a new one).
    presses.append(("stale-card", await bob.press_raw(999_999, ContactCb(a="card", id=target.id).pack())))
    presses.append(("stale-alert", await bob.press_raw(999_998, AlertOpen(what="chat", contact_id=target.id).pack())))
    retry = await bob.press_raw(listing.message_id, RunCb(a="retry", id=a_run).pack())
    own37 = await bob.press_raw(listing.message_id, ContactCb(a="set", id=mine.id, v=37).pack())
    far = await bob.press_raw(other.message_id, ListCb(p=99999).pack())
    far_chat = await bob.press_raw(third.message_id, ContactCb(a="chat", id=mine.id, v=10**30).pack())

    got = await answers(bob, presses)
    assert {label: text for label, text in got.items() if text != NOT_FOUND} == {}
    retry_text = (await bob.wait_answered(retry)).get("text", "")
    assert retry_text == "Nothing to retry: no failed contacts in that run."  # same as for a run of one's own
    assert "pick one of the buttons" in (await bob.wait_answered(own37)).get("text", "").lower()
    await bob.wait_answered(far)
    await bob.wait_answered(far_chat)
    await world.tg.wait_idle(quiet=0.5)

    # Bob's chat: nothing new, nothing edited, except the list he paged (clamped to his own last page).
    after_chat = chat_view(bob)
    paged = after_chat.pop(other.message_id)
    chat_page = after_chat.pop(third.message_id)
    for moved in (other.message_id, third.message_id):
        before_chat.pop(moved)
    assert after_chat == before_chat
    pages = -(-(len(b_contacts) - 1) // 10)
    assert f"page {pages}/{pages}" in str(bob.message(other.message_id).buttons), paged[0][:200]
    assert chat_page[0].startswith("💬") and " · page " in chat_page[0].splitlines()[0]  # clamped: his last page
    last = chat_page[0].splitlines()[0].rsplit(" ", 1)[1]
    assert last.split("/")[0] == last.split("/")[1]
    shown = "\n".join(m.text + str(m.buttons) for m in bob.chat)
    for contact in secret:
        assert contact.name not in shown
    # Nobody's rows moved: Ann's contacts, runs, alerts; Bob's contact keeps its score despite v=37.
    assert await snapshot(world.sessions) == before_db


async def test_ids_beyond_the_integer_columns_are_not_found(world: BotWorld) -> None:
    """Callback data is user input: an id no INTEGER column can hold (2**31 on PostgreSQL, 2**63 on SQLite)
    must get the same "not found" answer as any unknown id, not crash the handler (an unanswered spinner)."""
    bob = world.user(2102, "Bob")
    await world.say(bob, "/help", "Leadgram")
    huge = (2**31, 2**63, 10**30)
    forged = [ContactCb(a=a, id=n).pack() for n in huge for a in ("card", "chat", "rescore")]
    forged += [AlertOpen(what="card", contact_id=n).pack() for n in huge]
    presses = [(data, await bob.press_raw(bob.chat[-1].message_id, data)) for data in forged]
    retries = [await bob.press_raw(bob.chat[-1].message_id, RunCb(a="retry", id=n).pack()) for n in huge]
    got = await answers(bob, presses)
    assert {data: text for data, text in got.items() if text != NOT_FOUND} == {}
    for cb in retries:
        assert (await bob.wait_answered(cb)).get("text", "").startswith("Nothing to retry")
    # Page numbers far out of range are clamped (the list, the tag picker, a settings value is refused).
    for data in (ListCb(p=2**63).pack(), ListCb(p=-(2**63)).pack(), TagMenuCb(p=10**30).pack(),
                 SetCb(a="thr", v=10**30).pack()):
        cb = await bob.press_raw(bob.chat[-1].message_id, data)
        await bob.wait_answered(cb)
    assert "📇" in bob.chat[-1].text  # the list, edited in place


# ---------------------------------------------------------------- 2. ALLOWED_TELEGRAM_IDS


async def test_strangers_get_one_refusal_an_hour_and_no_data(db_url: str, sessions: Sessions, redis_url: str,
                                                          unique: str) -> None:
    async with checked_world(db_url, sessions, redis_url, unique, allowed_telegram_ids=frozenset({3001})) as world:
        owner, stranger = world.user(3001, "Owner"), world.user(3099, "Eve")
        await onboard_demo(world, owner)
        await settle(world)
        owner_row = await user_row(world.sessions, owner.id)
        theirs = await contacts_of(world.sessions, owner_row.id)
        before = await snapshot(world.sessions)

        first = await world.say(stranger, "/start")
        assert first.text == REFUSAL
        await stranger.send("/contacts")  # within the hour: no second answer (at most one per hour)
        presses = [await stranger.press_raw(first.message_id, data) for data in (
            ListCb().pack(), ContactCb(a="card", id=theirs[0].id).pack(), AlertOpen(what="hot").pack())]
        for cb in presses:  # every press is answered (no spinner left), silently
            assert not (await stranger.wait_answered(cb)).get("text")
        await world.tg.wait_idle(quiet=0.5)
        assert [m.text for m in stranger.chat] == [REFUSAL]
        assert all(not m.buttons for m in stranger.chat)
        async with world.sessions() as s:
            assert (await s.execute(select(User.telegram_id))).scalars().all() == [owner.id]
        assert await snapshot(world.sessions) == before
        # The owner is still served.
        assert "📇" in (await world.say(owner, "/contacts", "📇")).text


# ---------------------------------------------------------------- 4. Telegram 429


async def test_a_429_from_telegram_is_waited_out_not_dropped(world: BotWorld) -> None:
    ann = world.user(4001)
    world.tg.fail_next("sendMessage", retry_after=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await world.say(ann, "/help", "Leadgram", timeout=10)
    assert "/contacts" in answer.text and loop.time() - started >= 0.9  # waited the retry_after out
    assert [(c.method, c.code) for c in world.tg.throttled] == [("sendMessage", 429)]
    assert [m.text for m in ann.chat] == [answer.text]  # sent once, after the wait
    assert world.tg.errors == []

    # The same for a file upload (the body is sent again), an edit and a callback answer.
    world.tg.fail_next("sendDocument", retry_after=1)
    after = answer.message_id
    await ann.send("/export full")
    doc = await ann.wait_for(lambda: next((m for m in ann.chat if m.message_id > after and m.document), None),
                             timeout=10)
    assert doc.document.data.decode("utf-8-sig").splitlines()[0] == ",".join(COLUMNS)
    shown = await world.say(ann, "/settings", "Settings")
    world.tg.fail_next("editMessageText", retry_after=1)
    world.tg.fail_next("answerCallbackQuery", retry_after=1)
    cb = await ann.press(shown.message_id, "🔔 Alerts: on")
    assert (await ann.wait_answered(cb))["text"] == "🔕 Alerts off"
    assert "Hot-lead alerts: off" in ann.message(shown.message_id).text
    assert [(c.method, c.code) for c in world.tg.throttled] == [
        ("sendMessage", 429), ("sendDocument", 429), ("editMessageText", 429), ("answerCallbackQuery", 429)]
    assert world.tg.errors == []


# ---------------------------------------------------------------- 5. /export


async def test_export_is_a_csv_of_every_contact_safe_for_spreadsheets(world: BotWorld) -> None:
    ann = world.user(5001)
    await onboard_demo(world, ann)
    await settle(world)
    me = await user_row(world.sessions, ann.id)
    mine = await contacts_of(world.sessions, me.id)
    formulas = {mine[0].id: '=HYPERLINK("http://evil.example","win")', mine[1].id: "+1 555 0100",
                mine[2].id: "@SUM(A1:A9)", mine[3].id: "-2+3"}
    async with world.sessions() as s, s.begin():
        for cid, name in formulas.items():
            await s.execute(update(Contact).where(Contact.id == cid).values(name=name))
        other = User(telegram_id=5002, chat_id=5002)  # another creator's contact must not leak into the file
        s.add(other)
        await s.flush()
        s.add(Contact(user_id=other.id, instagram_id="x1", name="Not Yours", tags=[]))

    after = max(m.message_id for m in ann.chat)
    await ann.send("/export full")
    doc = await ann.wait_for(lambda: next((m for m in ann.chat if m.message_id > after and m.document), None),
                             timeout=10)
    assert doc.document.filename.endswith(".csv")
    assert f"{len(mine)} contacts" in doc.text
    text = doc.document.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == COLUMNS
    body = [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]
    assert sorted(int(r["id"]) for r in body) == [c.id for c in mine]  # one row per contact, only Ann's
    assert {r["user_id"] for r in body} == {str(me.id)}
    by_id = {int(r["id"]): r for r in body}
    for cid, name in formulas.items():
        assert by_id[cid]["name"] == "'" + name
    plain = next(c for c in mine if c.id not in formulas and c.name)
    assert by_id[plain.id]["name"] == plain.name and by_id[plain.id]["instagram_id"] == plain.instagram_id
    assert "Not Yours" not in text


# ---------------------------------------------------------------- 6. /settings


async def test_settings_alerts_threshold_timezone_and_niche(world: BotWorld) -> None:
    ann = world.user(6001)
    await world.say(ann, "/start", "niche")
    await world.say(ann, "yoga teacher", "goal")
    shown = await world.say(ann, "/settings", "Settings")
    assert "Niche: yoga teacher" in shown.text and "Timezone: UTC" in shown.text

    async def me() -> User:
        return await user_row(world.sessions, ann.id)

    assert (await me()).alerts_enabled
    cb = await ann.press(shown.message_id, "🔔 Alerts: on")
    assert (await ann.wait_answered(cb))["text"] == "🔕 Alerts off"
    assert "Hot-lead alerts: off" in ann.message(shown.message_id).text
    assert not (await me()).alerts_enabled
    cb = await ann.press(shown.message_id, "🔕 Alerts: off")
    assert (await ann.wait_answered(cb))["text"] == "🔔 Alerts on"
    assert (await me()).alerts_enabled

    cb = await ann.press(shown.message_id, "≥ 70")
    assert (await ann.wait_answered(cb))["text"] == "Alerts for score ≥ 70"
    assert (await me()).alert_threshold == 70
    assert "score ≥ 70" in ann.message(shown.message_id).text
    assert ("✅ ≥ 70", SetCb(a="thr", v=70).pack()) in ann.message(shown.message_id).buttons[-1]
    forged = await ann.press_raw(shown.message_id, SetCb(a="thr", v=65).pack())  # not an offered button
    assert (await ann.wait_answered(forged))["text"] == "Pick one of the buttons."
    assert (await me()).alert_threshold == 70

    async def prompt(button: str, expect: str) -> int:
        after = max(m.message_id for m in ann.chat)
        cb = await ann.press(shown.message_id, button)
        await ann.wait_answered(cb)
        msg = await world.new_message(ann, after, expect)
        assert msg.force_reply
        return msg.message_id

    tz_prompt = await prompt("🌍 Timezone", "Timezone")
    for bad in ("Mars/Base", "../../etc/passwd", "Europe/<b>Berlin</b>"):
        after = max(m.message_id for m in ann.chat)
        await ann.reply(tz_prompt, bad)
        err = await world.new_message(ann, after, "not a timezone")
        assert bad in err.text and "Nothing changed" in err.text
        assert (await me()).timezone == "UTC"
    after = max(m.message_id for m in ann.chat)
    await ann.reply(tz_prompt, " Europe/Berlin ")
    saved = await world.new_message(ann, after, "Settings")
    assert "Timezone: Europe/Berlin" in saved.text
    assert (await me()).timezone == "Europe/Berlin"

    niche_prompt = await prompt("✏️ Niche", "Niche")
    after = max(m.message_id for m in ann.chat)
    await ann.reply(niche_prompt, "<b>pilates</b> & yoga\nstudio")
    saved = await world.new_message(ann, after, "Settings")
    assert "Niche: <b>pilates</b> & yoga studio" in saved.text  # literal, on one line
    assert (await me()).niche == "<b>pilates</b> & yoga studio"
    user = await me()
    assert (user.timezone, user.alert_threshold, user.alerts_enabled) == ("Europe/Berlin", 70, True)

    # Buttons from a message too old to edit still work (a fresh message), forged ones change nothing.
    count = len(ann.chat)
    stale = await ann.press_raw(999_999, SetCb(a="alerts").pack())
    assert (await ann.wait_answered(stale))["text"] == "🔕 Alerts off"
    fresh = await ann.wait_for(lambda: len(ann.chat) > count and ann.chat[-1])
    assert "Hot-lead alerts: off" in fresh.text and not (await me()).alerts_enabled
    stale = await ann.press_raw(999_998, SetCb(a="tz").pack())
    await ann.wait_answered(stale)
    assert (await ann.wait_for(lambda: ann.chat[-1].force_reply and ann.chat[-1])).text.startswith("🌍 Timezone")
    for data in ("s:thr:abc", "s:zzz:0", "s:thr:70:1", SetCb(a="thr", v=-1).pack(), "s"):
        cb = await ann.press_raw(shown.message_id, data)
        assert (await ann.wait_answered(cb))["text"] in (NOT_FOUND, "Pick one of the buttons."), data
    user = await me()
    assert (user.timezone, user.alert_threshold, user.alerts_enabled) == ("Europe/Berlin", 70, False)


# ---------------------------------------------------------------- 3. hostile text from Instagram

AMP_NAME = "Tom &amp; Jerry &lt;3"
AMP_TEXT = "1 &lt; 2 &amp;&amp; <i>3</i> > 2"
FORMULA_NAME = "=cmd|' /C calc'!A0"


def hostile_plus() -> Dataset:
    """standins.ig_data.hostile() plus entity look-alikes and a spreadsheet formula as a name."""
    data = hostile()
    me = {"id": HOSTILE_ACCOUNT, "username": "hostile.account"}
    when = datetime.now(UTC) - timedelta(minutes=30)
    for cid, lead, text in (("amp", {"id": "h20", "username": "amp.user", "name": AMP_NAME}, AMP_TEXT),
                            ("formula", {"id": "h21", "username": "calc.user", "name": FORMULA_NAME}, "=1+1")):
        data.conversations.append(SConversation(id=cid, participants=[me, lead], updated=when, messages=[
            SMessage(id=f"{cid}_m0", from_id=lead["id"], text=text, created=when)]))
    return data


async def tap(user: SimUser, message_id: int, button: str) -> str:
    """Press a button on the message and return the message as it is once the bot answered the press."""
    cb = await user.press(message_id, button)
    await user.wait_answered(cb)
    return user.message(message_id).text


def button(user: SimUser, message_id: int, prefix: str) -> str:
    return next(text for row in user.message(message_id).buttons for text, _ in row if text.startswith(prefix))


async def test_hostile_instagram_text_shows_literally(db_url: str, sessions: Sessions, redis_url: str,
                                                      unique: str) -> None:
    async with InstagramStandin(hostile_plus()) as ig, checked_world(
            db_url, sessions, redis_url, unique, ig_api_base=ig.base_url, secret_key="safety-secret") as world:
        ann = world.user(7001)
        await world.say(ann, "/start", "niche")
        await world.say(ann, "tattoo artist", "goal")
        await world.say(ann, "book sessions", "connect Instagram")
        status = await world.say(ann, f"/connect {ig.token}", "Syncing")
        await ann.wait_for(lambda: "✅" in ann.message(status.message_id).text)
        assert "14 new contacts" in ann.message(status.message_id).text
        await settle(world)

        listing = await world.say(ann, "/contacts", "📇")
        lid = listing.message_id
        lists, cards, chats, tags = [listing.text], [], [], []
        while True:
            on_page = [data for row in ann.message(lid).buttons for _, data in row
                       if data and data.startswith("c:card:")]
            for data in on_page:
                cards.append(await tap(ann, lid, data))
                chats.append(await tap(ann, lid, "💬 Chat"))
                while any(t == "‹ Older" for row in ann.message(lid).buttons for t, _ in row):
                    chats.append(await tap(ann, lid, "‹ Older"))
                await tap(ann, lid, "‹ Back to card")
                tags.append(await tap(ann, lid, "🏷 Tags"))
                await tap(ann, lid, "‹ Back to card")
                await tap(ann, lid, button(ann, lid, "‹ Back to list"))
            here = button(ann, lid, "page ")
            page, pages = map(int, here.removeprefix("page ").split("/"))
            if page == pages:
                break
            lists.append(await tap(ann, lid, "›"))
        assert len(cards) == 14 and len(tags) == 14

        def card_of(fragment: str) -> str:
            return next(c for c in cards if fragment in c)

        html_card = card_of("<script>alert(1)</script> & <b>Bob</b>")
        assert "@x<b>y" in html_card
        assert card_of("🔥💯 Zoë 👩🏽‍💻") and card_of("\u2068محمد\u2069") and card_of(AMP_NAME)
        assert card_of(FORMULA_NAME)
        everything_listed = "\n".join(lists)
        for name in ("<script>alert(1)</script> & <b>Bob</b>", "🔥💯 Zoë 👩🏽‍💻", AMP_NAME, FORMULA_NAME):
            assert name in everything_listed
        chat_text = "\n".join(chats)
        assert "<a href='x'>price?</a> & more" in chat_text and AMP_TEXT in chat_text
        assert "😍😍😍 how much?? 👩‍👩‍👧" in chat_text and "שלום" in chat_text
        long_chat = next(c for c in chats if "long.writer" in c)
        assert "xxxxxxxxxx" in long_chat and "…" in long_chat and "THE-END" not in long_chat  # clipped
        attach_chat = next(c for c in chats if "pics.only" in c)
        assert "[image]" in attach_chat and "[video]" in attach_chat and "[share]" in attach_chat
        assert "No messages synced" in next(c for c in chats if "empty.thread" in c)
        assert any("<script>alert(1)</script> & <b>Bob</b>" in t for t in tags)
        assert all(len(text) <= 4096 for text in cards + chats + tags + lists)

        # The same people in the export: exact text, the formula neutralised.
        after = max(m.message_id for m in ann.chat)
        await ann.send("/export full")
        doc = await ann.wait_for(lambda: next((m for m in ann.chat if m.message_id > after and m.document), None),
                                 timeout=10)
        rows = list(csv.DictReader(io.StringIO(doc.document.data.decode("utf-8-sig"))))
        names = {r["instagram_id"]: r["name"] for r in rows}
        assert names["h1"] == "<script>alert(1)</script> & <b>Bob</b>" and names["h2"] == "🔥💯 Zoë 👩🏽‍💻"
        assert names["h3"] == "محمد" and names["h20"] == AMP_NAME
        assert names["h21"] == "'" + FORMULA_NAME
        assert next(r for r in rows if r["instagram_id"] == "h4")["last_message"] == LONG_TEXT


def escape_heavy() -> Dataset:
    """Ten leads whose every character needs escaping: the HTML source is ~5x the visible text."""
    acc = "17841400000000777"
    me = {"id": acc, "username": "amp.account"}
    data = Dataset(account_id=acc, username="amp.account")
    now = datetime.now(UTC)
    for i in range(10):
        lead = {"id": f"e{i}", "username": f"amp_{i}", "name": ("&<" * 20)[:39] + str(i)}
        when = now - timedelta(minutes=i + 1)
        msgs = [SMessage(id=f"e{i}_m{j}", from_id=lead["id"] if j % 2 == 0 else acc, text=f"{j}" + "&<>" * 133,
                         created=when - timedelta(seconds=10 * j)) for j in range(9)]
        data.conversations.append(SConversation(id=f"e{i}", participants=[me, lead], messages=msgs, updated=when))
    return data


async def test_text_that_escapes_past_4096_stays_valid_html(db_url: str, sessions: Sessions, redis_url: str,
                                                            unique: str) -> None:
    """Clipping must count what Telegram shows, and never cut a tag or an entity: 8 chat messages of 400
    escaped characters are ~16,000 characters of HTML but only ~3,300 visible ones."""
    async with InstagramStandin(escape_heavy()) as ig, checked_world(
            db_url, sessions, redis_url, unique, ig_api_base=ig.base_url, secret_key="safety-secret") as world:
        ann = world.user(7101)
        await world.say(ann, "/start", "niche")
        await world.say(ann, "coach", "goal")
        await world.say(ann, "sell", "connect Instagram")
        status = await world.say(ann, f"/connect {ig.token}", "Syncing")
        await ann.wait_for(lambda: "✅" in ann.message(status.message_id).text)
        await settle(world)
        listing = await world.say(ann, "/contacts", "📇")
        for i in range(10):
            assert ("&<" * 20)[:39] + str(i) in listing.text  # every name in full
        lid = listing.message_id
        first = next(data for row in listing.buttons for _, data in row if data and data.startswith("c:card:"))
        card = await tap(ann, lid, first)
        assert "&<" * 19 in card
        chat = await tap(ann, lid, "💬 Chat")
        assert chat.count("&<>" * 133) == 8  # a whole page, nothing cut
        older = await tap(ann, lid, "‹ Older")
        assert older.count("&<>" * 133) == 1 and "page 2/2" in older
        await tap(ann, lid, "‹ Back to card")
        tags = await tap(ann, lid, "🏷 Tags")
        assert "&<" * 19 in tags
        assert world.tg.errors == [], [(e.method, e.error) for e in world.tg.errors]


# ---------------------------------------------------------------- group chats

GROUP = {"id": -1001234567890, "type": "supergroup", "title": "Team chat"}


async def test_commands_in_a_group_chat_show_nothing_and_keep_alerts_private(world: BotWorld) -> None:
    """The bot is a private tool: a creator's /contacts typed in a group would show their leads to everyone
    there, and re-pointing users.chat_id at the group would send hot-lead alerts there from then on."""
    ann = world.user(8001)
    await onboard_demo(world, ann)
    await settle(world)
    before = await user_row(world.sessions, ann.id)
    for n, text in enumerate(("/contacts", "/export", "/hot", "/settings")):
        command = text.split()[0]
        world.tg.world.updates.push("message", {
            "message_id": 900 + n, "date": world.tg.world.now(), "chat": GROUP, "from": ann.user, "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]})
    # A button on an old bot message in the group (a forwarded keyboard, or one from before this rule).
    pressed = Callback("group-cb-1", ann.id, 77, ContactCb(a="card", id=1).pack())
    world.tg.world.callbacks[pressed.id] = pressed
    world.tg.world.updates.push("callback_query", {
        "id": pressed.id, "from": ann.user, "chat_instance": "group", "data": pressed.data,
        "message": {"message_id": 77, "date": world.tg.world.now(), "chat": GROUP, "from": world.tg.world.bot_user,
                    "text": "📇 Contacts"}})
    world.tg.world.last_activity = asyncio.get_running_loop().time()
    world.tg.world.changed()
    await ann.wait_for(lambda: not world.tg.world.updates.items)  # the bot took them
    assert (await ann.wait_answered(pressed))["text"] == PRIVATE_ONLY
    await world.tg.wait_idle(quiet=0.5)
    assert [c.method for c in world.tg.calls if str(c.params.get("chat_id")) == str(GROUP["id"])] == []
    after = await user_row(world.sessions, ann.id)
    assert (after.chat_id, after.telegram_id) == (before.chat_id, ann.id) == (ann.id, ann.id)
    # Ann's own chat still works.
    assert "📇" in (await world.say(ann, "/contacts", "📇")).text


# ---------------------------------------------------------------- commands typed into a ForceReply prompt


async def test_a_command_sent_as_a_reply_to_a_settings_prompt_runs_the_command(world: BotWorld) -> None:
    """Telegram clients attach the next message to a ForceReply prompt by themselves: a creator who gives up
    on the prompt and sends /help or /contacts means the command, not a niche, timezone, tag or score."""
    ann = world.user(9001)
    await onboard_demo(world, ann)
    await settle(world)
    me = await user_row(world.sessions, ann.id)
    shown = await world.say(ann, "/settings", "Settings")
    for button, expect in (("✏️ Niche", "Niche"), ("🌍 Timezone", "Timezone"), ("✏️ Goal", "Goal")):
        after = max(m.message_id for m in ann.chat)
        await ann.wait_answered(await ann.press(shown.message_id, button))
        prompt = await world.new_message(ann, after, expect)
        after = prompt.message_id
        await ann.reply(prompt.message_id, "/help")
        assert "/contacts" in (await world.new_message(ann, after, "Leadgram")).text
    again = await user_row(world.sessions, ann.id)
    assert (again.niche, again.goal, again.timezone) == (me.niche, me.goal, me.timezone)


HELP_FIRST_LINE = "Leadgram turns your Instagram DMs into scored leads."


async def test_a_command_sent_as_a_reply_to_a_tag_or_score_prompt_runs_the_command(world: BotWorld) -> None:
    ann = world.user(9002)
    await onboard_demo(world, ann)
    await settle(world)
    listing = await world.say(ann, "/contacts", "📇")
    first = next(data for row in listing.buttons for _, data in row if data and data.startswith("c:card:"))
    contact_id = ContactCb.unpack(first).id
    async with world.sessions() as s:
        before = row_dict(await s.get(Contact, contact_id))
    await tap(ann, listing.message_id, first)
    answered = {}
    for screen, button in (("🏷 Tags", "➕ New tag"), ("🎯 Score", "⌨️ Type a number")):
        await tap(ann, listing.message_id, screen)
        after = max(m.message_id for m in ann.chat)
        await tap(ann, listing.message_id, button)
        prompt = await world.new_message(ann, after, "reply with")
        assert prompt.force_reply and f"#{contact_id}" not in prompt.text  # no internal id shown
        await ann.reply(prompt.message_id, "/help")
        answered[screen] = (await world.new_message(ann, prompt.message_id, "Leadgram")).text.splitlines()[0]
        await tap(ann, listing.message_id, "‹ Back to card")
    assert answered == {screen: HELP_FIRST_LINE for screen in answered}
    async with world.sessions() as s:
        assert row_dict(await s.get(Contact, contact_id)) == before
