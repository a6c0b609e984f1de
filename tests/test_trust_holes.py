"""Issue 15.7, the smaller holes: spreadsheet formulas behind blanks or fullwidth signs, an export too big for
Telegram, bidi controls in names, the webhook secret's alphabet, and /connect messages that must not stay."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import socket
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares import REFUSAL
from bot.scrub import DELETE_FAILED
from core.config import load_settings
from core.db.models import Contact, User
from core.rules import FSI, PDI, one_line
from core.services.export import cell, export_files
from standins.ig_data import synthetic
from standins.instagram import InstagramStandin
from standins.telegram import TelegramStandin
from standins.telegram.errors import bad_request
from tests.bot_harness import BotWorld, bot_world

pytestmark = pytest.mark.timeout(300)
Sessions = async_sessionmaker[AsyncSession]


# ---------------------------------------------------------------- CSV


@pytest.mark.parametrize("text", ["=1+1", "＝1+1", " =1+1", "\n=1+1", "\t=1+1", "\u200b=1+1", "\u3000＋1",
                                  "﹦HYPERLINK(\"x\")", "＠SUM(A1)", "－2+3", " \r\n @x"])
def test_formula_guard_looks_past_blanks_and_normalisation(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Ann", "a=b", "1+1", "ok =1", "محمد", ""])
def test_plain_text_stays_as_it_is(text: str) -> None:
    assert cell(text) == text


def test_a_csv_too_big_for_one_file_is_split_between_rows_with_the_header_each_time() -> None:
    rng = random.Random(7)
    header = ["id", "name", "last_message"]
    rows = [[str(i), f"Lead {i}", "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 \n\"=,")
                                          for _ in range(rng.randint(0, 300)))] for i in range(400)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    data = ("\ufeff" + out.getvalue()).encode("utf-8")
    limit = 20_000  # random text barely compresses: a zip does not fit either
    files = export_files(data, "leadgram-contacts-x", limit=limit)
    assert len(files) > 3
    back: list[list[str]] = []
    for n, file in enumerate(files, 1):
        assert file.filename == f"leadgram-contacts-x-part{n}of{len(files)}.csv"
        assert len(file.data) <= limit
        part = list(csv.reader(io.StringIO(file.data.decode("utf-8-sig"), newline="")))
        assert file.data.startswith("\ufeff".encode()) and part[0] == header
        back += part[1:]
    assert back == rows  # every row once, in order, quoted newlines intact

    assert [f.filename for f in export_files(data, "s", limit=len(data))] == ["s.csv"]
    repetitive = ("\ufeff" + "id,name\r\n" + "1,Lead\r\n" * 5000).encode()
    [zipped] = export_files(repetitive, "s", limit=len(repetitive) // 10)
    assert zipped.filename == "s.zip"
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive:
        assert archive.read("s.csv") == repetitive


async def _seed_big(sessions: Sessions, telegram_id: int, n: int, text: str) -> int:
    async with sessions() as s, s.begin():
        user = (await s.execute(select(User).where(User.telegram_id == telegram_id))).scalar_one()
        now = datetime.now(UTC)
        await s.execute(insert(Contact), [
            {"user_id": user.id, "instagram_id": f"big{i}", "name": f"Lead {i}", "tags": [], "message_count": 1,
             "last_message": f"{i} {text}", "last_message_at": now - timedelta(minutes=i)} for i in range(n)])
        return user.id


@pytest.fixture
async def world(db_url: str, sessions: Sessions, redis_url: str, unique: str) -> AsyncIterator[BotWorld]:
    async with bot_world(db_url, sessions, redis_url, unique) as w:
        yield w


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # 55 MB of rows: one dialect is enough
async def test_export_bigger_than_telegram_takes_arrives_zipped(world: BotWorld) -> None:
    ann = world.user(8101)
    await world.say(ann, "/start", "niche")
    n = 5_600
    await _seed_big(world.sessions, ann.id, n, "I would love to know more about the program " * 220)
    after = max(m.message_id for m in ann.chat)
    await ann.send("/export")
    doc = await ann.wait_for(lambda: next((m for m in ann.chat if m.message_id > after and m.document), None),
                             timeout=120)
    assert doc.document.filename.endswith(".zip") and len(doc.document.data) < 50 * 1000 * 1000
    with zipfile.ZipFile(io.BytesIO(doc.document.data)) as archive:
        [name] = archive.namelist()
        data = archive.read(name)
    assert len(data) > 50 * 1000 * 1000  # it really was too big as a plain CSV
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == n and f"{n} contacts" in doc.text
    assert world.tg.errors == []


# ---------------------------------------------------------------- bidi


def test_bidi_controls_cannot_reorder_what_follows() -> None:
    assert one_line("\u202eevil\u202c name") == "evil name"
    assert one_line("\u2069\u202e\u2066x") == "x"  # a stray PDI cannot close our isolate early
    assert one_line("محمد") == f"{FSI}محمد{PDI}"  # right-to-left text is isolated, not altered
    assert one_line("Zoë 👩🏽‍💻") == "Zoë 👩🏽‍💻"


async def test_names_with_bidi_controls_do_not_reorder_their_row_in_the_list(world: BotWorld) -> None:
    ann = world.user(8102)
    await world.say(ann, "/start", "niche")
    async with world.sessions() as s, s.begin():
        user = (await s.execute(select(User).where(User.telegram_id == ann.id))).scalar_one()
        now = datetime.now(UTC)
        s.add_all([Contact(user_id=user.id, instagram_id="rlo", name="\u202eEvil\u202c \u2069", tags=[],
                           lead_score=42, last_message="hi", last_message_at=now),
                   Contact(user_id=user.id, instagram_id="ar", name="محمد علي", tags=[], lead_score=55,
                           last_message="مرحبا", last_message_at=now - timedelta(minutes=1))])
    listing = await world.say(ann, "/contacts", "📇")
    assert not any(ch in listing.text for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067")
    evil = next(line for line in listing.text.splitlines() if "Evil" in line)
    assert evil.index("Evil") < evil.index("42")  # the score still follows the name
    arabic = next(line for line in listing.text.splitlines() if "محمد" in line)
    assert f"{FSI}محمد علي{PDI}" in arabic and arabic.index(PDI) < arabic.index("55")
    buttons = [text for row in listing.buttons for text, _ in row]
    assert not any("\u202e" in text for text in buttons)


# ---------------------------------------------------------------- webhook secret


@pytest.mark.parametrize("secret", ["has space", "ünïcode", "a" * 257, "semi;colon"])
def test_a_webhook_secret_telegram_would_refuse_stops_startup(secret: str) -> None:
    with pytest.raises(SystemExit) as stop:
        load_settings(telegram_webhook_secret=secret)
    message = str(stop.value)
    assert "TELEGRAM_WEBHOOK_SECRET" in message and "A-Z" in message and secret not in message
    assert load_settings(telegram_webhook_secret="Ok_secret-123").telegram_webhook_secret is not None


def _raw_post(port: int, secret: bytes) -> bytes:
    body = b'{"update_id": 1}'
    request = (b"POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"X-Telegram-Bot-Api-Secret-Token: " + secret + b"\r\nContent-Length: " + str(len(body)).encode()
               + b"\r\nConnection: close\r\n\r\n" + body)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
    return reply.split(b"\r\n", 1)[0]


async def test_a_non_ascii_secret_header_gets_401_not_a_traceback(db_url: str, sessions: Sessions, redis_url: str,
                                                                 unique: str, caplog: pytest.LogCaptureFixture
                                                                 ) -> None:
    from bot.app import serve_webhook
    from leadgram.wiring import runtime

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with TelegramStandin() as tg:
        settings = load_settings(database_url=db_url, redis_url=redis_url, telegram_bot_token=tg.token,
                                 telegram_api_base=tg.base_url, telegram_webhook_secret="right_secret",
                                 telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
                                 webhook_host="127.0.0.1", webhook_port=port)
        async with runtime(settings, scheduler=False, queue_name=unique, sessions=sessions) as app:
            serving = asyncio.create_task(serve_webhook(app, settings))
            try:
                await tg.user(8300).wait_for(lambda: tg.webhook_url is not None, timeout=60)
                statuses = [await asyncio.to_thread(_raw_post, port, secret) for secret in (
                    "ключ".encode(), "right_secret\u00e9".encode("latin-1"), b"\xff\xfe", b"wrong")]
                assert all(b" 401 " in status for status in statuses), statuses
                assert b" 200 " in await asyncio.to_thread(_raw_post, port, b"right_secret")
            finally:
                serving.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await serving
    assert "Traceback" not in caplog.text and "TypeError" not in caplog.text


# ---------------------------------------------------------------- /connect


async def test_connect_from_a_refused_sender_is_deleted_too(db_url: str, sessions: Sessions, redis_url: str,
                                                            unique: str) -> None:
    async with bot_world(db_url, sessions, redis_url, unique, allowed_telegram_ids=frozenset({8201})) as world:
        eve = world.user(8299, "Eve")
        sent = await eve.send("/connect IGAAsecret-token-of-eve")
        refusal = await eve.wait_for(lambda: next(iter(eve.chat), None))
        assert refusal.text == REFUSAL
        await eve.wait_for(lambda: eve.state.messages[sent.message_id].deleted)
        assert world.tg.errors == []


async def test_a_connect_message_telegram_will_not_delete_is_told_to_the_user(
        db_url: str, sessions: Sessions, redis_url: str, unique: str) -> None:
    async with InstagramStandin(synthetic(1, 1)) as ig, bot_world(db_url, sessions, redis_url, unique,
                                                                  ig_api_base=ig.base_url) as world:
        ann = world.user(8202)
        await world.say(ann, "/start", "niche")
        world.tg.fail_next("deleteMessage", error=bad_request("message can't be deleted"))
        after = max(m.message_id for m in ann.chat)
        sent = await ann.send("/connect IGAAtoken-that-stays")
        told = await world.new_message(ann, after, "could not delete")
        assert told.text == DELETE_FAILED
        assert not ann.state.messages[sent.message_id].deleted
        # the /connect itself went on: the token was checked with Instagram (rejected: not the account's token)
        await world.new_message(ann, told.message_id, "rejected that token")

