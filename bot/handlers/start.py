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
from bot.scrub import scrub
from core.db.models import User
from core.services import onboarding as onboarding_service
from core.services.onboarding import ConnectRefused, OnboardingRefused, Step, step_of

router = Router(name="start")

ASK_NICHE = "👋 Welcome to <b>Leadgram</b>: your Instagram DMs, scored as leads.\n\nFirst, what's your niche? " \
            "(e.g. <i>fitness coach</i>, <i>handmade jewelry shop</i>, <i>tattoo artist</i>)"
ASK_GOAL = "Got it. What's your goal with DMs? (e.g. <i>sell my 12-week program</i>, <i>book consultations</i>)"
CONNECT = ("Last step: connect Instagram.\n• <b>/connect &lt;token&gt;</b> with an Instagram access token "
           "(the message is deleted right away and the token is stored encrypted), or\n"
           "• try the bundled <b>demo account</b> first.")


def onboarding(*steps: Step):  # type: ignore[no-untyped-def]
    """Filter: a plain reply while the creator is at one of `steps` (a /command is always the command)."""
    async def check(message: Message, user: User) -> bool:
        return step_of(user) in steps and not (message.text or "").startswith("/")
    return check


@router.message(CommandStart())
async def start(message: Message, user: User) -> None:
    step = step_of(user)
    if step is Step.goal:
        await message.answer(ASK_GOAL)
    elif step is Step.connect:
        await message.answer(CONNECT, reply_markup=keyboards.onboarding_keyboard())
    elif step is Step.done:
        await message.answer("👋 Welcome back. /contacts shows your leads, /help lists everything.")
    else:
        await message.answer(ASK_NICHE)


@router.message(F.text, onboarding(Step.niche, Step.goal))
async def answered(message: Message, user: User, session: AsyncSession) -> None:
    result = await onboarding_service.answer(session, user, message.text or "")
    if isinstance(result, OnboardingRefused):
        await message.answer("❌ That was empty. " + (ASK_NICHE if step_of(user) is Step.niche else ASK_GOAL))
    elif result.step is Step.goal:
        await message.answer(f"Niche: <b>{q(result.value)}</b>.\n\n{ASK_GOAL}")
    else:
        await message.answer(f"Goal: <b>{q(result.value)}</b>.\n\n{CONNECT}",
                             reply_markup=keyboards.onboarding_keyboard())


@router.callback_query(StartCb.filter(F.a == "connect"))
async def connect_help(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = "Send /connect followed by your Instagram access token."
    callback_answer.show_alert = True


CONNECT_REFUSED = {
    ConnectRefused.NO_TOKEN: "Send <b>/connect &lt;token&gt;</b> with an Instagram access token "
                             "(Instagram Login, instagram_business_manage_messages).",
    ConnectRefused.REJECTED: "❌ Instagram rejected that token (expired or invalid). Nothing was saved.",
}


@router.message(Command("connect"))
async def connect(message: Message, command: CommandObject, user: User, session: AsyncSession, deps: Deps) -> None:
    if (command.args or "").strip():
        await scrub(message)  # the token must not stay in the chat history (if Telegram refuses, the user is told)
    result = await onboarding_service.connect_token(session, user, command.args or "", http=deps.http,
                                                    settings=deps.settings, cipher=deps.cipher, now=deps.clock())
    if isinstance(result, ConnectRefused):
        await message.answer(CONNECT_REFUSED[result])
        return
    if isinstance(result, onboarding_service.Unchecked):
        await message.answer(f"❌ The token could not be checked: {q(result.why)}. "
                             "Nothing was saved; try again in a minute.")
        return
    await start_sync(deps, session, user, message.chat.id, f"Connected {q(result.name)}. Syncing your DMs",
                     new_account=True)
