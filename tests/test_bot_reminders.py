"""⏰ Reminders end to end through the Telegram stand-in, on an injected clock (no waiting for wall-clock times):
set from the card (a preset and typed times, refusals in words, quiet hours said), pushed once by the scheduler's
job with the card's buttons even with two schedulers, snoozed and done from the push, /reminders with cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.callbacks import ContactCb, ReminderCb
from core import jobs
from core.db.engine import transaction
from core.db.models import Reminder, User
from core.queue import job
from standins.telegram import Message, SimUser
from tests.bot_harness import BotWorld, bot_world
from tests.test_lifecycle_notes import _demo_creator
from tests.test_lifecycle_stages import labels
from workers.scheduler import remind_tick

pytestmark = pytest.mark.timeout(240)
NOW = datetime(2031, 6, 4, 12, 0, tzinfo=UTC)  # Wednesday, 14:00 in Berlin


async def _reminders(world: BotWorld) -> list[Reminder]:
    async with world.sessions() as s:
        return list((await s.execute(select(Reminder).order_by(Reminder.id))).scalars())


async def _open_card(world: BotWorld, ann: SimUser) -> tuple[int, int]:
    listing = await world.say(ann, "/contacts", "📇")
    mid = listing.message_id
    target = ContactCb.unpack(listing.buttons[0][0][1]).id
    await ann.press(mid, listing.buttons[0][0][0])
    await ann.wait_for(lambda: "⏰ Remind me" in labels(ann.message(mid)))
    return mid, target


async def _tick(world: BotWorld, at: datetime) -> list[int]:
    """What one scheduler does at `at`; waits for the delivery jobs it enqueued to finish."""
    queue = world.app.deps.queue
    enqueued = await remind_tick(queue, world.sessions, at)
    for user_id in enqueued:
        await job(jobs.namespaced(queue, jobs.reminder_job_id(user_id, at)), queue).result(timeout=30)
    return enqueued


def _pushes(ann: SimUser) -> list[Message]:
    return [m for m in ann.chat if m.text.startswith("⏰ Reminder")]


async def test_set_push_snooze_done_and_list(db_url, sessions, redis_url, unique) -> None:
    uid = await _demo_creator(sessions, 1501)
    async with transaction(sessions) as s:
        await s.execute(update(User).where(User.id == uid).values(timezone="Europe/Berlin", quiet_start_hour=22,
                                                                  quiet_end_hour=8))
    async with bot_world(db_url, sessions, redis_url, unique) as world:
        world.app.deps.clock = lambda: NOW
        ann = world.user(1501)
        mid, target = await _open_card(world, ann)

        # ⏰ → In 1 hour: the card comes back saying when.
        await ann.press(mid, "⏰ Remind me")
        await ann.wait_for(lambda: "⌨️ Type a time" in labels(ann.message(mid)))
        await ann.press(mid, "⏰ In 1 hour")
        await ann.wait_for(lambda: "I'll remind you" in ann.message(mid).text)
        assert "Wed 4 Jun, 15:00" in ann.message(mid).text  # 13:00 UTC, shown in Berlin time
        assert "Reminder: Wed 4 Jun, 15:00" in ann.message(mid).text  # and the card itself says it
        [first] = await _reminders(world)
        assert (first.user_id, first.contact_id, first.status, first.due_at) == (uid, target, "pending",
                                                                                 NOW + timedelta(hours=1))

        # ⌨️ Type a time: garbage and the past are refused in words (nothing saved), quiet hours are said.
        await ann.press(mid, "⏰ Remind me")
        await ann.wait_for(lambda: "⌨️ Type a time" in labels(ann.message(mid)))
        await ann.press(mid, "⌨️ Type a time")
        prompt = await world.new_message(ann, mid, "reply with when to remind you")
        assert prompt.force_reply
        await ann.reply(prompt.message_id, "whenever")
        await world.new_message(ann, prompt.message_id, "couldn't read that time")
        await ann.reply(prompt.message_id, "2020-01-01 10:00")
        await world.new_message(ann, prompt.message_id, "already passed")
        assert len(await _reminders(world)) == 1
        await ann.reply(prompt.message_id, "fri 10:00")
        await world.new_message(ann, prompt.message_id, "Fri 6 Jun, 10:00")
        await ann.reply(prompt.message_id, "23:30")
        quiet = await world.new_message(ann, prompt.message_id, "quiet hours")
        assert "Thu 5 Jun, 08:00" in quiet.text
        assert [r.due_at for r in await _reminders(world)] == [
            NOW + timedelta(hours=1), datetime(2031, 6, 6, 8, 0, tzinfo=UTC), datetime(2031, 6, 5, 6, 0, tzinfo=UTC)]

        # Not due yet: nothing. Due: two schedulers in two slots at once, one push, with the card's buttons.
        assert await _tick(world, NOW + timedelta(minutes=59)) == []
        due = NOW + timedelta(hours=1, seconds=1)
        assert await _tick(world, due) == [uid]
        assert await _tick(world, due + timedelta(seconds=jobs.REMINDER_TICK_S)) == []  # claimed: nothing due
        push = await ann.wait_for(lambda: next(iter(_pushes(ann)), None))
        assert len(_pushes(ann)) == 1
        datas = [b["callback_data"] for b in push.button_list() if "callback_data" in b]
        assert ReminderCb(a="snz", id=first.id, v=0).pack() in datas
        assert ReminderCb(a="done", id=first.id).pack() in datas
        assert ContactCb(a="chat", id=target).pack() in datas  # the card's own buttons ride along
        assert (await _reminders(world))[0].status == "sent"

        # ⏰ +1 hour from the push: pending again, an hour after the press; then pushed again and ✅ Done.
        world.app.deps.clock = lambda: due
        await ann.press(push.message_id, "⏰ +1 hour")
        await ann.wait_for(lambda: "Snoozed" in ann.message(push.message_id).text)
        snoozed = (await _reminders(world))[0]
        assert (snoozed.status, snoozed.snoozes, snoozed.due_at) == ("pending", 1, due + timedelta(hours=1))
        assert await _tick(world, due + timedelta(hours=1)) == [uid]
        again = await world.new_message(ann, push.message_id, "⏰ Reminder")
        assert "snoozed 1×" in again.text
        await ann.press(again.message_id, "✅ Done")
        await ann.wait_for(lambda: "✅ Done" in ann.message(again.message_id).text)
        assert (await _reminders(world))[0].status == "done"

        # /reminders: the two still open, soonest first; ✖️ cancels, ✅ closes, the page is redrawn.
        listing = await world.say(ann, "/reminders", "Your reminders")
        assert listing.text.index("Thu 5 Jun, 08:00") < listing.text.index("Fri 6 Jun, 10:00")
        await ann.press(listing.message_id, "✖️ 1")
        await ann.wait_for(lambda: "(1)" in ann.message(listing.message_id).text)
        await ann.press(listing.message_id, "✅ 1")
        await ann.wait_for(lambda: "No reminders" in ann.message(listing.message_id).text)
        assert [r.status for r in await _reminders(world)] == ["done", "done", "cancelled"]
        # With none open, the card says no reminder.
        card, _ = await _open_card(world, ann)
        assert "Reminder" not in ann.message(card).text
        await world.tg.wait_idle()  # the press is answered after the card is drawn

        assert world.tg.errors == [], [(e.method, e.error) for e in world.tg.errors]
        assert world.tg.unanswered_callbacks == []


async def test_reminders_pages_and_foreign_ids(db_url, sessions, redis_url, unique) -> None:
    from core.db.models import Contact
    from core.services import reminders

    uid = await _demo_creator(sessions, 1502)
    async with transaction(sessions) as s:
        other = User(telegram_id=1503, chat_id=1503, onboarding_step="done")
        s.add(other)
        await s.flush()
        lead = Contact(user_id=other.id, instagram_id="x1", name="Not Ann's", tags=[])
        s.add(lead)
        await s.flush()
        theirs = Reminder(user_id=other.id, contact_id=lead.id, due_at=NOW, status="pending", snoozes=0,
                          created_at=NOW)
        mine = [Reminder(user_id=uid, contact_id=c, due_at=NOW + timedelta(hours=n + 1), status="pending", snoozes=0,
                         created_at=NOW)
                for n, c in enumerate((await s.execute(select(Contact.id).where(Contact.user_id == uid)
                                                       .limit(reminders.PAGE + 2))).scalars())]
        s.add_all([theirs, *mine])
    async with bot_world(db_url, sessions, redis_url, unique) as world:
        world.app.deps.clock = lambda: NOW
        ann = world.user(1502)
        listing = await world.say(ann, "/reminders", "Your reminders")
        assert "page 1/2" in listing.text and "Not Ann's" not in listing.text
        await ann.press(listing.message_id, "Next ›")
        await ann.wait_for(lambda: "page 2/2" in ann.message(listing.message_id).text)
        # Callback data is user input: another creator's reminder id is "gone", and stays untouched.
        forged = await ann.press_raw(listing.message_id, ReminderCb(a="done", id=theirs.id, p=2).pack())
        assert "gone" in (await ann.wait_answered(forged)).get("text", "")
        async with sessions() as s:
            assert (await s.get(Reminder, theirs.id)).status == "pending"  # type: ignore[union-attr]
        assert world.tg.errors == [] and world.tg.unanswered_callbacks == []
