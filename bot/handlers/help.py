"""/help and the command menu (setMyCommands) — one list for both."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import BotCommand, Message

router = Router(name="help")

COMMANDS: list[tuple[str, str]] = [
    ("contacts", "Your leads, 10 per page"),
    ("hot", "Hot leads, best first"),
    ("find", "Find a lead: /find <name, @username, tag or words>"),
    ("reminders", "Your ⏰ reminders: done, snooze, cancel"),
    ("autoscore", "Tag and score everyone with AI"),
    ("stages", "Name, add or remove your deal stages"),
    ("stats", "Leads per stage and sentiment, this week vs last"),
    ("replies", "Saved replies: add, edit, delete"),
    ("sync", "Pull new Instagram DMs now"),
    ("export", "All contacts as a CSV file"),
    ("settings", "Niche, goal, alerts, timezone"),
    ("connect", "Connect Instagram: /connect <token>"),
    ("demo", "Load the demo account"),
    ("disconnect", "Stop syncing, delete the stored token"),
    ("delete_my_data", "Delete everything Leadgram keeps about you"),
    ("start", "Onboarding"),
    ("help", "What Leadgram can do"),
]

HELP = "\n".join([
    "<b>Leadgram</b> turns your Instagram DMs into scored leads.",
    "",
    *(f"/{name} — {text.replace('<', '&lt;').replace('>', '&gt;')}" for name, text in COMMANDS),
    "",
    "On a contact: 💬 full chat, 🏷 tags (➕ new tag by reply), 🎯 score (buttons or a typed number), "
    "♻️ rescore, 🏁 stage (new → talking → offer sent → won / lost, and up to 8 with your own in /stages), "
    "🚫 spam and 🗄 archive (undo on the same "
    "card). Your own tags, scores and stages are never overwritten by AI; won, lost, spam and archived leads "
    "are never 🔥 hot.",
    "Reply without leaving Telegram: ✍️ Reply (type it), 🤖 Draft (AI writes it) or 💾 Saved (/replies, with "
    "{first_name}, {username}, {link}); you see every draft and only 📤 Send sends it. The card says how long "
    "Instagram lets you reply; 📲 Open in Instagram for media and voice.",
    "⏰ Remind me on a card: in 1 hour, this evening, tomorrow 9:00, in 3 days, or a typed time (\"fri 10:00\", "
    "\"2d\", \"tomorrow 18:30\"), in your timezone and never in your quiet hours; it comes back as the card, "
    "with snooze and done.",
    "🔥 hot · 🧊 cold · 💤 ghosted · ❄️ unsure · 🆕 new since you last looked",
])


async def set_commands(bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command=name, description=text) for name, text in COMMANDS])


@router.message(Command("help"))
async def help_(message: Message) -> None:
    await message.answer(HELP)
