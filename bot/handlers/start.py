"""/start onboarding (niche, then goal, as plain replies), then /connect <token> or the demo account."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import StartCb
from bot.deps import Deps
from bot.handlers.common import start_sync
from bot.rendering import q
from core.clients.instagram import GraphError, TokenInvalid
from core.clients.source import graph_client
from core.db.models import User
from core.rules import one_line
from core.services.connect import connect_demo, connect_token
from core.services.tokens import assumed_expiry

router = Router(name="start")

ASK_NICHE = "👋 Welcome to <b>Leadgram</b>: your Instagram DMs, scored as leads.\n\nFirst, what's your niche? " \
            "(e.g. <i>fitness coach</i>, <i>handmade jewelry shop</i>, <i>tattoo artist</i>)"
ASK_GOAL = "Got it. What's your goal with DMs? (e.g. <i>sell my 12-week program</i>, <i>book consultations</i>)"
CONNECT = ("Last step: connect Instagram.\n• <b>/connect &lt;token&gt;</b> with an Instagram access token "
           "(the message is deleted right away and the token is stored encrypted), or\n"
           "• try the bundled <b>demo account</b> first.")


def onboarding(step: str):  # type: ignore[no-untyped-def]
    async def check(message: Message, user: User) -> bool:
        return user.onboarding_step == step and not (message.text or "").startswith("/")
    return check


@router.message(CommandStart())
async def start(message: Message, user: User) -> None:
    if user.onboarding_step == "goal":
        await message.answer(ASK_GOAL)
    elif user.onboarding_step == "connect":
        await message.answer(CONNECT, reply_markup=keyboards.onboarding_keyboard())
    elif user.onboarding_step == "done":
        await message.answer("👋 Welcome back. /contacts shows your leads, /help lists everything.")
    else:
        await message.answer(ASK_NICHE)


@router.message(F.text, onboarding("niche"))
async def got_niche(message: Message, user: User, session: AsyncSession) -> None:
    user.niche = one_line(message.text, 200)
    user.onboarding_step = "goal"
    await session.commit()  # saved before the reply, so the next message sees the new step
    await message.answer(f"Niche: <b>{q(user.niche)}</b>.\n\n{ASK_GOAL}")


@router.message(F.text, onboarding("goal"))
async def got_goal(message: Message, user: User, session: AsyncSession) -> None:
    user.goal = one_line(message.text, 300)
    user.onboarding_step = "connect"
    await session.commit()
    await message.answer(f"Goal: <b>{q(user.goal)}</b>.\n\n{CONNECT}", reply_markup=keyboards.onboarding_keyboard())


@router.callback_query(StartCb.filter(F.a == "demo"))
@router.message(Command("demo"))
async def demo(event: Message | CallbackQuery, user: User, session: AsyncSession, deps: Deps) -> None:
    await connect_demo(session, user.id)
    user.onboarding_step = "done"
    await session.commit()
    chat_id = event.chat.id if isinstance(event, Message) else user.chat_id or event.from_user.id
    await start_sync(deps, user, chat_id, "Loading the demo account")


@router.callback_query(StartCb.filter(F.a == "connect"))
async def connect_help(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = "Send /connect followed by your Instagram access token."
    callback_answer.show_alert = True


@router.message(Command("connect"))
async def connect(message: Message, command: CommandObject, user: User, session: AsyncSession, deps: Deps) -> None:
    token = (command.args or "").strip()
    if not token:
        await message.answer("Send <b>/connect &lt;token&gt;</b> with an Instagram access token "
                             "(Instagram Login, instagram_business_manage_messages).")
        return
    await message.delete()  # the token must not stay in the chat history
    try:
        account = await graph_client(deps.http, token, deps.settings).account()
    except TokenInvalid:
        await message.answer("❌ Instagram rejected that token (expired or invalid). Nothing was saved.")
        return
    except GraphError as exc:
        await message.answer(f"❌ Instagram could not check the token right now ({q(type(exc).__name__)}). "
                             "Nothing was saved; try again in a minute.")
        return
    await connect_token(session, user.id, account, token, deps.cipher, expires_at=assumed_expiry(deps.clock()))
    user.onboarding_step = "done"
    await session.commit()
    name = f"@{account.username}" if account.username else account.user_id
    await start_sync(deps, user, message.chat.id, f"Connected {q(name)}. Syncing your DMs")
