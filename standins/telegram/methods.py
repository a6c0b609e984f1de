"""Bot API methods with Telegram's behaviour. Each handler gets the World and the spec-checked params."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from standins.telegram import rules
from standins.telegram.errors import bad_request
from standins.telegram.spec import Upload
from standins.telegram.state import ChatState, Message
from standins.telegram.world import World

Handler = Callable[[World, dict[str, Any]], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a current "
    "content and reply markup of the message"
)


def handler(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        HANDLERS[name.lower()] = func
        return func

    return register


@handler("getMe")
async def get_me(world: World, p: dict[str, Any]) -> Any:
    return {**world.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False}


@handler("getChat")
async def get_chat(world: World, p: dict[str, Any]) -> Any:
    chat = world.chat_for(p["chat_id"])
    gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                           "gifts_from_channels"), False)
    names = {k: chat.user[k] for k in ("first_name", "username") if chat.user.get(k)}
    return {"id": chat.chat_id, "type": "private", **names, "accent_color_id": 0, "max_reaction_count": 11,
            "accepted_gift_types": gifts}


@handler("logOut")
@handler("close")
async def log_out(world: World, p: dict[str, Any]) -> Any:
    return True


def _new_message(world: World, chat: ChatState, p: dict[str, Any], **fields: Any) -> Message:
    reply = p.get("reply_parameters")
    if reply is None and "reply_to_message_id" in p:  # the legacy spelling of the same thing
        reply = {"message_id": p["reply_to_message_id"],
                 "allow_sending_without_reply": p.get("allow_sending_without_reply", False)}
    reply_to = _reply_target(chat, reply) if reply else None
    msg = Message(chat.new_id(), chat.chat_id, True, world.now(), reply_to=reply_to,
                  reply_markup=p.get("reply_markup"), parse_mode=p.get("parse_mode"), **fields)
    chat.messages[msg.message_id] = msg
    world.record("sent", msg)
    return msg


def _reply_target(chat: ChatState, reply: dict[str, Any]) -> int | None:
    target = chat.messages.get(reply["message_id"])
    if target is None or target.deleted:
        if reply.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    return target.message_id


@handler("sendMessage")
async def send_message(world: World, p: dict[str, Any]) -> Any:
    chat = world.chat_for(p["chat_id"])
    text, entities = rules.check_message_text(p["text"], p.get("parse_mode"), p.get("entities"))
    rules.check_reply_markup(p.get("reply_markup"))
    msg = _new_message(world, chat, p, text=text, entities=entities, html=p["text"],
                       link_preview=p.get("link_preview_options"), preview=await _link_preview(world, p))
    return world.message_json(msg)


async def _link_preview(world: World, p: dict[str, Any]) -> Any:
    """The media of link_preview_options.url (Telegram fetches it); None when disabled or not fetched."""
    options = p.get("link_preview_options")
    if isinstance(options, str):
        try:
            options = json.loads(options)
        except ValueError:
            raise bad_request("can't parse link preview options JSON object") from None
    if not isinstance(options, dict) or options.get("is_disabled") or not isinstance(options.get("url"), str):
        return None
    return await world.fetched(options["url"])


def _media_source(world: World, kind: str, value: Upload | str) -> str:
    """file_id for an upload, a URL (accepted without fetching) or a file_id this bot received before."""
    if isinstance(value, str) and value not in world.files:
        if not value.startswith(("http://", "https://")):
            raise bad_request("wrong file identifier/HTTP URL specified")
    if isinstance(value, str) and value in world.files:
        return value
    return world.new_file_id(kind, value)


async def _send_media(world: World, p: dict[str, Any], kind: str) -> Any:
    chat = world.chat_for(p["chat_id"])
    caption, caption_entities = rules.check_caption(p.get("caption"), p.get("parse_mode"), p.get("caption_entities"))
    rules.check_reply_markup(p.get("reply_markup"))
    value = p[kind]
    file_id = _media_source(world, kind, value)
    stored = world.files[file_id]
    fields: dict[str, Any] = {"kind": kind, "file_id": file_id, "text": caption, "caption": caption or None,
                              "caption_entities": caption_entities, "html": p.get("caption", "")}
    if kind == "photo":
        fields["photo"] = stored
        fields["preview"] = await world.fetched(stored) if isinstance(stored, str) else None
    elif isinstance(stored, Upload):
        fields["document"] = stored
    else:
        fields["document"] = Upload(kind, stored.rsplit("/", 1)[-1] or "file", "application/octet-stream", b"")
    return world.message_json(_new_message(world, chat, p, **fields))


@handler("sendPhoto")
async def send_photo(world: World, p: dict[str, Any]) -> Any:
    return await _send_media(world, p, "photo")


@handler("sendDocument")
async def send_document(world: World, p: dict[str, Any]) -> Any:
    return await _send_media(world, p, "document")


@handler("getFile")
async def get_file(world: World, p: dict[str, Any]) -> Any:
    stored = world.files.get(p["file_id"])
    if stored is None:
        raise bad_request("invalid file_id")
    info: dict[str, Any] = {"file_id": p["file_id"], "file_unique_id": f"u{p['file_id']}"}
    if isinstance(stored, Upload):
        info.update(file_size=len(stored.data), file_path=p["file_id"])
    return info


def _edit_target(world: World, p: dict[str, Any]) -> Message:
    if "inline_message_id" in p:
        raise bad_request("inline messages are not supported by the stand-in")
    if "chat_id" not in p:
        raise bad_request("chat_id is empty")
    if "message_id" not in p:
        raise bad_request("message identifier is not specified")
    msg = world.message(world.chat_for(p["chat_id"]), p["message_id"], "message to edit not found")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    return msg


def _apply_edit(world: World, msg: Message, changes: dict[str, Any]) -> Any:
    if all(getattr(msg, key) == value for key, value in changes.items() if key != "html"):
        raise bad_request(NOT_MODIFIED)
    for key, value in changes.items():
        setattr(msg, key, value)
    msg.edited += 1
    msg.edit_date = world.now()
    world.record("edited", msg)
    return world.message_json(msg)


@handler("editMessageText")
async def edit_message_text(world: World, p: dict[str, Any]) -> Any:
    if "text" not in p:
        raise bad_request("message text is empty")
    msg = _edit_target(world, p)
    if msg.kind != "text":
        raise bad_request("there is no text in the message to edit")
    text, entities = rules.check_message_text(p["text"], p.get("parse_mode"), p.get("entities"))
    rules.check_reply_markup(p.get("reply_markup"))
    changes = {"text": text, "entities": entities, "reply_markup": p.get("reply_markup"), "html": p["text"],
               "link_preview": p.get("link_preview_options")}
    preview = await _link_preview(world, p)
    result = _apply_edit(world, msg, changes)
    msg.preview = preview  # what Telegram fetched for link_preview_options (set once the edit is accepted)
    return result


@handler("editMessageCaption")
async def edit_message_caption(world: World, p: dict[str, Any]) -> Any:
    msg = _edit_target(world, p)
    if msg.kind == "text":
        raise bad_request("there is no caption in the message to edit")

    caption, caption_entities = rules.check_caption(p.get("caption"), p.get("parse_mode"), p.get("caption_entities"))
    rules.check_reply_markup(p.get("reply_markup"))
    changes = {"text": caption, "caption": caption or None, "caption_entities": caption_entities,
               "reply_markup": p.get("reply_markup"), "html": p.get("caption", "")}
    return _apply_edit(world, msg, changes)


@handler("editMessageMedia")
async def edit_message_media(world: World, p: dict[str, Any]) -> Any:
    """Photo/document swaps (e.g. a card's avatar); other media kinds keep only caption and markup."""
    msg = _edit_target(world, p)
    if msg.kind == "text":
        raise bad_request("there is no media in the message to edit")
    media = p["media"]
    caption, caption_entities = rules.check_caption(media.get("caption"), media.get("parse_mode"),
                                                    media.get("caption_entities"))
    rules.check_reply_markup(p.get("reply_markup"))
    kind = media["type"]
    file_id = _media_source(world, kind, media["media"])
    stored = world.files[file_id]
    changes: dict[str, Any] = {"kind": kind, "file_id": file_id, "text": caption, "caption": caption or None,
                               "caption_entities": caption_entities, "reply_markup": p.get("reply_markup"),
                               "html": media.get("caption", "")}
    if kind == "photo":
        changes.update(photo=stored, document=None,
                       preview=await world.fetched(stored) if isinstance(stored, str) else None)
    elif isinstance(stored, Upload):
        changes.update(photo=None, document=stored, preview=None)
    return _apply_edit(world, msg, changes)


@handler("editMessageReplyMarkup")
async def edit_message_reply_markup(world: World, p: dict[str, Any]) -> Any:
    msg = _edit_target(world, p)
    rules.check_reply_markup(p.get("reply_markup"))
    return _apply_edit(world, msg, {"reply_markup": p.get("reply_markup")})


@handler("deleteMessage")
async def delete_message(world: World, p: dict[str, Any]) -> Any:
    msg = world.message(world.chat_for(p["chat_id"]), p["message_id"], "message to delete not found")
    msg.deleted = True
    world.record("deleted", msg)
    return True


@handler("deleteMessages")
async def delete_messages(world: World, p: dict[str, Any]) -> Any:
    chat = world.chat_for(p["chat_id"])
    for message_id in p["message_ids"]:
        msg = chat.messages.get(message_id)
        if msg is not None and not msg.deleted:
            msg.deleted = True
            world.record("deleted", msg)
    return True


@handler("answerCallbackQuery")
async def answer_callback_query(world: World, p: dict[str, Any]) -> Any:
    callback = world.callbacks.get(p["callback_query_id"])
    if callback is None or callback.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    rules.check_answer_text(p.get("text"))
    callback.answered = True
    callback.answer = {k: v for k, v in p.items() if k != "callback_query_id"}
    world.changed()
    return True


@handler("sendChatAction")
async def send_chat_action(world: World, p: dict[str, Any]) -> Any:
    world.chat_for(p["chat_id"])
    rules.check_chat_action(p["action"])
    return True


def scope_key(p: dict[str, Any]) -> str:
    """Commands are stored per (scope, language_code), as Telegram keeps them."""
    scope = p.get("scope") or {"type": "default"}
    return json.dumps([scope, p.get("language_code") or ""], sort_keys=True)


@handler("setMyCommands")
async def set_my_commands(world: World, p: dict[str, Any]) -> Any:
    rules.check_commands(p["commands"])
    world.commands[scope_key(p)] = p["commands"]
    return True


@handler("getMyCommands")
async def get_my_commands(world: World, p: dict[str, Any]) -> Any:
    return world.commands.get(scope_key(p), [])


@handler("deleteMyCommands")
async def delete_my_commands(world: World, p: dict[str, Any]) -> Any:
    world.commands.pop(scope_key(p), None)
    return True


async def generic(world: World, method: dict[str, Any], p: dict[str, Any]) -> Any:
    """Other valid methods: accepted and recorded; a message-returning send becomes a bare message."""
    returns = method.get("returns", [])
    if returns == ["Message"] and "chat_id" in p:
        chat = world.chat_for(p["chat_id"])
        caption, entities = rules.check_caption(p.get("caption"), p.get("parse_mode"), p.get("caption_entities"))
        rules.check_reply_markup(p.get("reply_markup"))
        kind = method["name"]
        msg = _new_message(world, chat, p, kind=kind, text=caption, caption=caption or None,
                           caption_entities=entities)
        return world.message_json(msg)
    if "Boolean" in returns:
        return True
    raise bad_request(f"method {method['name']} is valid but not implemented by the stand-in")
