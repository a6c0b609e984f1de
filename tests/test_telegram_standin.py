"""The Telegram stand-in, driven by a real aiogram Bot and Dispatcher over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.filters import Command
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    BufferedInputFile,
    CallbackQuery,
    ForceReply,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    LinkPreviewOptions,
    MenuButtonCommands,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from aiogram.utils.formatting import Bold, Text
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from standins.telegram import ApiError, TelegramStandin, button_for, numbered_buttons, render_change, render_message
from standins.telegram.html import parse_html
from standins.telegram.spec import BUNDLED_SPEC, SHARED_SPEC, Spec, default_spec_path

TOKEN = "4242:stand-in-token"
ANN = 1001


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandin]:
    async with TelegramStandin(token=TOKEN) as standin:
        yield standin


@pytest.fixture
async def bot(tg: TelegramStandin) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
    instance = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield instance
    await instance.session.close()


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in rows]
    )


def started(tg: TelegramStandin, user_id: int = ANN) -> None:
    """Telegram only lets a bot write to users who opened the chat; tg.user() is such a user."""
    tg.user(user_id)


async def raw_call(tg: TelegramStandin, method: str, **fields: Any) -> tuple[int, dict[str, Any]]:
    """A hand-made form-data request, for calls aiogram's models would never produce."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{tg.base_url}/bot{TOKEN}/{method}", data=fields) as resp:
            return resp.status, await resp.json()


# --- valid calls ---------------------------------------------------------------------------------


async def test_send_edit_delete_as_the_user_sees_it(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    user = tg.user(ANN)
    sent = await bot.send_message(ANN, "<b>Ann</b> &amp; <i>co</i> 🙂", reply_markup=keyboard([("Next ›", "p:2")]))
    assert sent.text == "Ann & co 🙂"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [("bold", 0, 3), ("italic", 6, 2)]
    assert user.last is not None and user.last.buttons == [[("Next ›", "p:2")]]
    assert user.last.html == "<b>Ann</b> &amp; <i>co</i> 🙂"

    back = keyboard([("‹", "p:1")])
    await bot.edit_message_text("page 2", chat_id=ANN, message_id=sent.message_id, reply_markup=back)
    assert user.message(sent.message_id).text == "page 2" and user.message(sent.message_id).edited == 1
    await bot.edit_message_reply_markup(chat_id=ANN, message_id=sent.message_id)
    assert user.message(sent.message_id).buttons == []

    assert await bot.delete_message(ANN, sent.message_id)
    assert user.chat == []
    assert tg.errors == []


async def test_message_ids_increase_per_chat_and_replies_carry_the_original(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    started(tg, 2002)
    first = await bot.send_message(ANN, "one")
    prompt = await bot.send_message(ANN, "New tag?", reply_markup=ForceReply(input_field_placeholder="tag"))
    other = await bot.send_message(2002, "hello")
    assert first.message_id < prompt.message_id and other.message_id == 1  # ids are per chat
    answer = await tg.user(ANN).reply(prompt.message_id, "vip")
    updates = await bot.get_updates(timeout=0)
    replies = [u.message for u in updates if u.message and u.message.message_id == answer.message_id]
    assert replies[0].reply_to_message is not None
    assert replies[0].reply_to_message.message_id == prompt.message_id
    assert tg.user(ANN).message(prompt.message_id).force_reply
    assert tg.errors == []


async def test_legacy_reply_fields_telegram_still_accepts(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    first = await bot.send_message(ANN, "one")
    second = await bot.send_message(ANN, "two", reply_to_message_id=first.message_id, disable_web_page_preview=True)
    assert second.reply_to_message is not None and second.reply_to_message.message_id == first.message_id
    await bot.send_message(ANN, "three", reply_to_message_id=999, allow_sending_without_reply=True)
    assert tg.errors == []


async def test_everyday_aiogram_calls_pass_validation(tg: TelegramStandin, bot: Bot) -> None:
    """No false rejections for the calls and options a bot commonly uses."""
    started(tg)
    msg = await bot.send_message(
        ANN, "<b>hi</b> https://x.org", link_preview_options=LinkPreviewOptions(is_disabled=True),
        protect_content=True, disable_notification=True, reply_markup=ReplyKeyboardRemove(),
    )
    await bot.send_message(ANN, "menu", reply_markup=ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Help")]],
                                                                          resize_keyboard=True))
    await bot.send_message(ANN, "tag?", reply_markup=ForceReply(input_field_placeholder="vip", selective=True),
                           reply_parameters=ReplyParameters(message_id=msg.message_id))
    await bot.send_message(ANN, "plain <b>", parse_mode=None)
    await bot.send_message(ANN, "hi", entities=[MessageEntity(type="bold", offset=0, length=2)])
    formatted = await bot.send_message(ANN, **Text("Hi ", Bold("<Ann>"), " 🙂").as_kwargs())
    assert formatted.text == "Hi <Ann> 🙂" and tg.user(ANN).message(formatted.message_id).entities[0]["type"] == "bold"
    await bot.set_my_commands([BotCommand(command="start", description="Start")], scope=BotCommandScopeDefault())
    await bot.set_my_commands([BotCommand(command="hot", description="Hot")], scope=BotCommandScopeChat(chat_id=ANN),
                              language_code="en")
    await bot.set_my_description("Leads from Instagram DMs")
    await bot.set_chat_menu_button(chat_id=ANN, menu_button=MenuButtonCommands())
    url_button = InlineKeyboardButton(text="Open", url="https://instagram.com/ann")
    card = await bot.send_message(ANN, "card", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[url_button]]))
    press = await tg.user(ANN).press_raw(card.message_id, "x")
    await bot.answer_callback_query(press.id, text="Not found", show_alert=True, cache_time=0)
    assert tg.errors == []


async def test_exactly_4096_characters_after_parsing_pass(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    await bot.send_message(ANN, "<b>" + "x" * 4090 + "</b>&lt;&gt;&amp;!!!")
    assert len(tg.user(ANN).last.text) == 4096  # type: ignore[union-attr]
    assert tg.errors == []


async def test_text_is_trimmed_like_telegram_and_entities_follow(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    sent = await bot.send_message(ANN, "\n  <b>hot</b> lead \n\n")
    assert sent.text == "hot lead" and [(e.offset, e.length) for e in sent.entities or []] == [(0, 3)]
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("<b>hot</b> lead", chat_id=ANN, message_id=sent.message_id)
    assert len(tg.pop_errors()) == 1


async def test_photo_by_url_and_csv_document_upload(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    user = tg.user(ANN)
    photo = await bot.send_photo(ANN, "https://example.com/a.jpg", caption="<b>Ann</b>",
                                 reply_markup=keyboard([("🏷 tags", "t:1")]))
    assert photo.caption == "Ann" and photo.photo
    await bot.edit_message_caption(chat_id=ANN, message_id=photo.message_id, caption="Ann 2")
    csv = b"name,score\nAnn,90\n"
    doc = await bot.send_document(ANN, BufferedInputFile(csv, filename="contacts.csv"), caption="export")
    assert doc.document is not None and doc.document.file_name == "contacts.csv"
    assert user.last is not None and user.last.document is not None
    assert user.last.document.data == csv and user.last.document.filename == "contacts.csv"
    downloaded = await bot.download(doc.document.file_id)
    assert downloaded is not None and downloaded.read() == csv
    assert tg.errors == []


async def test_edit_media_swaps_the_photo(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    card = await bot.send_photo(ANN, "https://example.com/a.jpg", caption="Ann")
    new = InputMediaPhoto(media=BufferedInputFile(b"\x89PNG2", filename="b.png"), caption="<i>Bob</i>")
    edited = await bot.edit_message_media(new, chat_id=ANN, message_id=card.message_id)
    assert isinstance(edited, Message) and edited.caption == "Bob"
    shown = tg.user(ANN).message(card.message_id)
    assert not isinstance(shown.photo, str) and shown.photo is not None and shown.photo.data == b"\x89PNG2"
    assert tg.errors == []


async def test_commands_chat_action_and_callback_answer(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    commands = [BotCommand(command="contacts", description="Your leads"), BotCommand(command="help", description="?")]
    assert await bot.set_my_commands(commands)
    assert [c.command for c in await bot.get_my_commands()] == ["contacts", "help"]
    assert tg.commands[0]["description"] == "Your leads"
    assert await bot.send_chat_action(ANN, "typing")
    assert (await bot.get_chat(ANN)).first_name == "Ann"
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    msg = await bot.send_message(ANN, "card", reply_markup=keyboard([("♻️ rescore", "r:1")]))
    press = await tg.user(ANN).press(msg.message_id, "♻️ rescore")
    assert [c.id for c in tg.unanswered_callbacks] == [press.id]
    assert await bot.answer_callback_query(press.id, text="queued")
    assert tg.unanswered_callbacks == [] and press.answer == {"text": "queued"}
    assert tg.errors == []


# --- invalid calls -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("<b>open", 'can\'t parse entities: Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", "can't parse entities: Unmatched end tag"),
        ("<blink>x</blink>", 'can\'t parse entities: Unsupported start tag "blink"'),
        ("<span>x</span>", "can't parse entities: Tag \"span\" must have class"),
        ("score < 70", "can't parse entities: Unexpected character '<'"),
        ("Tom & Jerry", "can't parse entities: Character '&' is reserved"),
        ("&nbsp;", "can't parse entities: Character '&' is reserved"),
        ("x" * 4097, "message is too long"),
        ("<b> </b>", "message text is empty"),
    ],
)
async def test_bad_text_is_rejected_like_telegram(tg: TelegramStandin, bot: Bot, text: str, description: str) -> None:
    started(tg)
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(ANN, text)
    assert description in caught.value.message
    assert [e.method for e in tg.pop_errors()] == ["sendMessage"]


@pytest.mark.parametrize(
    ("button", "description"),
    [
        (InlineKeyboardButton(text="x", callback_data="d" * 65), "BUTTON_DATA_INVALID"),
        (InlineKeyboardButton(text="x", callback_data=""), "BUTTON_DATA_INVALID"),
        (InlineKeyboardButton(text="x"), "Text buttons are unallowed"),
        (InlineKeyboardButton(text="", callback_data="ok"), "BUTTON_TEXT_EMPTY"),
        (InlineKeyboardButton(text="x", url="ftp://nope"), "BUTTON_URL_INVALID"),
    ],
)
async def test_bad_keyboards_are_rejected(
    tg: TelegramStandin, bot: Bot, button: InlineKeyboardButton, description: str
) -> None:
    started(tg)
    with pytest.raises(TelegramBadRequest, match=description):
        await bot.send_message(ANN, "hi", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))
    assert len(tg.pop_errors()) == 1


async def test_expecting_names_the_rejections_a_test_provokes(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    with tg.expecting("message is too long", "message text is empty"):
        for text in ("x" * 5000, " "):
            with pytest.raises(TelegramBadRequest):
                await bot.send_message(ANN, text)
    assert tg.errors == []
    with pytest.raises(AssertionError, match="expected rejections"), tg.expecting("chat not found"):
        await bot.send_message(ANN, "fine")


async def test_callback_data_of_64_bytes_passes(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    await bot.send_message(ANN, "hi", reply_markup=keyboard([("ok", "é" * 32)]))
    assert tg.errors == []


async def test_edit_and_delete_errors(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    started(tg, 2002)
    msg = await bot.send_message(ANN, "<b>same</b>", reply_markup=keyboard([("a", "a")]))
    theirs = await tg.user(ANN).send("hello bot")
    cases: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: bot.edit_message_text("<strong>same</strong>", chat_id=ANN, message_id=msg.message_id,
                                       reply_markup=keyboard([("a", "a")])), "message is not modified"),
        (lambda: bot.edit_message_reply_markup(chat_id=ANN, message_id=msg.message_id,
                                               reply_markup=keyboard([("a", "a")])), "message is not modified"),
        (lambda: bot.edit_message_text("x", chat_id=ANN, message_id=999), "message to edit not found"),
        (lambda: bot.edit_message_text("x", chat_id=2002, message_id=msg.message_id), "message to edit not found"),
        (lambda: bot.edit_message_text("x", chat_id=ANN, message_id=theirs.message_id), "message can't be edited"),
        (lambda: bot.edit_message_caption(chat_id=ANN, message_id=msg.message_id, caption="c"), "no caption"),
        (lambda: bot.delete_message(ANN, 999), "message to delete not found"),
        (lambda: bot.send_message(31337, "x"), "chat not found"),
        (lambda: bot.send_message("@ann", "x"), "chat not found"),
        (lambda: bot.answer_callback_query("nope"), "query is too old"),
    ]
    for call, description in cases:
        with pytest.raises(TelegramBadRequest, match=description):
            await call()
    assert len(tg.pop_errors()) == len(cases)
    assert await bot.delete_message(ANN, msg.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ANN, msg.message_id)
    assert len(tg.pop_errors()) == 1


async def test_structural_errors_from_the_spec(tg: TelegramStandin) -> None:
    started(tg)
    cases = [
        ("sendMessage", {"chat_id": str(ANN), "text": "hi", "colour": "red"}, 'unknown parameter "colour"'),
        ("sendMessage", {"chat_id": str(ANN)}, "message text is empty"),
        ("sendMessage", {"text": "hi"}, "chat_id is empty"),
        ("deleteMessage", {"chat_id": str(ANN), "message_id": "seven"}, 'field "message_id" must be of type Integer'),
        ("sendMessage", {"chat_id": str(ANN), "text": "hi", "disable_notification": "maybe"}, "Boolean"),
        ("sendMessage", {"chat_id": str(ANN), "text": "hi", "reply_markup": "{oops"}, "can't parse JSON"),
        ("sendMessage", {"chat_id": str(ANN), "text": "hi", "reply_markup": json.dumps({"inline_keyboard": [[
            {"text": "a", "callback_data": "b", "colour": 1}]]})}, 'unknown field "reply_markup.inline_keyboard[0][0]'),
        ("sendMessage", {"chat_id": str(ANN), "text": "hi", "link_preview_options": '{"is_disabled": "x"}'},
         "is_disabled"),
        ("sendMessage", {"chat_id": str(ANN), "text": "hi", "reply_parameters": '{"message_id": 99}'},
         "message to be replied not found"),
        ("setMyCommands", {"commands": '[{"command": "Contacts", "description": "x"}]'}, "BOT_COMMAND_INVALID"),
        ("setMyCommands", {"commands": '[{"command": "help"}]'}, 'field "commands[0].description" is required'),
        ("setMyCommands", {"commands": "[]", "scope": '{"type": "galaxy"}'}, "scope"),
        ("answerCallbackQuery", {"callback_query_id": "1", "text": "x"}, "query is too old"),
        ("sendChatAction", {"chat_id": str(ANN), "action": "dancing"}, "wrong parameter action"),
        ("sendMessage", {"chat_id": str(ANN), "text": "hi", "reply_markup": '{"force_reply": false}'},
         "force_reply must be True"),
        ("sendMessage", {"chat_id": str(ANN), "text": "hi", "reply_markup": '{"inline_keyboard": [["x"]]}'},
         "InlineKeyboardButton"),
        ("getUpdates", {"allowed_updates": '{"message": 1}'}, 'field "allowed_updates" must be an Array'),
        ("getUpdates", {"timeout": "1.5"}, 'field "timeout" must be of type Integer'),
        ("setWebhook", {"url": "https://x.org/h", "secret_token": "has space"}, "secret token"),
        ("sendPhoto", {"chat_id": str(ANN), "photo": "not-a-url-or-file-id"}, "wrong file identifier"),
    ]
    for method, fields, description in cases:
        status, body = await raw_call(tg, method, **fields)
        assert status == 400 and body["ok"] is False and body["error_code"] == 400, (method, body)
        assert body["description"].startswith("Bad Request: ") and description in body["description"], body
    assert len(tg.pop_errors()) == len(cases)


async def test_users_who_never_started_or_blocked_the_bot(tg: TelegramStandin, bot: Bot) -> None:
    tg.user(5005, started=False)
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation with a user"):
        await bot.send_message(5005, "hi")
    await tg.user(5005).send("/start")
    await bot.send_message(5005, "hi")
    await bot.get_updates(offset=-1, timeout=0)  # forget the /start
    tg.user(5005).block()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(5005, "again")
    assert [e.code for e in tg.pop_errors()] == [403, 403]
    [update] = await bot.get_updates(offset=-1, timeout=0)
    assert update.my_chat_member is not None and update.my_chat_member.new_chat_member.status == "kicked"


async def test_unknown_method_and_wrong_token(tg: TelegramStandin) -> None:
    status, body = await raw_call(tg, "sendTelepathy", chat_id="1")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{tg.base_url}/bot1:wrong/getMe") as resp:
            assert resp.status == 401 and (await resp.json())["description"] == "Unauthorized"
    assert len(tg.pop_errors()) == 2


async def test_answer_text_over_200_characters(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    msg = await bot.send_message(ANN, "x", reply_markup=keyboard([("a", "a")]))
    press = await tg.user(ANN).press(msg.message_id, "a")
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(press.id, text="y" * 201)
    assert len(tg.pop_errors()) == 1 and tg.unanswered_callbacks == [press]


# --- throttling ------------------------------------------------------------------------------------


async def test_injected_429_then_success(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    tg.fail_next("sendMessage", retry_after=1)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ANN, "alert")
    assert caught.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in caught.value.message
    await bot.send_message(ANN, "alert")
    assert [m.text for m in tg.user(ANN).chat] == ["alert"]
    assert tg.errors == [] and [t.code for t in tg.throttled] == [429]


async def test_rate_limits_per_chat_with_injected_clock(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    now = [1000.0]
    tg.enable_rate_limits(per_chat=1.0, burst=2.0, clock=lambda: now[0])
    await bot.send_message(ANN, "1")
    await bot.send_message(ANN, "2")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ANN, "3")
    assert caught.value.retry_after == 1
    now[0] += 1.0
    await bot.send_message(ANN, "3")
    assert [m.text for m in tg.user(ANN).chat] == ["1", "2", "3"] and tg.errors == []


async def test_overall_rate_limit_across_chats(tg: TelegramStandin, bot: Bot) -> None:
    now = [0.0]
    tg.enable_rate_limits(per_chat=1.0, burst=3.0, overall=2.0, clock=lambda: now[0])
    for chat_id in (1, 2, 3):
        started(tg, chat_id)
    await bot.send_message(1, "a")
    await bot.send_message(2, "b")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(3, "c")
    assert await bot.send_chat_action(3, "typing")  # chat actions are not flood-counted
    now[0] += 0.5
    await bot.send_message(3, "c")
    assert tg.errors == [] and len(tg.throttled) == 1


# --- updates: polling, conflicts, webhook --------------------------------------------------------------


def demo_router() -> Router:
    router = Router()

    @router.message(Command("start"))
    async def start(message: Message) -> None:
        await message.answer("Hi <b>there</b>", reply_markup=keyboard([("Page 2 ›", "p:2")]))

    @router.callback_query(F.data == "p:2")
    async def page(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text("page 2/2", reply_markup=keyboard([("‹ back", "p:1")]))
        await query.answer()

    @router.message(F.reply_to_message)
    async def tag(message: Message) -> None:
        await message.answer(f"tag {message.text} saved")

    return router


async def test_dispatcher_polling_end_to_end(tg: TelegramStandin, bot: Bot) -> None:
    dp = Dispatcher()
    dp.include_router(demo_router())
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        user = tg.user(ANN, "Ann", "ann")
        await user.send("/start")
        hello = await user.next_message()
        assert hello.text == "Hi there" and hello.buttons == [[("Page 2 ›", "p:2")]]
        await user.press(hello.message_id, "Page 2 ›")
        await user.wait_for(lambda: user.message(hello.message_id).text == "page 2/2")
        with pytest.raises(LookupError):
            await user.press(hello.message_id, "Page 2 ›")  # that button is gone after the edit
        await user.reply(hello.message_id, "vip")
        assert (await user.next_message()).text == "tag vip saved"
        await tg.wait_idle()
        assert tg.unanswered_callbacks == [] and tg.errors == []
    finally:
        await dp.stop_polling()
        await polling


async def test_a_stopped_poller_does_not_block_the_next(tg: TelegramStandin, bot: Bot) -> None:
    gone = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.user(ANN).wait_for(lambda: tg.world.active_poll is not None)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    await tg.user(ANN).send("hi")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == ["hi"]
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == []
    assert tg.errors == []


async def test_stopping_the_standin_ends_a_pending_long_poll() -> None:
    tg = await TelegramStandin(token=TOKEN).start()
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
    try:
        poll = asyncio.create_task(bot.get_updates(timeout=30, request_timeout=40))
        await tg.user(ANN).wait_for(lambda: tg.world.active_poll is not None)
        async with asyncio.timeout(3):  # not the 30 s the poll asked for
            await tg.stop()
            assert await poll == []
    finally:
        await bot.session.close()


async def test_second_poller_gets_409(tg: TelegramStandin, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.user(ANN).wait_for(lambda: tg.world.active_poll is not None)
    second = asyncio.create_task(bot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    await tg.user(ANN).send("/start")
    updates = await second
    assert [u.message.text for u in updates if u.message] == ["/start"]
    assert [e.code for e in tg.pop_errors()] == [409]


async def test_offset_confirms_and_allowed_updates_filter(tg: TelegramStandin, bot: Bot) -> None:
    user = tg.user(ANN)
    await user.send("one")
    await user.send("two")
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    again = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0, allowed_updates=["callback_query"])
    assert again == []
    await user.send("ignored")
    msg = await bot.send_message(ANN, "x", reply_markup=keyboard([("a", "a")]))
    await user.press(msg.message_id, "a")
    only = await bot.get_updates(timeout=0)
    assert [u.event_type for u in only] == ["callback_query"]


async def test_webhook_delivery_with_secret_and_getupdates_conflict(tg: TelegramStandin, bot: Bot) -> None:
    dp = Dispatcher()
    dp.include_router(demo_router())
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token="s3cret").register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        assert (await bot.get_webhook_info()).url.endswith("/hook")
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        assert [e.code for e in tg.pop_errors()] == [409]
        user = tg.user(ANN)
        await user.send("/start")
        hello = await user.next_message()
        await user.press(hello.message_id, "p:2")
        await user.wait_for(lambda: user.message(hello.message_id).text == "page 2/2")
        await tg.wait_idle()
        assert tg.unanswered_callbacks == [] and tg.errors == []
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_webhook_answer_with_a_method_is_executed(tg: TelegramStandin, bot: Bot) -> None:
    """aiogram can answer a webhook request with the method call itself (multipart body)."""
    dp = Dispatcher()

    @dp.message(Command("ping"))
    async def ping(message: Message) -> Any:
        return message.answer("<b>pong</b>")  # not awaited: sent back in the webhook response

    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False).register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        user = tg.user(ANN)
        await user.send("/ping")
        assert (await user.next_message()).text == "pong" and tg.errors == []
    finally:
        await runner.cleanup()


async def test_json_body_calls_are_validated_too(tg: TelegramStandin) -> None:
    started(tg)
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "x" * 65}]]}
    async with aiohttp.ClientSession() as http:
        url = f"{tg.base_url}/bot{TOKEN}/sendMessage"
        async with http.post(url, json={"chat_id": ANN, "text": "hi", "reply_markup": markup}) as resp:
            assert resp.status == 400 and (await resp.json())["description"] == "Bad Request: BUTTON_DATA_INVALID"
        async with http.post(url, json={"chat_id": ANN, "text": "hi", "disable_notification": True}) as resp:
            assert (await resp.json())["result"]["text"] == "hi"
    assert len(tg.pop_errors()) == 1


async def test_webhook_with_wrong_secret_is_retried_not_lost(tg: TelegramStandin, bot: Bot) -> None:
    seen: list[str | None] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        return web.Response(status=403 if len(seen) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    tg.webhook_retry = 0.01
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook", secret_token="abc")
        await tg.user(ANN).send("hello")
        await tg.user(ANN).wait_for(lambda: not tg.world.updates.items)
        assert seen == ["abc", "abc"]
        assert "403" in ((await bot.get_webhook_info()).last_error_message or "")
    finally:
        await runner.cleanup()


# --- simulator and renderer --------------------------------------------------------------------------


async def test_press_requires_the_button_but_press_raw_forges(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    msg = await bot.send_message(ANN, "card", reply_markup=keyboard([("🎯 score", "s:1")]))
    user = tg.user(ANN)
    with pytest.raises(LookupError):
        await user.press(msg.message_id, "c:999")
    forged = await user.press_raw(msg.message_id, "c:999")
    updates = await bot.get_updates(timeout=0)
    assert updates[-1].callback_query is not None and updates[-1].callback_query.data == "c:999"
    assert forged in tg.unanswered_callbacks
    await user.press_raw(12345, "p:1")  # a message the client no longer has
    [stale] = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert stale.callback_query is not None and stale.callback_query.message is not None
    assert isinstance(stale.callback_query.message, InaccessibleMessage)


async def test_renderer_numbers_buttons(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    await bot.send_message(ANN, "<b>Contacts</b> page 1/3",
                           reply_markup=keyboard([("Ann", "c:1"), ("Bob", "c:2")], [("›", "p:2")]))
    last = tg.user(ANN).last
    assert last is not None
    assert render_message(last) == "Contacts page 1/3\n[1] Ann  [2] Bob\n[3] ›"
    assert numbered_buttons(last)[2] == (3, "›", "p:2")
    assert button_for(last, 2) == ("Bob", "c:2") and button_for(last, 4) is None


# --- HTML parser and spec --------------------------------------------------------------------------------


async def test_change_log_for_the_console(tg: TelegramStandin, bot: Bot) -> None:
    started(tg)
    user = tg.user(ANN)
    pos, nothing = await user.changes(0, timeout=0.01)
    assert nothing == []
    card = await bot.send_photo(ANN, BufferedInputFile(b"\x89PNG", filename="a.png"), caption="<b>Ann</b> · 90",
                                parse_mode="html", reply_markup=keyboard([("🎯 score", "s:1")]))
    assert render_message(user.message(card.message_id)) == "[photo upload]\nAnn · 90\n[1] 🎯 score"
    await bot.edit_message_caption(chat_id=ANN, message_id=card.message_id, caption="Ann · 95")
    await bot.delete_message(ANN, card.message_id)
    pos, seen = await user.changes(pos)
    assert [kind for kind, _ in seen] == ["sent", "edited", "deleted"] and seen[1][1].text == "Ann · 95"
    assert render_change("edited", seen[1][1]).startswith(f"✏️ (message {card.message_id} edited)\n[photo upload]")
    assert render_change("deleted", seen[2][1]) == f"🗑 (message {card.message_id} deleted)"
    assert (await user.changes(pos, timeout=0.01))[1] == [] and tg.errors == []


def test_html_parser_entities_in_utf16_units() -> None:
    text, entities = parse_html(
        '😀 <a href="https://x.org/?a=1&amp;b=2">link</a> <pre><code class="language-python">x</code></pre>'
        '<blockquote expandable>q</blockquote><span class="tg-spoiler">s</span><tg-emoji emoji-id="5">👍</tg-emoji>'
        "&#60;&#x3E;&quot;"
    )
    assert text == '😀 link xqs👍<>"'
    assert entities == [
        {"offset": 3, "length": 4, "type": "text_link", "url": "https://x.org/?a=1&b=2"},
        {"offset": 8, "length": 1, "type": "pre", "language": "python"},
        {"offset": 9, "length": 1, "type": "expandable_blockquote"},
        {"offset": 10, "length": 1, "type": "spoiler"},
        {"offset": 11, "length": 2, "type": "custom_emoji", "custom_emoji_id": "5"},
    ]


@pytest.mark.parametrize(
    ("source", "text", "types"),
    [
        ("<B>x</b>", "x", ["bold"]),
        ("<a href=https://x.org>x</a >", "x", ["text_link"]),
        ("<a>plain</a>", "plain", []),
        ("<pre><code>x = 1</code></pre>", "x = 1", ["pre"]),
        ("<tg-spoiler><i>x</i></tg-spoiler>", "x", ["spoiler", "italic"]),
        ("a > b", "a > b", []),
        ("&#128512;", "😀", []),
    ],
)
def test_html_accepted_forms(source: str, text: str, types: list[str]) -> None:
    plain, entities = parse_html(source)
    assert plain == text and [e["type"] for e in entities] == types


@pytest.mark.parametrize(
    "source", ["<br/>", "<b>x</i>", "</b>", "<p>x</p>", "a <", "&copy;", "&#;", "<tg-emoji>x</tg-emoji>"]
)
def test_html_rejected_forms(source: str) -> None:
    with pytest.raises(ApiError, match="can't parse entities"):
        parse_html(source)


def test_spec_prefers_the_shared_copy() -> None:
    assert default_spec_path() == (SHARED_SPEC if SHARED_SPEC.exists() else BUNDLED_SPEC)
    spec = Spec.load()
    assert spec.method("SENDMESSAGE") is not None and spec.version.startswith("Bot API")
