"""Instagram Graph client for DM sync: conversations (cursor paging), account, profiles, token refresh.

Works for Instagram Login (graph.instagram.com, `me`) and Facebook Login (graph.facebook.com,
`v18.0/<ig-user-id>`) by its constructor arguments alone. Request URLs carry the token: never log them.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.clients.graph_errors import (
    BadRequest,
    GraphError,
    GraphUnavailable,
    NotFound,
    OutsideWindow,
    PermissionDenied,
    RateLimited,
    RecipientUnavailable,
    SendUnknown,
    TokenInvalid,
    classify,
    is_retryable,
)
from core.clients.graph_usage import Usage, parse_usage
from core.timeutil import parse_graph_time

__all__ = [
    "BadRequest", "GraphError", "GraphUnavailable", "IgAccount", "IgConversation", "IgMessage",
    "IgParticipant", "IgProfile", "InstagramClient", "NotFound", "OutsideWindow", "PermissionDenied", "RateLimited",
    "RecipientUnavailable", "SendUnknown", "SentMessage", "TokenInvalid", "MAX_TEXT_BYTES",
]

log = logging.getLogger(__name__)
_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']+")


class RedactTokens(logging.Filter):
    """httpx logs every request URL at INFO, and Graph URLs carry the access token (also inside paging.next)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "access_token=" in text:
            record.msg, record.args = _TOKEN_IN_URL.sub(r"\1***", text), None
        return True


for _name in ("httpx", "httpcore"):
    _logger = logging.getLogger(_name)
    if _logger.level == logging.NOTSET:  # quiet unless someone asked for these logs on purpose
        _logger.setLevel(logging.WARNING)
    _logger.addFilter(RedactTokens())

Sleep = Callable[[float], Awaitable[None]]
MESSAGE_FIELDS = "id,created_time,from,to,message,attachments"
MESSAGES_PER_CONVERSATION = 20  # Graph only serves the 20 newest messages of a thread
PROFILE_FIELDS = "name,username,profile_pic"
MAX_TEXT_BYTES = 1000  # Send API: UTF-8 bytes, not characters
HUMAN_AGENT = "HUMAN_AGENT"


@dataclass(frozen=True)
class IgParticipant:
    id: str
    username: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class IgMessage:
    id: str
    created_at: datetime | None
    from_id: str
    text: str  # '' when Graph sends it missing or null (attachment-only messages)
    attachment_kind: str | None = None


@dataclass(frozen=True)
class IgConversation:
    id: str
    updated_time: datetime | None
    participants: tuple[IgParticipant, ...] = ()
    messages: tuple[IgMessage, ...] = ()  # newest first, as Graph serves them


@dataclass(frozen=True)
class IgAccount:
    user_id: str  # the IG professional account id: the value participants carry
    username: str | None


@dataclass(frozen=True)
class IgProfile:
    id: str
    name: str | None = None
    username: str | None = None
    profile_pic: str | None = None


@dataclass(frozen=True)
class SentMessage:
    recipient_id: str
    message_id: str


@dataclass
class _Retry:
    attempts: int = 4  # first try + 3 retries
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * (2.0**attempt)))


class InstagramClient:
    """One creator's Graph access. `calls` counts HTTP requests sent (for benches and incremental checks)."""

    def __init__(
        self, http: httpx.AsyncClient, token: str, *, base: str, version: str, user_id: str = "me",
        sleep: Sleep = asyncio.sleep, attempts: int = 4, base_delay: float = 0.5, page_size: int = 25,
    ) -> None:
        self._http = http
        self._token = token
        self.base = base.rstrip("/")
        self.version = version.strip("/")
        self.user_id = user_id or "me"
        self._sleep = sleep
        self._retry = _Retry(attempts=max(1, attempts), base_delay=base_delay)
        self.page_size = page_size
        self.calls = 0
        self.usage = Usage()

    # ------------------------------------------------------------ public API

    async def conversations(
        self, *, limit: int | None = None, messages_limit: int = MESSAGES_PER_CONVERSATION
    ) -> AsyncGenerator[list[IgConversation], None]:
        """Pages of conversations, most recently active first, following `paging.next` verbatim."""
        fields = f"participants,updated_time,messages.limit({messages_limit}){{{MESSAGE_FIELDS}}}"
        params: dict[str, Any] | None = {
            "platform": "instagram", "fields": fields, "limit": limit or self.page_size,
        }
        url: str | None = self._url(f"{self.user_id}/conversations")
        while url is not None:
            body = await self._get(url, params)
            yield [conv for item in _list(body.get("data")) if (conv := parse_conversation(item))]
            url, params = self._next(body), None

    async def account(self) -> IgAccount:
        """The token's account in ONE call (validates a token on /connect)."""
        if self.user_id == "me":
            body = await self._get(self._url("me"), {"fields": "user_id,username"})
            account_id = body.get("user_id") or body.get("id")
        else:  # Facebook Login: the IG user id is known, ask the object itself
            body = await self._get(self._url(self.user_id), {"fields": "id,username"})
            account_id = body.get("id") or self.user_id
        if not account_id:
            raise BadRequest("Graph returned no account id")
        return IgAccount(user_id=str(account_id), username=_str(body.get("username")))

    async def profile(self, igsid: str) -> IgProfile:
        body = await self._get(self._url(igsid), {"fields": PROFILE_FIELDS})
        return IgProfile(
            id=str(body.get("id") or igsid), name=_str(body.get("name")),
            username=_str(body.get("username")), profile_pic=_str(body.get("profile_pic")),
        )

    async def refresh_token(self) -> tuple[str, int]:
        """Long-lived token refresh (Instagram Login, no version prefix) -> (new token, expires_in seconds)."""
        body = await self._get(f"{self.base}/refresh_access_token", {"grant_type": "ig_refresh_token"})
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise BadRequest("refresh returned no token")
        self._token = token
        return token, int(body.get("expires_in") or 0)

    async def send_text(self, recipient_id: str, text: str, *, human_agent: bool = False,
                        timeout_s: float | None = None) -> SentMessage:
        """One Send API call, never retried here: a POST that may have landed must be reconciled, not repeated.

        Raises OutsideWindow, RecipientUnavailable, TokenInvalid, RateLimited, PermissionDenied, BadRequest,
        GraphUnavailable (certainly not sent) or SendUnknown (the request left, no answer: maybe sent)."""
        if len(text.encode()) > MAX_TEXT_BYTES:
            raise BadRequest(f"text is {len(text.encode())} bytes; Instagram takes at most {MAX_TEXT_BYTES}")
        body: dict[str, Any] = {"recipient": {"id": recipient_id}, "message": {"text": text}}
        if human_agent:  # a human's reply up to 7 days after the person's last message
            body |= {"messaging_type": "MESSAGE_TAG", "tag": HUMAN_AGENT}
        data = await self._post(self._url(f"{self.user_id}/messages"), body, timeout_s)
        mid = data.get("message_id")
        if not isinstance(mid, str) or not mid:
            raise SendUnknown("Instagram accepted the message but returned no message_id")
        return SentMessage(recipient_id=str(data.get("recipient_id") or recipient_id), message_id=mid)

    async def thread_messages(self, igsid: str, limit: int = MESSAGES_PER_CONVERSATION) -> list[IgMessage]:
        """The newest messages of the conversation with one person (newest first), to reconcile a send."""
        fields = f"messages.limit({limit}){{{MESSAGE_FIELDS}}}"
        body = await self._get(self._url(f"{self.user_id}/conversations"),
                               {"platform": "instagram", "user_id": igsid, "fields": fields})
        convs = [c for item in _list(body.get("data")) if (c := parse_conversation(item))]
        return [m for conv in convs for m in conv.messages]

    # ------------------------------------------------------------ transport

    async def _post(self, url: str, body: dict[str, Any], timeout_s: float | None) -> dict[str, Any]:
        self.calls += 1
        try:
            resp = await self._http.post(url, params={"access_token": self._token}, json=body,
                                         timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # never left: not sent
            raise GraphUnavailable(f"network error: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:  # sent, then the answer was lost: maybe delivered
            raise SendUnknown(f"no answer from Instagram: {type(exc).__name__}") from None
        self.usage = parse_usage(resp.headers)
        data = _json(resp)
        has_error = isinstance(data, dict) and isinstance(data.get("error"), dict)
        if resp.status_code >= 500 and not has_error:  # a proxy's 5xx says nothing about the message
            raise SendUnknown(f"Instagram server error {resp.status_code}", status=resp.status_code)
        if resp.status_code >= 400 or has_error:
            raise classify(data, resp.status_code, self._retry_after(resp))
        if not isinstance(data, dict):
            raise SendUnknown("Instagram answered with something that is not a JSON object")
        return data

    def _url(self, path: str) -> str:
        return f"{self.base}/{self.version}/{path}"

    def _next(self, body: dict[str, Any]) -> str | None:
        paging = body.get("paging")
        nxt = paging.get("next") if isinstance(paging, dict) else None
        if not isinstance(nxt, str) or not nxt:
            return None
        # The token rides along in `next`: only ever send it back to the scheme and host we were configured for
        # (an https base must not be downgraded to http, where anyone on the path reads the token).
        link, base = urlsplit(nxt), urlsplit(self.base)
        if (link.scheme.lower(), link.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
            raise BadRequest("paging.next points to another scheme or host; refusing to follow it")
        return nxt

    async def _get(self, url: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """One logical GET with bounded retries on network errors, 5xx and codes 1/2."""
        last: GraphError | None = None
        for attempt in range(self._retry.attempts):
            if attempt:
                await self._sleep(self._retry.delay(attempt - 1))
            try:
                return await self._once(url, params)
            except GraphError as exc:
                if not is_retryable(exc):
                    raise
                last = exc
                log.warning("Graph call failed (attempt %d/%d): %s", attempt + 1, self._retry.attempts, exc)
        assert last is not None
        raise last

    async def _once(self, url: str, params: dict[str, Any] | None) -> dict[str, Any]:
        pause = self.usage.delay()
        if pause:
            await self._sleep(pause)
        query = dict(params or {})
        if "access_token=" not in url:
            query["access_token"] = self._token
        self.calls += 1
        try:
            resp = await self._http.get(url, params=query or None)
        except httpx.HTTPError as exc:  # str(exc) may hold the URL: report the type only
            raise GraphUnavailable(f"network error: {type(exc).__name__}") from None
        self.usage = parse_usage(resp.headers)
        body = _json(resp)
        if resp.status_code >= 400 or (isinstance(body, dict) and "error" in body):
            raise classify(body, resp.status_code, self._retry_after(resp))
        if not isinstance(body, dict):
            raise GraphUnavailable("Graph answered with something that is not a JSON object",
                                   status=resp.status_code)
        return body

    def _retry_after(self, resp: httpx.Response) -> float | None:
        if self.usage.regain_seconds > 0:
            return self.usage.regain_seconds
        raw = resp.headers.get("retry-after")
        try:
            return float(raw) if raw else None
        except ValueError:
            return None


# ---------------------------------------------------------------- parsing (hostile input: never raise)


def parse_conversation(item: Any) -> IgConversation | None:
    if not isinstance(item, dict) or not item.get("id"):
        return None
    participants = tuple(p for raw in _edge(item.get("participants")) if (p := _participant(raw)))
    messages = tuple(m for raw in _edge(item.get("messages")) if (m := parse_message(raw)))
    return IgConversation(
        id=str(item["id"]), updated_time=parse_graph_time(item.get("updated_time")),
        participants=participants, messages=messages,
    )


def parse_message(raw: Any) -> IgMessage | None:
    if not isinstance(raw, dict) or not raw.get("id"):
        return None
    sender: dict[str, Any] = raw["from"] if isinstance(raw.get("from"), dict) else {}
    text = raw.get("message")
    return IgMessage(
        id=str(raw["id"]), created_at=parse_graph_time(raw.get("created_time")),
        from_id=str(sender.get("id") or ""), text=text if isinstance(text, str) else "",
        attachment_kind=attachment_kind(raw),
    )


_KINDS = (("image_data", "image"), ("video_data", "video"), ("audio_data", "audio"), ("file_url", "file"))


def attachment_kind(raw: dict[str, Any]) -> str | None:
    for att in _edge(raw.get("attachments")):
        if isinstance(att, dict):
            for key, kind in _KINDS:
                if att.get(key):
                    return kind
            return str(att.get("type") or "attachment")[:32]
    if raw.get("shares"):
        return "share"
    if raw.get("story"):
        return "story"
    return None


def _participant(raw: Any) -> IgParticipant | None:
    if not isinstance(raw, dict) or not raw.get("id"):
        return None
    return IgParticipant(id=str(raw["id"]), username=_str(raw.get("username")), name=_str(raw.get("name")))


def _edge(value: Any) -> list[Any]:
    """Graph edges are `{"data": [...]}`; tolerate a bare list or nothing."""
    if isinstance(value, dict):
        return _list(value.get("data"))
    return _list(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None
