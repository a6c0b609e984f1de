"""A local Instagram Graph stand-in (aiohttp on 127.0.0.1, ephemeral port) for tests and benches.

Serves the shapes of the Conversations API: `/{v}/{me|id}/conversations` (limit/after cursor paging with an
absolute `paging.next`, most recently active first, messages newest first, only the 20 newest per thread),
`/{v}/me`, `/{v}/{igsid}` profiles, `/refresh_access_token`; checks tokens; injects faults; sends usage
headers; counts calls. `add_message()` mutates the data at runtime like a new DM would.

Send API (`POST /{v}/{me|id}/messages`): the Graph request shape, the 1000-byte limit, the reply window
(24 h after the person's last message; 7 days with the HUMAN_AGENT tag) with Instagram's real error body,
token errors, a per-account send rate (code 613 past it), a `message_id` that the conversation then serves
(so a sync finds the sent message under the same id), and `fail_send()` faults. More accounts can be served
by one stand-in (`add_account(dataset, token)`): each token reads and sends as its own account.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from core.demo.graph import decode_cursor, encode_cursor

MAX_MESSAGES = 20
MAX_TEXT_BYTES = 1000
WINDOW = 24 * 3600
HUMAN_AGENT_WINDOW = 7 * 24 * 3600
OUTSIDE_WINDOW = {"message": "This message is sent outside of allowed window.", "type": "IGApiException",
                  "code": 10, "error_subcode": 2534022}
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
    # The people of the thread as the data set knows them (id, username, maybe name). Graph serves only id and
    # username here; a name is only given by the profile endpoint (see InstagramStandin._object).
    participants: list[dict[str, Any]]
    messages: list[SMessage] = field(default_factory=list)  # newest first
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Dataset:
    account_id: str
    username: str
    conversations: list[SConversation] = field(default_factory=list)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    no_consent: set[str] = field(default_factory=set)  # IGSIDs whose profile needs consent they never gave
    blocked: set[str] = field(default_factory=set)  # IGSIDs who blocked the account: no profile at all

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
        self.accounts: dict[str, Dataset] = {}  # extra tokens -> their own account
        self.send_faults: list[str] = []
        self.send_rate_per_s = 100  # Send API calls per second per account (Meta: plan for 100)
        self.hang_s = 30.0  # how long a "hang" fault keeps the client waiting
        self.sent: list[Sent] = []  # every accepted send, in order
        self.send_attempts = 0
        self.rate_refusals = 0
        self._send_times: dict[str, list[float]] = {}

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._dispatch)
        app.router.add_post("/{tail:.*}", self._dispatch_post)
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

    def add_account(self, dataset: Dataset, token: str) -> None:
        """Another Instagram account on this stand-in, read and written with `token`."""
        self.accounts[token] = dataset
        self.tokens.add(token)

    def fail_send(self, *faults: str) -> None:
        """Faults for the next sends only, one each: pass, outside_window, gone (2534014), unavailable (551),
        throttle:<code> (4, 613), invalid / expired (190), transient (code 2), hang (deliver, then keep the
        client waiting `hang_s`: a timeout after the message left), lost (keep the client waiting without
        delivering), drop (close the connection before reading)."""
        self.send_faults.extend(faults)

    def thread_of(self, recipient_id: str, dataset: Dataset | None = None) -> SConversation | None:
        data = dataset or self.data
        return next((c for c in data.conversations
                     if any(p.get("id") == recipient_id for p in c.participants) and recipient_id != data.account_id),
                    None)

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

    def _data(self, request: web.Request) -> Dataset:
        return self.accounts.get(self._token_of(request) or "", self.data)

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
        data = self._data(request)
        if oid == "me":
            self.calls["me"] += 1
            return self._ok({"user_id": data.account_id, "username": data.username,
                             "id": "app-scoped-" + data.account_id})
        if oid == data.account_id:
            self.calls["me"] += 1
            return self._ok({"id": oid, "username": data.username})
        self.calls["profile"] += 1
        if oid in data.no_consent:  # the body Graph sends (Chatwoot keys on code 230)
            return self._error(400, 230, "(#230) User consent is required to access user profile")
        profile = data.profiles.get(oid)
        if profile is None:
            known = data.participant(oid)
            if len(known) == 1:
                profile = None
            else:
                profile = {k: v for k, v in known.items() if k in ("username", "name")}
        if profile is None or oid in data.blocked:  # a blocked account sees nothing: like a missing object
            return self._error(400, 100, f"Unsupported get request. Object with ID '{oid}' does not exist, cannot "
                               "be loaded due to missing permissions, or does not support this operation",
                               subcode=33)
        return self._ok({"id": oid, **{k: profile.get(k) for k in ("name", "username", "profile_pic")}})

    def _conversations(self, request: web.Request, owner: str) -> web.Response:
        self.calls["conversations"] += 1
        data = self._data(request)
        if owner not in ("me", data.account_id):
            return self._error(400, 100, f"Object with ID '{owner}' does not exist", subcode=33)
        if request.query.get("platform") != "instagram":
            return self._error(400, 100, "(#100) platform=instagram is required")
        limit = min(MAX_LIMIT, max(1, _int(request.query.get("limit"), self.page_size)))
        start = decode_cursor(request.query.get("after"))
        convs = data.conversations
        if request.query.get("user_id"):  # the conversation with one person (Graph: `user_id=<IGSID>`)
            convs = [c for c in convs if any(p.get("id") == request.query["user_id"] for p in c.participants)]
        ordered = sorted(convs, key=lambda c: (c.updated, c.id), reverse=True)
        chunk = ordered[start:start + limit]
        fields = request.query.get("fields", "")
        per = _msg_limit(fields)
        body: dict[str, Any] = {"data": [self._conversation(c, fields, per) for c in chunk]}
        nxt = start + limit - (self.overlap if start + limit < len(ordered) else 0)
        paging: dict[str, Any] = {"cursors": {"before": encode_cursor(start), "after": encode_cursor(nxt)}}
        if start + limit < len(ordered):
            link = request.url.update_query(after=encode_cursor(nxt))
            paging["next"] = str(link) if self.next_origin is None else self.next_origin + link.path_qs
        body["paging"] = paging
        return self._ok(body)

    def _conversation(self, conv: SConversation, fields: str, per: int) -> dict[str, Any]:
        out: dict[str, Any] = {"id": conv.id, "updated_time": graph_time(conv.updated)}
        if "participants" in fields:  # Instagram participants carry id and username only, never name
            out["participants"] = {"data": [_graph_user(p) for p in conv.participants]}
        if "messages" in fields:
            msgs = sorted(conv.messages, key=lambda m: m.created, reverse=True)[:per]
            out["messages"] = {"data": [self._message(m, conv) for m in msgs]}
        return out

    def _message(self, msg: SMessage, conv: SConversation) -> dict[str, Any]:
        sender = next((p for p in conv.participants if p.get("id") == msg.from_id), {"id": msg.from_id})
        to = [_graph_user(p) for p in conv.participants if p.get("id") != msg.from_id]
        out: dict[str, Any] = {"id": msg.id, "created_time": graph_time(msg.created), "from": _graph_user(sender),
                               "to": {"data": to}}
        if not msg.omit_text:
            out["message"] = msg.text
        if msg.attachment:
            out["attachments"] = {"data": [_attachment(msg)]}
        return out

    # ------------------------------------------------------------ Send API

    async def _dispatch_post(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        fault = await self._fault(request)
        if fault is not None:
            return fault
        denied = self._check_token(request)
        if denied is not None:
            return denied
        data = self._data(request)
        if len(parts) != 3 or not _VERSION.match(parts[0]) or parts[2] != "messages":
            return self._error(400, 100, "Unsupported post request.", subcode=33)
        if parts[1] not in ("me", data.account_id):
            return self._error(400, 100, f"Object with ID '{parts[1]}' does not exist", subcode=33)
        return await self._send(request, data)

    async def _send(self, request: web.Request, data: Dataset) -> web.StreamResponse:
        arrived = time.monotonic()
        self.calls["send"] += 1
        self.send_attempts += 1
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, 100, "(#100) Invalid JSON body")
        fault = self.send_faults.pop(0) if self.send_faults else "pass"
        early = await self._send_fault(request, fault)
        if early is not None:
            return early
        recipient = str((body.get("recipient") or {}).get("id") or "") if isinstance(body, dict) else ""
        message = body.get("message") if isinstance(body, dict) else None
        text = message.get("text") if isinstance(message, dict) else None
        if not recipient:
            return self._error(400, 100, "(#100) The parameter recipient is required")
        if not isinstance(text, str) or not text:
            return self._error(400, 100, "(#100) The parameter message is required")
        if len(text.encode()) > MAX_TEXT_BYTES:
            return self._error(400, 100, f"(#100) Length of param message[text] must be less than or equal to "
                                         f"{MAX_TEXT_BYTES}")
        conv = self.thread_of(recipient, data)
        if conv is None:
            return self._error(400, 100, "No matching user found", subcode=2534014)
        human_agent = body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag") == "HUMAN_AGENT"
        if not self._in_window(conv, recipient, human_agent):
            return web.json_response({"error": dict(OUTSIDE_WINDOW, fbtrace_id=secrets.token_hex(6))}, status=400,
                                     headers=self._usage_headers())
        if not self._take_send_slot(data.account_id):
            self.rate_refusals += 1
            return self._error(400, 613, "Calls to this api have exceeded the rate limit.", regain=1)
        self._seq += 1
        mid = f"m_{conv.id}_sent{self._seq}_{secrets.token_hex(4)}"
        now = self.clock()
        conv.messages.insert(0, SMessage(id=mid, from_id=data.account_id, text=text, created=now))
        conv.updated = max(conv.updated, now)
        self.sent.append(Sent(data.account_id, recipient, text, mid, human_agent, time.monotonic(), arrived))
        if fault == "hang":  # delivered, but the answer never makes it back in time
            await asyncio.sleep(self.hang_s)
        return self._ok({"recipient_id": recipient, "message_id": mid})

    async def _send_fault(self, request: web.Request, fault: str) -> web.StreamResponse | None:
        if fault in ("pass", "hang"):
            return None
        self.calls["fault"] += 1
        if fault == "outside_window":
            return web.json_response({"error": dict(OUTSIDE_WINDOW, fbtrace_id=secrets.token_hex(6))}, status=400)
        if fault == "gone":
            return self._error(400, 100, "No matching user found", subcode=2534014)
        if fault == "unavailable":
            return self._error(400, 551, "This person isn't available right now.")
        if fault == "transient":
            return self._error(500, 2, "An unexpected error has occurred. Please retry your request later.",
                               subcode=1545133)
        if fault == "lost":
            await asyncio.sleep(self.hang_s)
            return web.Response(status=504)
        return await self._fault_of(request, fault)

    async def _fault_of(self, request: web.Request, kind: str) -> web.StreamResponse:
        self.faults.insert(0, kind)
        answer = await self._fault(request)
        assert answer is not None, kind
        return answer

    def _in_window(self, conv: SConversation, recipient: str, human_agent: bool) -> bool:
        last = max((m.created for m in conv.messages if m.from_id == recipient), default=None)
        if last is None:  # they never wrote: a business may not start the conversation
            return False
        age = (self.clock() - last).total_seconds()
        return age <= WINDOW or (human_agent and age <= HUMAN_AGENT_WINDOW)

    def _take_send_slot(self, account_id: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self._send_times.get(account_id, []) if now - t < 1.0]
        if len(recent) >= self.send_rate_per_s:
            self._send_times[account_id] = recent
            return False
        recent.append(now)
        self._send_times[account_id] = recent
        return True


@dataclass(frozen=True)
class Sent:
    account_id: str
    recipient_id: str
    text: str
    message_id: str
    human_agent: bool
    at: float  # time.monotonic() when accepted (the answer leaves right after)
    arrived: float = 0.0  # time.monotonic() when the request arrived


def _graph_user(person: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in person.items() if k in ("id", "username")}


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


def _msg_limit(fields: str) -> int:
    found = _MSG_LIMIT.search(fields)
    return min(MAX_MESSAGES, int(found.group(1))) if found else MAX_MESSAGES


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default
