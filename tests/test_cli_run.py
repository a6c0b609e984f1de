"""`leadgram console`, `leadgram run` (long polling and webhook) and `leadgram bot` as real subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from standins.telegram import TelegramStandin

pytestmark = pytest.mark.timeout(300)

LEADGRAM = str(Path(sys.executable).with_name("leadgram"))
CLEARED = ("IG_ACCESS_TOKEN", "IG_USER_ID", "IG_API_BASE", "IG_API_VERSION", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE",
           "TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET", "WEBHOOK_HOST", "WEBHOOK_PORT", "ALLOWED_TELEGRAM_IDS",
           "REDIS_URL", "GEMINI_API_KEY", "GEMINI_BASE_URL", "SECRET_KEY", "DATABASE_URL", "LOG_LEVEL")
START = 120.0  # seconds for a process to import, migrate and start polling (CI machines are slow)
SECRET = "s3cret-webhook-token"


def clean_env(tmp: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    base["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp / 'run.db'}"
    base["SECRET_KEY"] = "test-only-secret-key"  # with a real token, the built-in dev key is refused
    base.update(env)
    return base


class Output:
    """A subprocess's stdout collected as it comes, with waits on what has appeared so far."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.text = ""
        self._task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(4096):
            self.text += chunk.decode("utf-8", "replace")

    async def wait_for(self, pattern: str, after: int = 0, timeout: float = 60.0) -> re.Match[str]:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (found := re.compile(pattern).search(self.text, after)) is None:
            if loop.time() > deadline or self._task.done():
                raise AssertionError(f"{pattern!r} not in the output after {timeout}s:\n{self.text[-3000:]}")
            await asyncio.sleep(0.05)
        return found

    async def close(self) -> str:
        await asyncio.wait_for(self._task, 30)
        return self.text


async def stops_cleanly_on_sigterm(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM: the process exits 0 in time, with no traceback on stderr."""
    proc.send_signal(signal.SIGTERM)
    code = await exit_code(proc, 30)
    _, err = await proc.communicate()
    assert code == 0, err.decode()
    assert "Traceback" not in err.decode()


async def exit_code(proc: asyncio.subprocess.Process, timeout: float) -> int:  # noqa: ASYNC109
    try:
        return await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"the process did not exit within {timeout}s") from None


@contextlib.asynccontextmanager
async def killed_on_failure(proc: asyncio.subprocess.Process) -> AsyncIterator[asyncio.subprocess.Process]:
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def spawn(tmp: Path, env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(LEADGRAM, *args, cwd=tmp, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def drop_queue(redis_url: str, queue: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"*{queue}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# console ------------------------------------------------------------------------------------------------
async def test_console_onboarding_demo_and_contacts_paging_by_button_numbers(tmp_path: Path) -> None:
    env = clean_env(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'console.db'}", USER="ann")
    proc = await asyncio.create_subprocess_exec(
        LEADGRAM, "console", cwd=tmp_path, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdin = proc.stdin
    async with killed_on_failure(proc):
        out = Output(proc.stdout)
        err = Output(proc.stderr)
        await out.wait_for(r"you are Ann \(Telegram id 1\)", timeout=START)

        async def say(text: str, expect: str, timeout: float = 60.0) -> re.Match[str]:  # noqa: ASYNC109
            mark = len(out.text)
            stdin.write(text.encode() + b"\n")
            await stdin.drain()
            return await out.wait_for(expect, after=mark, timeout=timeout)

        await say("/start", r"what's your niche\?")
        await say("fitness coach", r"What's your goal with DMs\?")
        demo = await say("sell my 12-week program", r"\[(\d+)\] 🎬 Try the demo account")
        await say(demo.group(1), r"✅ Loading the demo account done: 120 new contacts", timeout=120)
        listing = await say("/contacts", r"── #(\d+) ─+\n📇 Contacts · 120[\s\S]*?\[(\d+)\] ›")
        assert "page 1/12" in out.text[listing.start():]
        # ID.N: a pushed hot-lead alert (with buttons of its own) may have arrived after the listing
        message_id, button = listing.groups()
        edited = rf"✏️ \(message {message_id} edited\)\n📇 Contacts · 120[\s\S]*?page 2/12"
        await say(f"{message_id}.{button}", rf"→ › \(#{message_id}\)\n[\s\S]*?{edited}")
        stdin.close()
        assert await exit_code(proc, 60) == 0, err.text
        text, errors = await out.close(), await err.close()
    assert "you> /contacts" in text  # piped input is echoed, so the transcript reads like a chat
    assert "Traceback" not in errors and "ERROR" not in errors, errors
    assert (tmp_path / "console.db").exists() and not (tmp_path / "leadgram.db").exists()


async def test_console_runs_a_whole_piped_script(tmp_path: Path) -> None:
    """All lines at once, then EOF: each line waits for the bot (and the demo sync job) to settle."""
    env = clean_env(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'console.db'}")
    script = "/start\nhandmade jewelry shop\nbook consultations\n/demo\n/contacts\n/export\n/quit\n/help\n"
    proc = await asyncio.create_subprocess_exec(
        LEADGRAM, "console", "--name", "Bo", "--user-id", "42", cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with killed_on_failure(proc):
        out, err = await asyncio.wait_for(proc.communicate(script.encode()), START + 120)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "you are Bo (Telegram id 42)" in text
    contacts = text.index("📇 Contacts · 120")
    assert text.index("120 new contacts") < contacts  # /contacts waited for the demo sync
    assert "page 1/12" in text[contacts:]
    assert "you> /help" not in text  # /quit ended the session
    saved = [Path(line.split("saved to ", 1)[1]) for line in text.splitlines() if line.startswith("💾 saved to ")]
    assert len(saved) == 1 and saved[0].parent == tmp_path  # the /export CSV, in the current directory
    with saved[0].open(encoding="utf-8-sig", newline="") as f:
        assert len(list(csv.DictReader(f))) == 120


# leadgram run: long polling ---------------------------------------------------------------------------------
async def test_run_polls_answers_registers_commands_and_stops_on_sigterm(
        tmp_path: Path, redis_url: str, unique: str) -> None:
    async with TelegramStandin(token="424242:RUN") as tg:
        env = clean_env(tmp_path, TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_BASE=tg.base_url, REDIS_URL=redis_url,
                        LOG_LEVEL="WARNING")
        proc = await spawn(tmp_path, env, "run", "--queue", unique)
        try:
            async with killed_on_failure(proc):
                ann = tg.user(1001, "Ann")
                await ann.send("/start")
                welcome = await ann.next_message(timeout=START)
                assert "what's your niche?" in welcome.text
                await ann.send("tattoo artist")
                niche = await ann.next_message()
                assert "Niche: tattoo artist" in niche.text
                assert "contacts" in [c["command"] for c in tg.commands]
                assert any(call.method == "setMyCommands" for call in tg.calls)
                await tg.wait_idle()
                await stops_cleanly_on_sigterm(proc)
            assert tg.errors == [], [e.error for e in tg.errors]
        finally:
            await drop_queue(redis_url, unique)


async def test_run_and_bot_refuse_to_start_without_what_they_need(tmp_path: Path) -> None:
    async def leadgram(*args: str, **env: str) -> tuple[int, str]:
        proc = await spawn(tmp_path, clean_env(tmp_path, LOG_LEVEL="WARNING", **env), *args)
        out, err = await asyncio.wait_for(proc.communicate(), START)
        assert proc.returncode is not None and out == b""
        return proc.returncode, err.decode()

    async with TelegramStandin(token="474747:RIGHT") as tg, TelegramStandin(token="494949:BUSY") as busy_tg:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            (no_token, no_token_bot, no_redis, no_secret, wrong_token, port_taken) = await asyncio.gather(
                leadgram("run"), leadgram("bot"), leadgram("bot", TELEGRAM_BOT_TOKEN="1:x"),
                leadgram("run", TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_WEBHOOK_URL="https://example.com/hook"),
                leadgram("run", TELEGRAM_BOT_TOKEN="474747:WRONG", TELEGRAM_API_BASE=tg.base_url),
                leadgram("run", TELEGRAM_BOT_TOKEN=busy_tg.token, TELEGRAM_API_BASE=busy_tg.base_url,
                         TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook",
                         TELEGRAM_WEBHOOK_SECRET=SECRET, WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(port)))
        assert [call.method for call in tg.calls] == ["getMe"]  # refused before migrations, worker, polling
        assert busy_tg.webhook_url is None  # a replica that cannot listen does not take the webhook
    for code, err in (no_token, no_token_bot):
        assert code == 2 and err.count("\n") == 1 and "TELEGRAM_BOT_TOKEN" in err and "leadgram console" in err
    code, err = no_redis
    assert code == 2 and err.count("\n") == 1 and "REDIS_URL" in err
    code, err = no_secret
    assert code == 2 and err.count("\n") == 1 and "TELEGRAM_WEBHOOK_SECRET" in err
    code, err = port_taken
    # (the process got as far as starting its worker: warnings of its own may come first, never a traceback)
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err.splitlines()[-1] and "Traceback" not in err, err
    code, err = wrong_token
    assert code == 2 and err.count("\n") == 1 and "rejected TELEGRAM_BOT_TOKEN" in err
    assert all("1:x" not in err and "WRONG" not in err for _, err in (no_redis, no_secret, wrong_token))


# leadgram run: webhook -----------------------------------------------------------------------------------
async def test_run_in_webhook_mode_answers_and_refuses_requests_without_the_secret(
        tmp_path: Path, redis_url: str, unique: str) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/webhook"
    async with TelegramStandin(token="434343:HOOK") as tg:
        env = clean_env(tmp_path, TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_BASE=tg.base_url, REDIS_URL=redis_url,
                        TELEGRAM_WEBHOOK_URL=hook, TELEGRAM_WEBHOOK_SECRET=SECRET, WEBHOOK_HOST="127.0.0.1",
                        WEBHOOK_PORT=str(port), LOG_LEVEL="WARNING")
        proc = await spawn(tmp_path, env, "run", "--queue", unique)
        try:
            async with killed_on_failure(proc):
                ann = tg.user(1001, "Ann")
                await ann.wait_for(lambda: tg.webhook_url == hook, timeout=START)
                assert tg.world.webhook is not None and tg.world.webhook.secret_token == SECRET
                await ann.send("/start")
                welcome = await ann.next_message(timeout=60)
                assert "what's your niche?" in welcome.text
                assert not any(call.method == "getUpdates" for call in tg.calls)  # delivered by webhook
                assert tg.world.webhook.last_error is None  # listening before setWebhook: no failed delivery
                await tg.wait_idle()

                # Forged updates straight to the webhook: refused, and the bot says nothing.
                shown = len(ann.chat)
                forged = {"update_id": 9999, "message": {
                    "message_id": 500, "date": 1, "chat": {"id": 1001, "type": "private", "first_name": "Ann"},
                    "from": {"id": 1001, "is_bot": False, "first_name": "Ann"}, "text": "/help",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
                async with aiohttp.ClientSession() as http:
                    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                        async with http.post(hook, data=json.dumps(forged), headers={
                                **headers, "Content-Type": "application/json"}) as resp:
                            assert resp.status in (401, 403), resp.status
                    # the same update with the secret is taken: the refusals above were about the secret
                    async with http.post(hook, data=json.dumps(forged), headers={
                            "X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}) as resp:
                        assert resp.status == 200
                helped = await ann.next_message()
                assert "Leadgram" in helped.text and "/contacts" in helped.text
                assert len(ann.chat) == shown + 1  # one answer: to the update that carried the secret

                await stops_cleanly_on_sigterm(proc)
            assert tg.errors == [], [e.error for e in tg.errors]
        finally:
            await drop_queue(redis_url, unique)


# leadgram bot: the bot alone, its jobs run by a `leadgram worker` process -------------------------------------
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # two processes share one database
async def test_bot_alone_leaves_jobs_to_a_separate_worker(
        tmp_path: Path, db_url: str, redis_url: str, unique: str) -> None:
    async with TelegramStandin(token="454545:BOT") as tg:
        env = clean_env(tmp_path, TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_BASE=tg.base_url, REDIS_URL=redis_url,
                        DATABASE_URL=db_url, LOG_LEVEL="WARNING")
        bot = await spawn(tmp_path, env, "bot", "--queue", unique)
        try:
            async with killed_on_failure(bot):
                ann = tg.user(1001, "Ann")
                await ann.send("/start")
                await ann.next_message(timeout=START)
                await ann.send("fitness coach")
                await ann.next_message()
                await ann.send("sell my 12-week program")
                prompt = await ann.next_message()
                await ann.press(prompt.message_id, "🎬 Try the demo account")
                status = await ann.next_message()
                assert "demo account" in status.text
                await asyncio.sleep(3)  # no worker yet: the sync job waits in Redis, the bot does not run it
                assert "✅" not in ann.message(status.message_id).text

                worker = await spawn(tmp_path, env, "worker", "--queue", unique)
                async with killed_on_failure(worker):
                    await ann.wait_for(lambda: "✅" in ann.message(status.message_id).text, timeout=START)
                    assert "120 new contacts" in ann.message(status.message_id).text
                    worker.send_signal(signal.SIGINT)
                    await exit_code(worker, 30)
                await tg.wait_idle()
                bot.send_signal(signal.SIGTERM)
                code = await exit_code(bot, 30)
                _, err = await bot.communicate()
            assert code == 0, err.decode()
            assert tg.errors == [], [e.error for e in tg.errors]
        finally:
            await drop_queue(redis_url, unique)


async def test_console_terminal_prints_each_change_once_as_the_message_is_now(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A message sent and edited between two looks shows once as new (with its latest text); later edits are
    marked; a deletion is noted. Real Bot API calls against the stand-in, the console's own Terminal."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    from leadgram.commands.console import Terminal

    stop = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Stop", callback_data="stop")]])
    async with TelegramStandin(token="484848:TERM") as tg:
        term = Terminal(tg.user(5, "Ann"), echo=False)
        bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
        try:
            sent = await bot.send_message(5, "⏳ 1/3 scored", reply_markup=stop)
            await bot.edit_message_text("⏳ 2/3 scored", chat_id=5, message_id=sent.message_id, reply_markup=stop)
            term.flush()
            await bot.edit_message_text("✅ 3/3 scored", chat_id=5, message_id=sent.message_id)
            term.flush()
            await bot.delete_message(5, sent.message_id)
            term.flush()
            term.flush()  # nothing new: prints nothing
        finally:
            await bot.session.close()
        assert tg.errors == []
    out = capsys.readouterr().out
    n = sent.message_id
    assert out.count(f"── #{n} ") == 1 and "1/3" not in out
    assert f"── #{n} " in out.split("⏳ 2/3 scored")[0] and "[1] Stop" in out
    assert f"✏️ (message {n} edited)\n✅ 3/3 scored" in out and "[1] Stop" not in out.split("✅ 3/3")[1]
    assert out.rstrip().endswith(f"🗑 (message {n} deleted)")
