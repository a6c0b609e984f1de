"""`leadgram console` traps: what a bare number acts on is said, a number with no such button is refused,
log lines go to a file and a Graph failure reads as words."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup

from leadgram.commands.console import Console, Terminal
from standins.telegram import TelegramStandin
from tests.test_cli_run import LEADGRAM, START, clean_env, killed_on_failure

pytestmark = pytest.mark.timeout(300)


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=t) for t in labels]])


async def test_bare_numbers_say_their_target_and_refuse_missing_buttons(capsys: pytest.CaptureFixture[str]) -> None:
    async with TelegramStandin(token="515151:CONSOLE") as tg:
        ann = tg.user(5, "Ann")
        term = Terminal(ann, echo=False)
        console = Console(tg, ann, term, app=None)
        bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
        try:
            card = await bot.send_message(5, "card", reply_markup=keyboard("💬 Chat", "🏷 Tags", "🎯 Score"))
            term.flush()
            assert f"presses that button of #{card.message_id}" in capsys.readouterr().out
            await console.handle("7")  # card has 3 buttons: nothing is pressed, nothing is sent
            assert "nothing pressed" in capsys.readouterr().out
            assert all(m.from_bot for m in ann.state.messages.values()) and tg.world.callbacks == {}
            prompt = await bot.send_message(5, "🎯 reply with a score", reply_markup=ForceReply(force_reply=True))
            term.flush()
            assert f"answers #{prompt.message_id}" in capsys.readouterr().out
            await console.handle("3")  # the answer to the prompt, not the card's third button
            reply = ann.state.messages[max(ann.state.messages)]
            assert not reply.from_bot and reply.text == "3" and reply.reply_to == prompt.message_id
            assert tg.world.callbacks == {}
        finally:
            await bot.session.close()


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_console_logs_to_a_file_and_a_graph_failure_reads_as_words(tmp_path: Path) -> None:
    env = clean_env(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
                    IG_API_BASE=f"http://127.0.0.1:{dead_port()}")
    script = "/start\nfitness coach\nsell my program\n/connect IGAAfake\n/quit\n"
    proc = await asyncio.create_subprocess_exec(
        LEADGRAM, "console", cwd=tmp_path, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with killed_on_failure(proc):
        out, err = await asyncio.wait_for(proc.communicate(script.encode()), START + 120)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "could not be reached" in text and "Nothing was saved" in text
    assert "GraphUnavailable" not in text and "WARNING" not in text + err.decode()
    log = (tmp_path / "leadgram-console.log").read_text(encoding="utf-8")
    assert "Graph call failed" in log and "IGAAfake" not in log
