"""Telegram's HTML parse mode: the tags and entities Telegram accepts, nothing more.

`parse_html` returns the plain text and MessageEntity dicts (offsets in UTF-16 code units, as Telegram
counts them) or raises ApiError with "can't parse entities: ..." like Telegram does for bad markup.
"""

from __future__ import annotations

import html as std_html
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from standins.telegram.errors import ApiError, bad_request

_VALUE = r"(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+)"
_TAG = re.compile(rf"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z_][a-zA-Z0-9_-]*(?:\s*=\s*{_VALUE})?)*)\s*(/?)>")
_ATTR = re.compile(r"([a-zA-Z_][a-zA-Z0-9_-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "code": "code", "pre": "pre",
}
_SPECIAL = {"span", "a", "blockquote", "tg-emoji", "tg-time"}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the output where the tag started
    seq: int  # opening order: among entities with the same span the outer one comes first
    entity: dict[str, Any] | None = field(default=None)


def _error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.size = 0  # UTF-16 length of the output so far
        self.stack: list[_Open] = []
        self.entities: list[tuple[int, dict[str, Any]]] = []
        self.opened = itertools.count()

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.size += utf16_len(text)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        i, src = 0, self.source
        while i < len(src):
            char = src[i]
            if char == "<":
                i = self.tag(i)
            elif char == "&":
                i = self.entity(i)
            else:
                nxt = min((p for p in (src.find("<", i), src.find("&", i)) if p != -1), default=len(src))
                self.emit(src[i:nxt])
                i = nxt
        if self.stack:
            raise _error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        self.entities.sort(key=lambda item: (item[1]["offset"], -item[1]["length"], item[0]))
        return "".join(self.out), [entity for _, entity in self.entities]

    def entity(self, i: int) -> int:
        match = _ENTITY.match(self.source, i)
        if match is None:
            offset = _byte_offset(self.source, i)
            raise _error(f"Character '&' is reserved and must be escaped as \"&amp;\" at byte offset {offset}")
        name = match.group(1)
        if name in _NAMED:
            self.emit(_NAMED[name])
        else:
            self.emit(std_html.unescape(match.group(0)))
        return match.end()

    def tag(self, i: int) -> int:
        match = _TAG.match(self.source, i)
        offset = _byte_offset(self.source, i)
        if match is None:
            raise _error(f"Unexpected character '<' at byte offset {offset}: escape it as \"&lt;\"")
        closing, name = match.group(1) == "/", match.group(2).lower()
        if closing:
            self.close(name, offset)
        else:
            self.open(name, _attrs(match.group(3)), offset)
            if match.group(4):  # <br/>-style self-closing tags are not Telegram HTML
                raise _error(f'Unsupported start tag "{name}" at byte offset {offset}')
        return match.end()

    def open(self, name: str, attrs: dict[str, str], offset: int) -> None:
        if name not in _SIMPLE and name not in _SPECIAL:
            raise _error(f'Unsupported start tag "{name}" at byte offset {offset}')
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise _error(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}')
        if name == "tg-time" and not attrs.get("unix", "").lstrip("-").isdigit():
            raise _error(f'Tag "tg-time" must have attribute "unix" at byte offset {offset}')
        self.stack.append(_Open(name, attrs, self.size, next(self.opened)))

    def close(self, name: str, offset: int) -> None:
        if not self.stack:
            raise _error(f'Unexpected end tag "{name}" at byte offset {offset}')
        top = self.stack.pop()
        if top.name != name:
            raise _error(f'Unmatched end tag at byte offset {offset}, expected "</{top.name}>", found "</{name}>"')
        length = self.size - top.offset
        if length > 0:
            self.add_entity(top, length)

    def add_entity(self, top: _Open, length: int) -> None:
        entity = _entity_for(top, length)
        if entity is None:
            return
        # <pre><code class="language-x">…</code></pre> is one pre entity carrying the language.
        if top.name == "code" and self.stack and self.stack[-1].name == "pre":
            if entity.get("language"):
                self.stack[-1].attrs["__language"] = entity["language"]
            return
        if top.name == "pre" and "__language" in top.attrs:
            entity["language"] = top.attrs["__language"]
        self.entities.append((top.seq, entity))


def _entity_for(top: _Open, length: int) -> dict[str, Any] | None:
    entity: dict[str, Any] = {"offset": top.offset, "length": length}
    name, attrs = top.name, top.attrs
    if name in _SIMPLE:
        entity["type"] = _SIMPLE[name]
        language = attrs.get("class", "")
        if name == "code" and language.startswith("language-"):
            entity["language"] = language[len("language-") :]
    elif name == "span":
        entity["type"] = "spoiler"
    elif name == "a":
        if not attrs.get("href"):
            return None
        entity.update(type="text_link", url=attrs["href"])
    elif name == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in attrs else "blockquote"
    elif name == "tg-emoji":
        entity.update(type="custom_emoji", custom_emoji_id=attrs["emoji-id"])
    else:
        entity.update(type="date_time", unix_time=int(attrs["unix"]))
        if attrs.get("format"):
            entity["date_time_format"] = attrs["format"]
    return entity


def _attrs(raw: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        value = match.group(2) or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        attrs[match.group(1).lower()] = std_html.unescape(value)
    return attrs


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities for `source` in Telegram HTML, or ApiError("can't parse entities: ...")."""
    return _Parser(source).run()


def to_html(text: str, entities: list[dict[str, Any]] | None = None) -> str:
    """Escaped text; entity markup is not re-created (used only for messages sent without parse_mode)."""
    del entities
    return std_html.escape(text, quote=False)
