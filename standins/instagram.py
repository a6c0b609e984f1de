"""A local Instagram Graph stand-in (aiohttp on 127.0.0.1, ephemeral port) for tests, benches and the demo.

Serves the shapes of the Conversations API: `/{v}/{me|id}/conversations` (limit/after cursor paging with an
absolute `paging.next`, most recently active first, messages newest first, only the 20 newest per thread),
`/{v}/me`, `/{v}/{igsid}` profiles, `/refresh_access_token`; checks tokens; injects faults; sends usage
headers; counts calls. `add_message()` mutates the data at runtime like a new DM would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

MAX_MESSAGES = 20
MAX_LIMIT = 100
DEFAULT_LIMIT = 25
_VERSION = re.compile(r"^v\d+\.\d+$")
_MSG_LIMIT = re.compile(r"messages\.limit\((\d+)\)")


def graph_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class SMessage:
    id: str
    from_id: str
    text: str | None  # None: sent as null; see text_mode
    created: datetime
    attachment: str | None = None  # image | video | audio | file | share
    omit_text: bool = False  # attachment-only messages sometimes have no "message" key at all


@dataclass
class SConversation:
    id: str
    participants: list[dict[str, Any]]  # raw Graph participant objects (id, username, maybe name)
    messages: list[SMessage] = field(default_factory=list)  # newest first
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Dataset:
    account_id: str
    username: str
    conversations: list[SConversation] = field(default_factory=list)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def participant(self, pid: str) -> dict[str, Any]:
        for conv in self.conversations:
            for p in conv.participants:
                if p.get("id") == pid:
                    return p
        return {"id": pid}


class InstagramStandin:
    """`async with InstagramStandin(dataset) as ig:` then point a client at `ig.base_url` with `ig.token`."""

    def __init__(self, dataset: Dataset, *, token: str = "IGAAtest-token", page_size: int = DEFAULT_LIMIT,
                 overlap: int = 0, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.data = dataset
        self.token = token
        self.tokens = {token}
        self.expired = False  # every token answers 190/463
        self.page_size = page_size
        self.overlap = overlap  # >0: each next page re-serves the previous page's tail (a live list shifting)
        self.next_origin: str | None = None  # tests: make paging.next point at another host
        self.clock = clock
        self.faults: list[str] = []
        self.app_usage: dict[str, int] = {"call_count": 1, "total_time": 1, "total_cputime": 1}
        self.buc_usage: dict[str, Any] = {"call_count": 1, "total_time": 1, "total_cputime": 1,
                                          "estimated_time_to_regain_access": 0}
        self.calls: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._seq = 0

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> InstagramStandin:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ test and bench controls

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def fail_next(self, *faults: str) -> None:
        """Queue faults for the next requests, one each: pass (answer normally), expired, invalid, permission,
        throttle:<code>, http429, http500, code:<n> (an HTTP 500 with that Graph code), drop (close the
        connection)."""
        self.faults.extend(faults)

    def add_message(self, conversation_id: str, text: str | None, *, from_id: str | None = None,
                    attachment: str | None = None, at: datetime | None = None) -> SMessage:
        """A new DM: the thread moves to the top with a new updated_time. Default sender: the lead."""
        conv = next(c for c in self.data.conversations if c.id == conversation_id)
        sender = from_id or lead_of(conv, self.data.account_id)
        self._seq += 1
        when = at or self.clock()
        msg = SMessage(id=f"m_{conversation_id}_rt{self._seq}_{secrets.token_hex(3)}", from_id=sender,
                       text=text, created=when, attachment=attachment)
        conv.messages.insert(0, msg)
        conv.updated = max(conv.updated, when)
        return msg

    def add_conversation(self, conv: SConversation) -> None:
        self.data.conversations.append(conv)

    # ------------------------------------------------------------ HTTP

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        fault = await self._fault(request)
        if fault is not None:
            return fault
        if parts == ["refresh_access_token"]:
            return self._refresh(request)
        denied = self._check_token(request)
        if denied is not None:
            return denied
        if len(parts) < 2 or not _VERSION.match(parts[0]):
            return self._error(400, 100, "Unknown path components", subcode=2500)
        if len(parts) == 3 and parts[2] == "conversations":
            return self._conversations(request, parts[1])
        if len(parts) == 2:
            return self._object(request, parts[1])
        return self._error(400, 100, "Unsupported get request.", subcode=33)

    def _token_of(self, request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return request.query.get("access_token")

    def _check_token(self, request: web.Request) -> web.Response | None:
        token = self._token_of(request)
        if not token:
            return self._error(400, 104, "An access token is required to request this resource.")
        if token not in self.tokens:
            return self._error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if self.expired:
            return self._error(400, 190, "Error validating access token: Session has expired.", subcode=463)
        return None

    async def _fault(self, request: web.Request) -> web.StreamResponse | None:
        if not self.faults:
            return None
        kind = self.faults.pop(0)
        if kind == "pass":  # lets a test aim a fault at the Nth request
            return None
        self.calls["fault"] += 1
        if kind == "drop":
            assert request.transport is not None
            request.transport.close()  # the client sees a connection error
            await asyncio.sleep(0)
            return web.Response(status=500)
        if kind == "expired":
            return self._error(400, 190, "Error validating access token: Session has expired.", subcode=463)
        if kind == "invalid":
            return self._error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if kind == "permission":
            return self._error(403, 10, "Application does not have permission for this action")
        if kind == "http429":
            return web.json_response({"error": {"message": "Too many requests", "code": 4}}, status=429,
                                     headers=self._usage_headers(regain=2))
        if kind == "http500":
            return web.Response(status=500, text="<html>Internal Server Error</html>")
        name, _, code = kind.partition(":")
        if name == "throttle":
            return self._error(400, int(code), "Application request limit reached", regain=1)
        if name == "code":
            return self._error(500, int(code), "An unexpected error has occurred. Please retry.")
        raise ValueError(f"unknown fault {kind!r}")

    def _error(self, status: int, code: int, message: str, *, subcode: int | None = None,
               regain: int = 0) -> web.Response:
        err: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                               "fbtrace_id": secrets.token_hex(6)}
        if subcode is not None:
            err["error_subcode"] = subcode
        return web.json_response({"error": err}, status=status, headers=self._usage_headers(regain))

    def _usage_headers(self, regain: int = 0) -> dict[str, str]:
        buc = dict(self.buc_usage, type="instagram")
        if regain:
            buc["estimated_time_to_regain_access"] = regain
        return {"X-App-Usage": json.dumps(self.app_usage),
                "X-Business-Use-Case-Usage": json.dumps({self.data.account_id: [buc]})}

    def _ok(self, body: dict[str, Any]) -> web.Response:
        return web.json_response(body, headers=self._usage_headers(), dumps=_dumps)

    # ------------------------------------------------------------ endpoints

    def _refresh(self, request: web.Request) -> web.Response:
        self.calls["refresh"] += 1
        if request.query.get("grant_type") != "ig_refresh_token":
            return self._error(400, 100, "Invalid grant_type")
        denied = self._check_token(request)
        if denied is not None:
            return denied
        new = "IGAArefreshed-" + secrets.token_hex(8)
        self.tokens.add(new)
        return self._ok({"access_token": new, "token_type": "bearer", "expires_in": 5184000})

    def _object(self, request: web.Request, oid: str) -> web.Response:
        if oid == "me":
            self.calls["me"] += 1
            return self._ok({"user_id": self.data.account_id, "username": self.data.username,
                             "id": "app-scoped-" + self.data.account_id})
        if oid == self.data.account_id:
            self.calls["me"] += 1
            return self._ok({"id": oid, "username": self.data.username})
        self.calls["profile"] += 1
        profile = self.data.profiles.get(oid)
        if profile is None:
            known = self.data.participant(oid)
            if len(known) == 1:
                return self._error(400, 100, f"Object with ID '{oid}' does not exist", subcode=33)
            profile = {k: v for k, v in known.items() if k in ("username", "name")}
        return self._ok({"id": oid, **{k: profile.get(k) for k in ("name", "username", "profile_pic")}})

    def _conversations(self, request: web.Request, owner: str) -> web.Response:
        self.calls["conversations"] += 1
        if owner not in ("me", self.data.account_id):
            return self._error(400, 100, f"Object with ID '{owner}' does not exist", subcode=33)
        if request.query.get("platform") != "instagram":
            return self._error(400, 100, "(#100) platform=instagram is required")
        limit = min(MAX_LIMIT, max(1, _int(request.query.get("limit"), self.page_size)))
        start = _decode(request.query.get("after"))
        ordered = sorted(self.data.conversations, key=lambda c: (c.updated, c.id), reverse=True)
        chunk = ordered[start:start + limit]
        fields = request.query.get("fields", "")
        per = _msg_limit(fields)
        body: dict[str, Any] = {"data": [self._conversation(c, fields, per) for c in chunk]}
        nxt = start + limit - (self.overlap if start + limit < len(ordered) else 0)
        paging: dict[str, Any] = {"cursors": {"before": _encode(start), "after": _encode(nxt)}}
        if start + limit < len(ordered):
            link = request.url.update_query(after=_encode(nxt))
            paging["next"] = str(link) if self.next_origin is None else self.next_origin + link.path_qs
        body["paging"] = paging
        return self._ok(body)

    def _conversation(self, conv: SConversation, fields: str, per: int) -> dict[str, Any]:
        out: dict[str, Any] = {"id": conv.id, "updated_time": graph_time(conv.updated)}
        if "participants" in fields:
            out["participants"] = {"data": conv.participants}
        if "messages" in fields:
            msgs = sorted(conv.messages, key=lambda m: m.created, reverse=True)[:per]
            out["messages"] = {"data": [self._message(m, conv) for m in msgs]}
        return out

    def _message(self, msg: SMessage, conv: SConversation) -> dict[str, Any]:
        sender = next((p for p in conv.participants if p.get("id") == msg.from_id), {"id": msg.from_id})
        to = [p for p in conv.participants if p.get("id") != msg.from_id]
        out: dict[str, Any] = {"id": msg.id, "created_time": graph_time(msg.created),
                               "from": {k: v for k, v in sender.items() if k in ("id", "username")},
                               "to": {"data": to}}
        if not msg.omit_text:
            out["message"] = msg.text
        if msg.attachment:
            out["attachments"] = {"data": [_attachment(msg)]}
        return out


def lead_of(conv: SConversation, account_id: str) -> str:
    return next((p["id"] for p in conv.participants if p.get("id") != account_id), account_id)


def _attachment(msg: SMessage) -> dict[str, Any]:
    url = f"https://cdn.example.invalid/{msg.id}"
    kind = msg.attachment or "image"
    if kind in ("image", "video", "audio"):
        return {f"{kind}_data": {"url": url, "preview_url": url}}
    if kind == "file":
        return {"file_url": url, "mime_type": "application/pdf", "name": "file.pdf"}
    return {"type": kind, "payload": {"url": url}}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"off:{offset}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return max(0, int(raw.split(":", 1)[1]))
    except (ValueError, IndexError):
        return 0


def _msg_limit(fields: str) -> int:
    found = _MSG_LIMIT.search(fields)
    return min(MAX_MESSAGES, int(found.group(1))) if found else MAX_MESSAGES


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default
