"""/stages: the creator's stages in their fixed order: ✏️ rename any, ➕ add their own (after a chosen open stage,
at most rules.MAX_STAGES in all; `/stages add <name>` puts it just before won and lost), 🗑 remove an own stage
(asked first, saying where its leads go)."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering, screens
from bot.callbacks import StageCb
from bot.views import show
from core.db.models import User
from core.rules import stage_key
from core.services import stages

router = Router(name="stage_settings")
OLD_PROMPT = re.compile(r"^🏁 Stage (\d) ·")  # rename prompts sent before the hidden anchor (five stages then)


def prompt_of(message: Message) -> dict[str, StageCb] | bool:
    """Filter: a reply to our ForceReply prompt for a stage name; passes its hidden anchor (ren | add) as
    `action`. A /command sent then is the command."""
    prompt = message.reply_to_message
    if prompt is None or not prompt.from_user or not prompt.from_user.is_bot or (message.text or "").startswith("/"):
        return False
    found = rendering.anchored(prompt.entities or [], StageCb)
    if found is not None and found.a in ("ren", "add"):
        return {"action": found}
    old = OLD_PROMPT.match(prompt.text or "")
    return {"action": StageCb(a="ren", k=int(old.group(1)) - 1)} if old else False


@router.message(Command("stages"))
async def settings(message: Message, command: CommandObject, user: User, session: AsyncSession) -> None:
    verb, _, name = (command.args or "").strip().partition(" ")
    if verb.lower() == "add":
        await _answer(message, user, await stages.add_stage(session, user, name), "command")
        return
    screen = screens.stages_settings(user)
    await message.answer(screen.text, reply_markup=screen.markup)


@router.callback_query(StageCb.filter(F.a.in_({"list", "new", "del"})))
async def screen(callback: CallbackQuery, callback_data: StageCb, user: User, session: AsyncSession,
                 callback_answer: CallbackAnswer) -> None:
    if callback_data.a == "list":
        shown = screens.stages_settings(user)
    elif callback_data.a == "new":
        shown = screens.stage_places(user)
    else:
        plan = await stages.removal_plan(session, user, stage_key(callback_data.k))
        if isinstance(plan, stages.StageRefused):
            callback_answer.text = rendering.stage_refusal(plan)
            return
        shown = screens.stage_removal(plan)
    await show(callback, shown.text, shown.markup)


@router.callback_query(StageCb.filter(F.a == "delok"))
async def remove(callback: CallbackQuery, callback_data: StageCb, user: User, session: AsyncSession,
                 callback_answer: CallbackAnswer) -> None:
    result = await stages.remove_stage(session, user, stage_key(callback_data.k))
    if isinstance(result, stages.StageRefused):
        callback_answer.text = rendering.stage_refusal(result)
        return
    shown = screens.stages_settings(user, rendering.stage_removed(result))
    await show(callback, shown.text, shown.markup)


@router.callback_query(StageCb.filter(F.a.in_({"ren", "after"})))
async def ask_name(callback: CallbackQuery, callback_data: StageCb, user: User,
                   callback_answer: CallbackAnswer) -> None:
    key = stage_key(callback_data.k)
    name = stages.names_of(user).get(key)
    if name is None or callback.message is None:
        callback_answer.text = rendering.stage_refusal(stages.StageRefused.UNKNOWN_STAGE)
        return
    action = StageCb(a="ren" if callback_data.a == "ren" else "add", k=callback_data.k)
    await callback.message.answer(rendering.stage_name_prompt(action, name),
                                  reply_markup=ForceReply(force_reply=True, input_field_placeholder=name))


@router.message(F.text, prompt_of)
async def named(message: Message, action: StageCb, user: User, session: AsyncSession) -> None:
    key = stage_key(action.k)
    if action.a == "add":
        await _answer(message, user, await stages.add_stage(session, user, message.text or "", after=key))
        return
    await _answer(message, user, await stages.rename_stage(session, user, key, message.text or ""))


async def _answer(message: Message, user: User, result: stages.StageAdded | stages.StageRenamed | stages.StageRefused,
                  typed: str = "prompt") -> None:
    if isinstance(result, stages.StageRefused):
        await message.answer(rendering.stage_refusal(result, typed))
        return
    shown = screens.stages_settings(user, rendering.stage_changed(result))
    await message.answer(shown.text, reply_markup=shown.markup)
