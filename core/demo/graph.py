"""The demo account answered in-process, in the Instagram Graph API's shapes.

An httpx transport, so the demo goes through the real InstagramClient (paging, parsing, profiles) with no
server, no port and no network: `httpx.AsyncClient(transport=DemoGraph(account, anchor))`. It serves what
Leadgram reads (`/{v}/me`, `/{v}/{me|account}/conversations` with cursor paging and an absolute
`paging.next`, `/{v}/{igsid}` profiles) plus the leads' profile pictures under /avatars/, and takes replies
like the Send API (`POST /{v}/me/messages`: 1000 bytes, the 24 h window, HUMAN_AGENT up to 7 days, a
`message_id`), so a new creator can answer a demo lead. Faults, throttling and token expiry are the test
stand-in's business (standins/instagram.py), not the product's.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.demo.avatars import avatar_png
from core.demo.data import NICHES, DemoAccount, DemoMessage, DemoThread, demo_account

DEMO_BASE = "https://demo.leadgram.invalid"  # .invalid never resolves: nothing real is ever reached
DEMO_TOKEN = "IGAAdemo-token-not-secret"
MAX_MESSAGES = 20  # Graph only serves the 20 newest messages of a thread
DEFAULT_LIMIT, MAX_LIMIT = 25, 100
SEND_MAX_BYTES = 1000
_VERSION = re.compile(r"^v\d+\.\d+$")
_MSG_LIMIT = re.compile(r"messages\.limit\((\d+)\)")
_AVATAR = re.compile(r"^/avatars/([0-9A-Za-z_-]+)\.png$")


def avatar_url(lead_id: str) -> str:
    return f"{DEMO_BASE}/avatars/{lead_id}.png"


def demo_avatar(url: str) -> bytes | None:
    """The picture behind a demo avatar URL (any niche's lead), or None for any other URL."""
    match = _AVATAR.match(url[len(DEMO_BASE):]) if url.startswith(DEMO_BASE + "/") else None
    if match is None or not any(demo_account(n).thread_of(match.group(1)) for n in NICHES):
        return None
    return avatar_png(match.group(1))


class DemoMedia(httpx.AsyncBaseTransport):
    """The demo's picture host alone (no Graph): mount it on DEMO_BASE wherever demo avatars are fetched,
    e.g. by the console's Telegram stand-in building a card's link preview."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        picture = demo_avatar(str(request.url.copy_with(query=None)))
        if picture is None:
            return httpx.Response(404, text="Not Found")
        return httpx.Response(200, content=picture, headers={"Content-Type": "image/png"})


def graph_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


class DemoGraph(httpx.AsyncBaseTransport):
    """`account` on a timeline anchored at `anchor`: a message `age_s` old was created at anchor - age_s."""

    def __init__(self, account: DemoAccount, anchor: datetime, *, token: str = DEMO_TOKEN) -> None:
        self.account = account
        self.anchor = anchor
        self.token = token
        self.sent = 0  # replies taken (they live in the creator's database, like any sent message)
        # Most recently active first, as Graph lists conversations.
        self.threads = sorted(account.threads, key=lambda t: (-t.newest_age_s, t.id), reverse=True)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path, query = request.url.path, request.url.params
        avatar = _AVATAR.match(path)
        if avatar:  # profile pictures are public CDN files on Graph too: no token
            return self._avatar(avatar.group(1))
        if query.get("access_token") != self.token:
            return _error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2 or not _VERSION.match(parts[0]):
            return _error(400, 100, "Unknown path components", subcode=2500)
        if request.method == "POST" and parts[1:] in (["me", "messages"], [self.account.id, "messages"]):
            return self._send(request)
        if len(parts) == 3 and parts[2] == "conversations" and parts[1] in ("me", self.account.id):
            return self._conversations(request)
        if len(parts) == 2:
            return self._object(parts[1])
        return _error(400, 100, "Unsupported get request.", subcode=33)

    def _object(self, oid: str) -> httpx.Response:
        acc = self.account
        if oid == "me":
            return _ok({"user_id": acc.id, "username": acc.username, "id": "app-scoped-" + acc.id})
        if oid == acc.id:
            return _ok({"id": oid, "username": acc.username})
        thread = acc.thread_of(oid)
        if thread is None:
            return _error(400, 100, f"Object with ID '{oid}' does not exist", subcode=33)
        lead = thread.lead
        return _ok({"id": oid, "name": lead.name, "username": lead.username, "profile_pic": avatar_url(oid)})

    def _avatar(self, lead_id: str) -> httpx.Response:
        if self.account.thread_of(lead_id) is None:
            return httpx.Response(404, text="Not Found")
        return httpx.Response(200, content=avatar_png(lead_id), headers={"Content-Type": "image/png"})

    def _conversations(self, request: httpx.Request) -> httpx.Response:
        query = request.url.params
        if query.get("platform") != "instagram":
            return _error(400, 100, "(#100) platform=instagram is required")
        limit = min(MAX_LIMIT, max(1, _int(query.get("limit"), DEFAULT_LIMIT)))
        start = decode_cursor(query.get("after"))
        fields = query.get("fields", "")
        found = _MSG_LIMIT.search(fields)
        per = min(MAX_MESSAGES, int(found.group(1))) if found else MAX_MESSAGES
        chunk = self.threads[start:start + limit]
        paging: dict[str, Any] = {"cursors": {"before": encode_cursor(start), "after": encode_cursor(start + limit)}}
        if start + limit < len(self.threads):  # `next` repeats every parameter, the token included
            paging["next"] = str(request.url.copy_set_param("after", encode_cursor(start + limit)))
        return _ok({"data": [self._conversation(t, fields, per) for t in chunk], "paging": paging})

    def _conversation(self, thread: DemoThread, fields: str, per: int) -> dict[str, Any]:
        out: dict[str, Any] = {"id": thread.id, "updated_time": graph_time(self._at(thread.newest_age_s))}
        if "participants" in fields:
            out["participants"] = {"data": [self._me(), self._lead(thread)]}
        if "messages" in fields:
            out["messages"] = {"data": [self._message(m, thread) for m in thread.messages[:per]]}
        return out

    def _me(self) -> dict[str, Any]:
        return {"id": self.account.id, "username": self.account.username}

    def _lead(self, thread: DemoThread) -> dict[str, Any]:
        """As Graph lists an Instagram participant: id and username only; name and picture are the profile's."""
        lead = thread.lead
        out: dict[str, Any] = {"id": lead.id}
        if lead.username and lead.listed:
            out["username"] = lead.username
        return out

    def _message(self, msg: DemoMessage, thread: DemoThread) -> dict[str, Any]:
        sender, other = (self._lead(thread), self._me()) if msg.from_lead else (self._me(), self._lead(thread))
        out: dict[str, Any] = {"id": msg.id, "created_time": graph_time(self._at(msg.age_s)),
                               "from": {k: v for k, v in sender.items() if k in ("id", "username")},
                               "to": {"data": [other]}}
        if not msg.omit_text:
            out["message"] = msg.text
        if msg.attachment:
            out["attachments"] = {"data": [_attachment(msg)]}
        return out

    def _at(self, age_s: int) -> datetime:
        return self.anchor - timedelta(seconds=age_s)

    def _send(self, request: httpx.Request) -> httpx.Response:
        """A reply to a demo lead, checked like the Send API; nothing leaves the process."""
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return _error(400, 100, "(#100) Invalid JSON body")
        recipient = str(((body.get("recipient") or {}) if isinstance(body, dict) else {}).get("id") or "")
        text = ((body.get("message") or {}) if isinstance(body, dict) else {}).get("text")
        if not recipient or not isinstance(text, str) or not text:
            return _error(400, 100, "(#100) The parameters recipient and message are required")
        if len(text.encode()) > SEND_MAX_BYTES:
            return _error(400, 100, f"(#100) Length of param message[text] must be less than or equal to "
                                    f"{SEND_MAX_BYTES}")
        thread = self.account.thread_of(recipient)
        if thread is None:
            return _error(400, 100, "No matching user found", subcode=2534014)
        wrote = [m.age_s for m in thread.messages if m.from_lead]
        age = datetime.now(UTC) - self._at(min(wrote)) if wrote else None
        human = body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag") == "HUMAN_AGENT"
        if age is None or not (age <= timedelta(hours=24) or (human and age <= timedelta(days=7))):
            return httpx.Response(400, json={"error": {
                "message": "This message is sent outside of allowed window.", "type": "IGApiException",
                "code": 10, "error_subcode": 2534022}})
        self.sent += 1
        return _ok({"recipient_id": recipient, "message_id": f"demo_sent_{thread.id}_{uuid.uuid4().hex[:12]}"})


def _attachment(msg: DemoMessage) -> dict[str, Any]:
    url = f"{DEMO_BASE}/media/{msg.id}"
    kind = msg.attachment or "image"
    if kind in ("image", "video", "audio"):
        return {f"{kind}_data": {"url": url, "preview_url": url}}
    return {"type": kind, "payload": {"url": url}}


def _ok(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(body, ensure_ascii=False).encode(),
                          headers={"Content-Type": "application/json; charset=UTF-8"})


def _error(status: int, code: int, message: str, *, subcode: int | None = None) -> httpx.Response:
    err: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        err["error_subcode"] = subcode
    return httpx.Response(status, json={"error": err})


def encode_cursor(offset: int) -> str:
    """Graph-style opaque paging cursor (shared with the Instagram stand-in)."""
    return base64.urlsafe_b64encode(f"off:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return max(0, int(raw.split(":", 1)[1]))
    except (ValueError, IndexError):
        return 0


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default
