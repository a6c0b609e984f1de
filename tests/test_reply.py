"""Replying to a lead end to end: the real bot through the Telegram stand-in, sends through the Instagram
stand-in (Graph's Send API shape, window rule, errors), the test's database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select

from bot.callbacks import ReplyCb
from core.db.models import Message, User
from core.services import reply as replies
from tests.reply_harness import (
    NOW,
    buttons,
    connect,
    contact_of,
    draft,
    open_card,
    replies_of,
    reply_world,
)

pytestmark = pytest.mark.timeout(120)


async def _messages(world, contact_id: int) -> list[Message]:
    async with world.sessions() as session:
        return list((await session.execute(select(Message).where(Message.contact_id == contact_id)
                                           .order_by(Message.created_at))).scalars())


async def test_send_inside_window_double_press_shows_in_chat_once(db_url, sessions, redis_url, unique) -> None:
    async with reply_world(db_url, sessions, redis_url, unique) as (world, ig):
        mia = await connect(world, ig, 3001)
        lead = await contact_of(world, 3001, "fresh")
        card = await open_card(world, mia, lead.id)
        card_msg = mia.message(card)
        assert ("📲 Open in Instagram", "https://ig.me/m/lead_fresh") in [b for row in card_msg.buttons for b in row]
        assert replies.reply_window(lead, NOW, False).kind is replies.WindowKind.open

        shown = await draft(world, mia, card, "Hi! It's $99, want the link? 🙌")
        assert "📤 Send" in buttons(shown) and ig.send_attempts == 0  # a draft is never sent by itself
        # Double press: two callbacks before the bot handled either.
        await mia.press(shown.message_id, "📤 Send")
        await mia.press(shown.message_id, "📤 Send")
        await mia.wait_for(lambda: "Sent to" in mia.message(shown.message_id).text)
        await world.tg.wait_idle()
        assert [s.text for s in ig.sent] == ["Hi! It's $99, want the link? 🙌"]
        assert ig.sent[0].recipient_id == lead.instagram_id and not ig.sent[0].human_agent

        (reply,) = await replies_of(world, lead.id)
        assert reply.status == "sent" and reply.instagram_message_id == ig.sent[0].message_id
        stored = await _messages(world, lead.id)
        assert [m.instagram_message_id for m in stored if m.from_creator][-1] == ig.sent[0].message_id
        fresh = await contact_of(world, 3001, "fresh")
        assert fresh.last_message == reply.text and fresh.last_message_from_creator is True
        assert fresh.message_count == len(stored) == 3

        # The chat view shows it at once; a sync (Graph now serves the same message id) adds no copy.
        await mia.press(shown.message_id, "💬 Chat")
        await mia.wait_for(lambda: "page 1/" in mia.message(shown.message_id).text)
        assert "want the link?" in mia.message(shown.message_id).text
        status = await world.say(mia, "/sync", "Syncing")
        await mia.wait_for(lambda: "✅" in mia.message(status.message_id).text)
        assert len(await _messages(world, lead.id)) == 3


async def test_outside_window_told_draft_kept(db_url, sessions, redis_url, unique) -> None:
    async with reply_world(db_url, sessions, redis_url, unique) as (world, ig):
        mia = await connect(world, ig, 3002)
        # 25 h without HUMAN_AGENT: closed on the card, no Send; a forged press is refused by core too.
        late = await contact_of(world, 3002, "h25")
        card = await open_card(world, mia, late.id)
        assert "closed: they must write first" in mia.message(card).text
        shown = await draft(world, mia, card, "Still interested?")
        assert "📤 Send" not in buttons(shown)
        await mia.press_raw(shown.message_id, ReplyCb(a="send", id=(await replies_of(world, late.id))[0].id).pack())
        await mia.wait_for(lambda: "They must write first" in mia.message(shown.message_id).text)
        assert ig.send_attempts == 0 and (await replies_of(world, late.id))[0].status == "draft"

        # Inside our window, but Instagram still answers 10/2534022: said in words, the draft is kept.
        fresh = await contact_of(world, 3002, "fresh")
        card = await open_card(world, mia, fresh.id)
        shown = await draft(world, mia, card, "Here you go")
        ig.fail_send("outside_window")
        await mia.press(shown.message_id, "📤 Send")
        await mia.wait_for(lambda: "outside the allowed reply window" in mia.message(shown.message_id).text)
        (kept,) = await replies_of(world, fresh.id)
        assert kept.status == "draft" and kept.error == "outside_window" and kept.text == "Here you go"
        assert "📤 Send" in buttons(mia.message(shown.message_id)) and ig.sent == []


@pytest.mark.parametrize("human_agent", [True, False])
async def test_human_agent_within_seven_days(db_url, sessions, redis_url, unique, human_agent: bool) -> None:
    async with reply_world(db_url, sessions, redis_url, unique, ig_human_agent=human_agent) as (world, ig):
        mia = await connect(world, ig, 3003)
        lead = await contact_of(world, 3003, "d6")
        card = await open_card(world, mia, lead.id)
        shown = await draft(world, mia, card, "Sorry for the wait, here are the details")
        if not human_agent:
            assert "closed: they must write first" in mia.message(card).text and "📤 Send" not in buttons(shown)
            return
        assert "only as a personal reply for" in mia.message(card).text
        await mia.press(shown.message_id, "📤 Send")
        await mia.wait_for(lambda: "Sent to" in mia.message(shown.message_id).text)
        assert len(ig.sent) == 1 and ig.sent[0].human_agent  # messaging_type MESSAGE_TAG, tag HUMAN_AGENT
        (reply,) = await replies_of(world, lead.id)
        assert reply.human_agent and reply.status == "sent"
        # 8 days: closed even with the feature.
        old = await contact_of(world, 3003, "d8")
        assert replies.reply_window(old, NOW, True).kind is replies.WindowKind.closed


async def test_timeout_after_send_reconciled_not_resent(db_url, sessions, redis_url, unique) -> None:
    async with reply_world(db_url, sessions, redis_url, unique, ig_send_timeout_s=1.0) as (world, ig):
        mia = await connect(world, ig, 3004)
        lead = await contact_of(world, 3004, "fresh")
        card = await open_card(world, mia, lead.id)
        shown = await draft(world, mia, card, "Booked you in for Monday")
        ig.hang_s = 4.0
        ig.fail_send("hang")  # Instagram delivers, the answer never comes back in time
        await mia.press(shown.message_id, "📤 Send")
        await mia.wait_for(lambda: "Sent to" in mia.message(shown.message_id).text)
        assert len(ig.sent) == 1 and ig.send_attempts == 1  # found in the conversation, not sent again
        (reply,) = await replies_of(world, lead.id)
        assert reply.status == "sent" and reply.instagram_message_id == ig.sent[0].message_id
        await mia.press_raw(shown.message_id, ReplyCb(a="send", id=reply.id).pack())
        await world.tg.wait_idle()
        assert ig.send_attempts == 1
        assert sum(m.from_creator and m.text == reply.text for m in await _messages(world, lead.id)) == 1


async def test_token_invalid_reconnect_notice_draft_kept(db_url, sessions, redis_url, unique) -> None:
    async with reply_world(db_url, sessions, redis_url, unique) as (world, ig):
        mia = await connect(world, ig, 3005)
        lead = await contact_of(world, 3005, "fresh")
        card = await open_card(world, mia, lead.id)
        shown = await draft(world, mia, card, "See you soon")
        ig.fail_send("invalid")
        await mia.press(shown.message_id, "📤 Send")
        await mia.wait_for(lambda: "/connect" in mia.message(shown.message_id).text)
        (reply,) = await replies_of(world, lead.id)
        assert reply.status == "draft" and reply.error == "token" and ig.sent == []
        async with world.sessions() as session:
            user = (await session.execute(select(User).where(User.telegram_id == 3005))).scalar_one()
        assert user.ig_status == "expired" and user.ig_reconnect_notified  # sync stops; told once, here


async def test_1001_bytes_refused_before_sending(db_url, sessions, redis_url, unique) -> None:
    async with reply_world(db_url, sessions, redis_url, unique) as (world, ig):
        mia = await connect(world, ig, 3006)
        lead = await contact_of(world, 3006, "fresh")
        card = await open_card(world, mia, lead.id)
        text = "é" * 500 + "x"  # 501 characters, 1001 bytes
        shown = await draft(world, mia, card, text)
        assert "1001 bytes" in shown.text and "📤 Send" not in buttons(shown)
        (reply,) = await replies_of(world, lead.id)
        press = await mia.press_raw(shown.message_id, ReplyCb(a="send", id=reply.id).pack())
        answer = await mia.wait_answered(press)
        assert "1001 bytes" in answer.get("text", "")
        assert ig.send_attempts == 0 and (await replies_of(world, lead.id))[0].status == "draft"


async def test_window_on_the_card_at_each_boundary(db_url, sessions, redis_url, unique) -> None:
    from bot.rendering import window_text

    async with reply_world(db_url, sessions, redis_url, unique, ig_human_agent=True) as (world, ig):
        mia = await connect(world, ig, 3007)
        expected = {"h23": replies.WindowKind.open, "h25": replies.WindowKind.personal,
                    "d6": replies.WindowKind.personal, "d8": replies.WindowKind.closed}
        for name, kind in expected.items():
            lead = await contact_of(world, 3007, name)
            window = replies.reply_window(lead, NOW, True)
            assert window.kind is kind, name
            card = await open_card(world, mia, lead.id)
            assert window_text(window) in mia.message(card).text
        assert replies.reply_window(lead, NOW, True).remaining == timedelta(0)
        h23 = replies.reply_window(await contact_of(world, 3007, "h23"), NOW, True)
        assert window_text(h23) == "you can reply for 1 h more"
        d6 = replies.reply_window(await contact_of(world, 3007, "d6"), NOW, True)
        assert window_text(d6) == "only as a personal reply for 24 h more"
        h25 = replies.reply_window(await contact_of(world, 3007, "h25"), NOW, True)
        assert window_text(h25) == "only as a personal reply for 5 more days"


async def test_demo_lead_reply_shows_in_the_chat(db_url, sessions, redis_url, unique) -> None:
    """What `leadgram console` runs: a new creator answers a demo lead and sees the reply in the chat."""
    from bot.callbacks import ContactCb
    from tests.bot_harness import bot_world, onboard_demo

    async with bot_world(db_url, sessions, redis_url, unique) as world:
        ann = world.user(3008)
        await onboard_demo(world, ann)
        listing = await world.say(ann, "/contacts", "📇")
        newest = listing.buttons[0][0]
        contact_id = ContactCb.unpack(newest[1]).id
        await ann.press(listing.message_id, newest[0])
        await ann.wait_for(lambda: "you can reply for" in ann.message(listing.message_id).text)
        shown = await draft(world, ann, listing.message_id, "Hi! Happy to help, what are you looking for?")
        await ann.press(shown.message_id, "📤 Send")
        await ann.wait_for(lambda: "Sent to" in ann.message(shown.message_id).text)
        await ann.press(shown.message_id, "💬 Chat")
        await ann.wait_for(lambda: "what are you looking for?" in ann.message(shown.message_id).text)
        (reply,) = await replies_of(world, contact_id)
        assert reply.status == "sent" and reply.instagram_message_id.startswith("demo_sent_")
        await world.tg.wait_idle()
        assert world.tg.errors == [], [(e.method, e.error) for e in world.tg.errors]


async def test_sends_over_the_account_pace_are_sent_by_the_retry_job(db_url, sessions, redis_url, unique) -> None:
    """IG_SEND_PER_SECOND=1: of 8 sends pressed at once, those whose slot is more than 5 s away go to the
    background job, which sends them when the pace allows and edits their drafts: every one sent, once."""
    async with reply_world(db_url, sessions, redis_url, unique, ig_send_per_second=1) as (world, ig):
        mia = await connect(world, ig, 3009)
        leads = [await contact_of(world, 3009, name) for name in ("fresh", "h23")]
        shown = []
        for n in range(8):
            card = await open_card(world, mia, leads[n % 2].id)
            shown.append(await draft(world, mia, card, f"reply number {n}"))
        for message in shown:
            await mia.press(message.message_id, "📤 Send")
        for message in shown:
            await mia.wait_for(partial(lambda mid: "Sent to" in mia.message(mid).text, message.message_id),
                               timeout=60)
        assert sorted(s.text for s in ig.sent) == sorted(f"reply number {n}" for n in range(8))
        arrivals = sorted(s.arrived for s in ig.sent)
        assert all(b - a >= 0.9 for a, b in zip(arrivals, arrivals[1:], strict=False))  # 1/s, whoever sent
