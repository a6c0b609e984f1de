"""Typed Instagram Graph errors. Decided on `error.code` (Graph's contract), not on the HTTP status."""

from __future__ import annotations

from typing import Any

TOKEN_CODES = frozenset({190, 102})
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80002, 80006})
TRANSIENT_CODES = frozenset({1, 2})
OBJECT_MISSING_SUBCODE = 33
# Send API (docs/instagram-graph-api.md §10): decided on the numbers, the HTTP status and `type` vary.
OUTSIDE_WINDOW_SUBCODE = 2534022  # code 10: "This message is sent outside of allowed window."
RECIPIENT_GONE_SUBCODE = 2534014  # the person deleted or blocked the account
RECIPIENT_UNAVAILABLE_CODE = 551  # "This person isn't available right now"
DEFAULT_RETRY_AFTER = 60.0


class GraphError(Exception):
    """Base of every Graph failure. The message is Graph's own text, never a URL (URLs carry the token)."""

    def __init__(self, message: str, *, code: int | None = None, subcode: int | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.status = status

    def __str__(self) -> str:
        tag = f"code {self.code}" if self.code is not None else f"HTTP {self.status}" if self.status else "network"
        sub = f"/{self.subcode}" if self.subcode is not None else ""
        return f"{self.message} ({tag}{sub})"


class TokenInvalid(GraphError):
    """Expired (subcode 463), revoked, or unparseable token: the creator must reconnect."""

    @property
    def expired(self) -> bool:
        return self.subcode == 463


class RateLimited(GraphError):
    """Throttled: do not retry before `retry_after` seconds (retrying extends a throttle)."""

    def __init__(self, message: str, *, retry_after: float = DEFAULT_RETRY_AFTER, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class PermissionDenied(GraphError):
    """Codes 10 and 200-299: a permission is missing; a configuration problem, not retried."""


class BadRequest(GraphError):
    """Code 100 and other client errors: a bug or a deleted object; not retried."""


class NotFound(BadRequest):
    """Code 100 / subcode 33: the object does not exist (or is not visible to this token)."""


class OutsideWindow(GraphError):
    """Send API: the person's last message is older than the allowed window (24 h, 7 days with HUMAN_AGENT)."""


class RecipientUnavailable(GraphError):
    """Send API: the person cannot receive messages (blocked or deleted the account, or unavailable)."""


class SendUnknown(GraphError):
    """Send API: the request left but no answer came back (timeout, dropped connection). The message may or
    may not have been delivered: reconcile with the conversation before sending again."""


class GraphUnavailable(GraphError):
    """Network errors, 5xx and codes 1/2 that outlived the bounded retries."""


def classify(body: Any, status: int, retry_after: float | None) -> GraphError:
    """Map a Graph error envelope (or a bare HTTP failure) to its typed exception."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return _from_status(status, retry_after)
    code = _int(err.get("code"))
    sub = _int(err.get("error_subcode"))
    msg = str(err.get("message") or "Graph error")[:300]
    kw: dict[str, Any] = {"code": code, "subcode": sub, "status": status}
    if sub == OUTSIDE_WINDOW_SUBCODE:  # before the code-10 permission rule: same code, different meaning
        return OutsideWindow(msg, **kw)
    if sub == RECIPIENT_GONE_SUBCODE or code == RECIPIENT_UNAVAILABLE_CODE:
        return RecipientUnavailable(msg, **kw)
    if code in TOKEN_CODES:
        return TokenInvalid(msg, **kw)
    if code in THROTTLE_CODES or status == 429:
        return RateLimited(msg, retry_after=retry_after or DEFAULT_RETRY_AFTER, **kw)
    if code == 10 or (code is not None and 200 <= code <= 299):
        return PermissionDenied(msg, **kw)
    if code in TRANSIENT_CODES or (code is None and status >= 500):
        return GraphUnavailable(msg, **kw)
    if code == 100:  # whatever the HTTP status says: a bad parameter or a missing object is not transient
        return NotFound(msg, **kw) if sub == OBJECT_MISSING_SUBCODE else BadRequest(msg, **kw)
    if status >= 500:
        return GraphUnavailable(msg, **kw)
    return BadRequest(msg, **kw)


def _from_status(status: int, retry_after: float | None) -> GraphError:
    if status == 429:
        return RateLimited("Too many requests", retry_after=retry_after or DEFAULT_RETRY_AFTER, status=status)
    if status >= 500:
        return GraphUnavailable(f"Graph server error {status}", status=status)
    if status == 404:
        return NotFound("Not found", status=status)
    return BadRequest(f"Unexpected Graph answer {status}", status=status)


def in_words(exc: GraphError) -> str:
    """What happened, for a creator: words, never a class name or Graph's raw text (it may echo input)."""
    if isinstance(exc, TokenInvalid):
        return "Instagram rejected the token (expired or invalid)"
    if isinstance(exc, RateLimited):
        minutes = max(1, round(exc.retry_after / 60))
        return f"Instagram is limiting requests for this account; try again in about {minutes} min"
    if isinstance(exc, PermissionDenied):
        return ("the token lacks a permission Leadgram needs (instagram_business_basic and "
                "instagram_business_manage_messages)")
    if isinstance(exc, BadRequest):
        return "Instagram did not accept the request"
    if exc.code is None and exc.status is None:
        return "Instagram could not be reached (no network connection?)"
    return "Instagram is having trouble right now"


def is_retryable(exc: GraphError) -> bool:
    return isinstance(exc, GraphUnavailable)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
