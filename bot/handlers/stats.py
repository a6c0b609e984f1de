"""/stats: leads per stage and per sentiment, this week against last week (text; 📈 a chart of the same)."""

from __future__ import annotations

import asyncio

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, rendering
from bot.callbacks import StatsCb
from bot.charts import stats_chart
from core.db.models import User
from core.services.stats import stats as lead_stats
from core.timeutil import utcnow

router = Router(name="stats")


@router.message(Command("stats"))
async def stats(message: Message, user: User, session: AsyncSession) -> None:
    await message.answer(rendering.stats_text(await lead_stats(session, user, utcnow())),
                         reply_markup=keyboards.stats_keyboard())


@router.callback_query(StatsCb.filter())
async def chart(callback: CallbackQuery, user: User, session: AsyncSession) -> None:
    st = await lead_stats(session, user, utcnow())
    png = await asyncio.to_thread(stats_chart, st)  # drawing takes a few ms of CPU: off the event loop
    if callback.message is not None:
        await callback.message.answer_photo(BufferedInputFile(png, filename="stats.png"),
                                            caption=rendering.stats_chart_caption(st))
