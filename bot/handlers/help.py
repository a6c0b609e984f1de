"""/help and the command menu (setMyCommands) — one list for both."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import BotCommand, Message

router = Router(name="help")

COMMANDS: list[tuple[str, str]] = [
    ("contacts", "Your leads, 10 per page"),
    ("hot", "Hot leads, best first"),
    ("autoscore", "Tag and score everyone with AI"),
    ("sync", "Pull new Instagram DMs now"),
    ("export", "All contacts as a CSV file"),
    ("settings", "Niche, goal, alerts, timezone"),
    ("connect", "Connect Instagram: /connect <token>"),
    ("demo", "Load the demo account"),
    ("start", "Onboarding"),
    ("help", "What Leadgram can do"),
]

HELP = "\n".join([
    "<b>Leadgram</b> turns your Instagram DMs into scored leads.",
    "",
    *(f"/{name} — {text.replace('<', '&lt;').replace('>', '&gt;')}" for name, text in COMMANDS),
    "",
    "On a contact: 💬 full chat, 🏷 tags (➕ new tag by reply), 🎯 score (buttons or a typed number), "
    "♻️ rescore. Your own tags and scores are never overwritten by AI.",
    "🔥 hot · 🧊 cold · 💤 ghosted · ❄️ unsure · 🆕 new since you last looked",
])


async def set_commands(bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command=name, description=text) for name, text in COMMANDS])


@router.message(Command("help"))
async def help_(message: Message) -> None:
    await message.answer(HELP)
