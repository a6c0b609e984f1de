"""`leadgram console`: try Leadgram with no Telegram account. A local Telegram stand-in on 127.0.0.1, the real
bot (with its worker and scheduler) long-polling it over HTTP, and this terminal as one user's chat: bot
messages print as they arrive and again as they are edited (progress counts up), inline buttons numbered.

Input: a line of text is a message (an answer to a "reply expected" prompt when that is the latest bot
message, unless it is a /command); `3` presses button 3 of the latest message that has buttons (a number
beyond its buttons is refused, nothing is sent), `12.3` button 3 of message #12; `'3` sends the text "3";
/quit or end of input leaves. Whenever the message a bare number acts on changes, a line says which one.
Log lines go to leadgram-console.log in the current directory, not into the chat.
When stdin is not a terminal (a script piped in), each line waits until the bot and
its jobs have settled, so `printf '/start\\n...' | leadgram console` works.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from core.config import Settings, get_settings
from core.crypto import DEV_KEY_NOTICE, uses_dev_key
from leadgram.commands.run import stop_on_signals

if TYPE_CHECKING:  # the stand-in is imported when the console starts (keeps `leadgram --help` light)
    from standins.telegram import Message, SimUser, TelegramStandin

HELP = "try Leadgram in this terminal: the real bot on a local Telegram stand-in (no keys needed)"
CONSOLE_TOKEN = "7000000001:leadgram-console"
SETTLE_TIMEOUT_S = 120.0
QUIT = ("/quit", "/exit")
NO_CUT = 10_000  # button rows are never cut to the terminal width (a cut button could not be seen to press)
PRESS = re.compile(r"^(?:#?(\d+)\.)?(\d+)$")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user-id", type=int, default=1, metavar="ID", help="your simulated Telegram id (default 1)")
    parser.add_argument("--name", default=None, help="your first name in the chat (default: $USER)")


def _default_name() -> str:
    name = os.environ.get("USER", "")
    if not name:
        with contextlib.suppress(Exception):
            name = getpass.getuser()
    return name.capitalize() or "You"


def _where(database_url: str) -> str:
    from sqlalchemy.engine import make_url

    with contextlib.suppress(Exception):
        return make_url(database_url).render_as_string(hide_password=True)
    return "the configured database"


def console_settings(settings: Settings, tg: TelegramStandin) -> Settings:
    """Self-contained: the stand-in's token and address, the in-process queue (REDIS_URL workers would answer
    through the real Telegram), no webhook, no allow-list (the only user is the one at this keyboard)."""
    return settings.model_copy(update={
        "telegram_bot_token": SecretStr(tg.token), "telegram_api_base": tg.base_url, "telegram_webhook_url": None,
        "telegram_webhook_secret": None, "redis_url": None, "allowed_telegram_ids": frozenset(),
    })


def preview_fetcher() -> httpx.AsyncClient:
    """What the stand-in fetches link previews and photo URLs with, as Telegram's servers would: the demo's
    pictures in-process (their host never resolves), anything else (real avatars) over the network."""
    from core.demo import DEMO_BASE, DemoMedia

    return httpx.AsyncClient(timeout=5.0, follow_redirects=True, mounts={DEMO_BASE: DemoMedia()})


class Terminal:
    """Writes the chat: new bot messages, edits and deletions as the stand-in records them."""

    def __init__(self, user: SimUser, echo: bool) -> None:
        self.user, self.echo = user, echo
        self.pos = 0  # position in the stand-in's change log already shown
        self.target: tuple[str, int] | None = None  # what a bare number acts on, as last announced
        self.width = max(40, min(shutil.get_terminal_size((80, 24)).columns, 100))  # separator lines only

    def write(self, text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def flush(self) -> None:
        """Print every bot-side change since the last call (an edited message once per batch, as it is now)."""
        from standins.telegram import render_change, render_message

        log = self.user.world.log
        batch = [(kind, msg) for kind, msg in log[self.pos:] if msg.chat_id == self.user.id and kind != "user"]
        self.pos = len(log)
        last_of: dict[int, int] = {}
        new = {msg.message_id for kind, msg in batch if kind == "sent"}
        for i, (kind, msg) in enumerate(batch):
            if kind != "deleted":
                last_of[msg.message_id] = i
        for i, (kind, msg) in enumerate(batch):
            if kind == "deleted":
                self.write(render_change(kind, msg, NO_CUT))
            elif last_of.get(msg.message_id) == i and not msg.deleted:
                if msg.message_id in new:  # sent (and maybe edited already): shown once, as it is now
                    self.write(f"── #{msg.message_id} " + "─" * max(0, self.width - 8 - len(str(msg.message_id))))
                    self.write(render_message(msg, NO_CUT))
                    if msg.document is not None:
                        self.save(msg.document.filename, msg.document.data)
                else:
                    self.write(render_change(kind, msg, NO_CUT))
        if batch:
            self.announce_target()

    def announce_target(self) -> None:
        """Say which message a bare number acts on whenever that changes (a prompt, or newer buttons)."""
        target = number_target(self.user)
        if target is None or target == self.target:
            return
        self.target = target
        kind, message_id = target
        if kind == "reply":
            self.write(f"(a number you type now answers #{message_id}; 12.3 presses button 3 of message #12)")
        else:
            self.write(f"(a number you type now presses that button of #{message_id})")

    def save(self, filename: str, data: bytes) -> None:
        """A document the bot sends (the /export CSV) lands in the current directory, never over a file."""
        name = Path(filename).name or "document"
        path = Path.cwd() / name
        stem, suffix, n = path.stem, path.suffix, 1
        while path.exists():
            n += 1
            path = path.with_name(f"{stem}-{n}{suffix}")
        try:
            path.write_bytes(data)
        except OSError as exc:
            self.write(f"(could not save {name}: {exc.strerror})")
            return
        self.write(f"💾 saved to {path}")

    async def follow(self) -> None:
        while True:
            self.flush()
            await self.user.world.pulse.wait(3600)


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """A daemon thread: raw reads of fd 0 (never the buffered sys.stdin, so exiting with a read pending is
    safe), split into lines and handed to the loop; None at end of input."""
    pending = b""
    try:
        while True:
            chunk = os.read(0, 65536)
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                loop.call_soon_threadsafe(lines.put_nowait, raw.decode("utf-8", "replace").rstrip("\r"))
    except OSError:
        pass
    finally:
        if pending:
            loop.call_soon_threadsafe(lines.put_nowait, pending.decode("utf-8", "replace").rstrip("\r"))
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(lines.put_nowait, None)


def number_target(user: SimUser) -> tuple[str, int] | None:
    """("reply", id) when the latest bot message expects a reply, else ("press", id of the latest with buttons)."""
    last = user.last
    if last is not None and last.force_reply:
        return "reply", last.message_id
    latest = next((m for m in reversed(user.chat) if m.buttons), None)
    return ("press", latest.message_id) if latest is not None else None


class Console:
    def __init__(self, tg: TelegramStandin, user: SimUser, term: Terminal, app: Any) -> None:
        self.tg, self.user, self.term, self.app = tg, user, term, app
        self.answers: set[asyncio.Task[None]] = set()
        self.handling = 0  # updates the bot is still handling (a /connect waiting on Graph retries)
        if app is not None:
            app.dp.update.outer_middleware(self._count_handling)

    async def _count_handling(self, handler: Any, event: Any, data: dict[str, Any]) -> Any:
        self.handling += 1
        try:
            return await handler(event, data)
        finally:
            self.handling -= 1

    def latest_with_buttons(self) -> Message | None:
        return next((m for m in reversed(self.user.chat) if m.buttons), None)

    async def handle(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if self.term.echo:
            self.term.write(f"you> {text}")
        last = self.user.last
        if last is not None and last.force_reply and not text.startswith("/"):  # a command leaves the prompt
            await self.user.reply(last.message_id, text.removeprefix("'"))
            return
        if text.startswith("'"):
            await self.user.send(text[1:])
            return
        match = PRESS.match(text)
        target = self.latest_with_buttons() if match and match.group(1) is None else None
        if match and match.group(1) is None:
            count = len(target.button_list()) if target is not None else 0
            if not 1 <= int(match.group(2)) <= count:  # never a silent fallback to text: say what happened
                where = f"message #{target.message_id} has buttons 1–{count}" if target else "no message has buttons"
                self.term.write(f"(nothing pressed: {where}; '{match.group(2)} sends the text {match.group(2)})")
                return
        if match and match.group(1) is not None:
            target = self.user.state.messages.get(int(match.group(1)))
            if target is None or not target.from_bot or target.deleted or not target.buttons:
                self.term.write(f"(no message #{match.group(1)} with buttons)")
                return
        if match is None or target is None:
            await self.user.send(text)
            return
        await self.press(target, int(match.group(2)))

    async def press(self, msg: Message, number: int) -> None:
        from standins.telegram import button_for

        chosen = button_for(msg, number)
        if chosen is None:
            self.term.write(f"(message #{msg.message_id} has buttons 1–{len(msg.button_list())})")
            return
        label, data = chosen
        button = msg.button_list()[number - 1]
        if "callback_data" not in button:
            self.term.write(f"🔗 {label}: {data}")
            return
        self.term.write(f"→ {label} (#{msg.message_id})")  # which button of which message was pressed
        callback = await self.user.press(msg.message_id, button["callback_data"])
        task = asyncio.create_task(self._show_answer(callback))
        self.answers.add(task)
        task.add_done_callback(self.answers.discard)

    async def _show_answer(self, callback: Any) -> None:
        """A press's toast or alert (answerCallbackQuery text), shown like Telegram shows it, once."""
        with contextlib.suppress(TimeoutError):
            answer = await self.user.wait_answered(callback, timeout=30)
            if answer.get("text"):
                self.term.flush()
                self.term.write(("⚠️ " if answer.get("show_alert") else "💬 ") + str(answer["text"]))

    async def settle(self) -> None:
        """Until the bot is idle, no job is due or running and no progress watcher is left (bounded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT_S
        queue = self.app.deps.queue
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                await self.tg.wait_idle(timeout=remaining, quiet=0.3)
            except TimeoutError:
                return
            due = await queue.zcount(queue.default_queue_name, "-inf", int(time.time() * 1000))
            watching = any(not task.done() for task in self.app.deps.watchers.tasks.values())
            if not due and not watching and not self.answers and not self.handling:
                return
            await asyncio.sleep(0.1)


LOG_FILE = "leadgram-console.log"


def _log_to_file(level: str) -> Path:
    """The terminal is a chat: log lines (a Graph retry, a warning) go to a file, never between messages."""
    path = Path.cwd() / LOG_FILE
    try:
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:  # a read-only directory: keep the chat clean anyway
        path = Path(os.devnull)
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return path


async def run(args: argparse.Namespace) -> int:
    from bot.app import poll, stop_serving
    from leadgram.wiring import runtime
    from standins.telegram import TelegramStandin

    settings = get_settings()
    log_file = _log_to_file(settings.log_level)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger("alembic").getEffectiveLevel()))
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    interactive = sys.stdin.isatty()
    name = args.name or _default_name()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    async with preview_fetcher() as fetch, TelegramStandin(token=CONSOLE_TOKEN, fetch=fetch) as tg:
        settings = console_settings(settings, tg)
        user = tg.user(args.user_id, name)
        term = Terminal(user, echo=not interactive)
        with stop_on_signals(stop):
            async with runtime(settings, worker=True, scheduler=True, token=tg.token) as app:
                polling = asyncio.create_task(poll(app))
                follower = asyncio.create_task(term.follow())
                console = Console(tg, user, term, app)
                term.write(f"Leadgram console: you are {name} (Telegram id {user.id}) chatting with the real bot "
                           f"through a local Telegram stand-in; data in {_where(settings.database_url)}.")
                term.write(f"Log lines go to {log_file}.")
                term.write("Type a message (start with /start). A number presses that button on the latest "
                           "message with buttons, 12.3 presses button 3 of message #12, '3 sends the text 3. "
                           "/quit or Ctrl+D leaves.")
                if uses_dev_key(settings):
                    term.write(DEV_KEY_NOTICE)
                threading.Thread(target=_read_stdin, args=(loop, lines), name="console-stdin", daemon=True).start()
                stopping = asyncio.create_task(stop.wait())
                try:
                    while not stop.is_set() and not polling.done():
                        getting = asyncio.create_task(lines.get())
                        await asyncio.wait({getting, stopping, polling}, return_when=asyncio.FIRST_COMPLETED)
                        if not getting.done():
                            getting.cancel()
                            break
                        line = getting.result()
                        if line is None or line.strip().lower() in QUIT:
                            if not interactive:
                                await console.settle()
                            break
                        await console.handle(line)
                        if not interactive:
                            await console.settle()
                    if polling.done() and not polling.cancelled():
                        polling.result()  # the bot itself failed: let it surface
                finally:
                    stopping.cancel()
                    await stop_serving(app, polling)
                    for task in (follower, *console.answers):
                        task.cancel()
                    await asyncio.gather(follower, *console.answers, return_exceptions=True)
                    term.flush()
    if interactive:
        term.write("bye")
    return 0
