"""TelegramStandin: the aiohttp server, the call pipeline (spec → limits → throttle → handler), webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import httpx
from aiohttp import web

from standins.telegram import updates as _updates  # noqa: F401  (registers getUpdates/setWebhook handlers)
from standins.telegram.errors import ApiError, not_found, too_many_requests
from standins.telegram.http import dumps, json_reply, read_multipart_reply, read_params
from standins.telegram.methods import HANDLERS, generic, scope_key
from standins.telegram.spec import Spec, Upload
from standins.telegram.state import Callback, CallRecord, Message
from standins.telegram.users import WAIT_S, SimUser
from standins.telegram.world import RateLimiter, World

log = logging.getLogger(__name__)
MAX_UPLOAD = 50 * 1024 * 1024  # Telegram's upload limit for bots


class TelegramStandin:
    """A local Telegram Bot API for one bot token. `async with TelegramStandin(token=...) as tg:`."""

    def __init__(
        self, token: str = "123456:TEST", spec_path: Path | str | None = None,
        clock: Callable[[], float] | None = None, host: str = "127.0.0.1", port: int = 0,
        fetch: httpx.AsyncClient | None = None,
    ) -> None:
        """`fetch`: the client Telegram-side fetches (link previews, photos by URL) go through; None = none."""
        self.spec = Spec.load(spec_path)
        self.world = World(token, clock)
        self.world.fetch = fetch
        self.host, self.port = host, port
        self.webhook_retry = 0.2
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._users: dict[int, SimUser] = {}

    # lifecycle ----------------------------------------------------------------
    async def start(self) -> TelegramStandin:
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_get("/preview/{number:[0-9]+}", self._handle_preview)
        # handler_cancellation: a long poll whose client went away must stop waiting (else the next
        # poller would be answered 409 until it times out).
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.world.base_url = self.base_url
        self._client = aiohttp.ClientSession()
        self._webhook_task = asyncio.create_task(self._webhook_loop())
        return self

    async def stop(self) -> None:
        self.world.closing = True
        self.world.changed()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> TelegramStandin:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What goes into TELEGRAM_API_BASE (aiogram: TelegramAPIServer.from_base(base_url))."""
        return f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        return self.world.token

    # test-facing state ---------------------------------------------------------
    @property
    def errors(self) -> list[CallRecord]:
        """Every call rejected with 4xx (except injected/rate 429s, see `throttled`). Tests assert it's empty."""
        return self.world.errors

    @property
    def throttled(self) -> list[CallRecord]:
        return self.world.throttled

    @property
    def calls(self) -> list[CallRecord]:
        return self.world.calls

    def pop_errors(self) -> list[CallRecord]:
        """Take the recorded errors (for a test that provokes them on purpose) and clear the list."""
        taken = list(self.world.errors)
        self.world.errors.clear()
        return taken

    @contextlib.contextmanager
    def expecting(self, *fragments: str) -> Iterator[None]:
        """`with tg.expecting("message is too long"): ...` — exactly these rejections, in order, then cleared."""
        start = len(self.world.errors)
        yield
        seen = [record.error or "" for record in self.world.errors[start:]]
        del self.world.errors[start:]
        if len(seen) != len(fragments) or not all(f in d for f, d in zip(fragments, seen, strict=False)):
            raise AssertionError(f"expected rejections {list(fragments)}, got {seen}")

    @property
    def unanswered_callbacks(self) -> list[Callback]:
        return [c for c in self.world.callbacks.values() if not c.answered]

    @property
    def commands(self) -> list[dict[str, Any]]:
        """Commands registered for the default scope and language."""
        return self.world.commands.get(scope_key({}), [])

    @property
    def webhook_url(self) -> str | None:
        return self.world.webhook.url if self.world.webhook else None

    def fail_next(self, method: str, retry_after: int = 1, error: ApiError | None = None) -> None:
        """The next call of `method` gets 429 retry_after (or `error`), once."""
        self.world.fail_next(method, error or too_many_requests(retry_after))

    def enable_rate_limits(self, per_chat: float = 1.0, burst: float = 3.0, overall: float = 30.0,
                           clock: Callable[[], float] | None = None) -> None:
        """Telegram-like flood control (429 with retry_after) for send/edit calls; off by default."""
        self.world.rate = RateLimiter(clock or time.monotonic, per_chat, burst, overall)

    def user(
        self, telegram_id: int, first_name: str = "Ann", username: str | None = None, started: bool = True
    ) -> SimUser:
        """A user who has opened the chat with the bot (started=False: never did, so sends get 403)."""
        if telegram_id not in self._users:
            self._users[telegram_id] = SimUser(self.world, telegram_id, first_name, username, started)
        return self._users[telegram_id]

    def chat_messages(self, chat_id: int) -> list[Message]:
        chat = self.world.chats.get(chat_id)
        return [m for m in chat.messages.values() if not m.deleted] if chat else []

    def document(self, file_id: str) -> Upload | None:
        stored = self.world.files.get(file_id)
        return stored if isinstance(stored, Upload) else None

    async def wait_idle(self, timeout: float = WAIT_S, quiet: float = 0.2) -> None:  # noqa: ASYNC109
        """Until no update is pending, no call is in flight and nothing happened for `quiet` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            world = self.world
            idle_for = loop.time() - world.last_activity
            if not world.updates.items and world.in_flight == 0 and idle_for >= quiet:
                return
            if loop.time() >= deadline:
                raise TimeoutError(f"bot not idle: {len(world.updates.items)} pending, {world.in_flight} in flight")
            await world.pulse.wait(min(quiet, deadline - loop.time()))

    # HTTP ------------------------------------------------------------------------
    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        long_poll = name.lower() == "getupdates"
        params: dict[str, Any] = {}
        if not long_poll:
            self._activity(+1)
        try:
            if request.match_info["token"] != self.world.token:
                return self._reply(name, {}, ApiError(401, "Unauthorized"))
            params, uploads = await read_params(request)
            return self._reply(name, params, None, await self.call(name, params, uploads))
        except ApiError as exc:
            if exc.code == 409 and (request.transport is None or request.transport.is_closing()):
                # a poll whose client already left (bot stopped): nobody saw this 409
                return web.Response(status=409)
            return self._reply(name, params, exc)
        except Exception:
            # A stand-in bug must fail the test loudly, never pass as a silent 500.
            log.exception("stand-in crashed on %s", name)
            return self._reply(name, params, ApiError(500, "Internal Server Error: stand-in crashed"))
        finally:
            if not long_poll:
                self._activity(-1)

    def _activity(self, delta: int) -> None:
        self.world.in_flight += delta
        self.world.last_activity = asyncio.get_running_loop().time()
        self.world.changed()

    async def call(self, name: str, params: dict[str, Any], uploads: dict[str, Upload]) -> Any:
        """The whole pipeline for one call; raises ApiError exactly where Telegram would answer an error."""
        method = self.spec.method(name)
        if method is None:
            raise not_found()
        checked = self.spec.validate_call(method, params, uploads)
        self.world.check_throttle(method["name"], checked)
        handler = HANDLERS.get(name.lower())
        if handler is None:
            return await generic(self.world, method, checked)
        return await handler(self.world, checked)

    def _reply(self, name: str, params: dict[str, Any], error: ApiError | None, result: Any = None) -> web.Response:
        shown = {k: v for k, v in params.items() if not isinstance(v, Upload)}
        if error is None:
            self.world.calls.append(CallRecord(name, shown, True, at=self.world.clock()))
            return web.Response(text=dumps({"ok": True, "result": result}), content_type="application/json")
        record = CallRecord(name, shown, False, error.description, error.code, self.world.clock())
        self.world.calls.append(record)
        (self.world.throttled if error.code == 429 else self.world.errors).append(record)
        return web.Response(status=error.code, text=dumps(error.payload()), content_type="application/json")

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.world.token:
            return web.Response(status=401, text="Unauthorized")
        stored = self.world.files.get(request.match_info["path"])
        if not isinstance(stored, Upload):
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.data, content_type=stored.content_type)

    async def _handle_preview(self, request: web.Request) -> web.Response:
        """Media Telegram fetched for a preview or a photo URL, as it would show it (the console links here)."""
        preview = self.world.preview_media(int(request.match_info["number"]))
        if preview is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=preview.data, content_type=preview.content_type)

    # webhook delivery ---------------------------------------------------------------
    async def _webhook_loop(self) -> None:
        while not self.world.closing:
            hook, items = self.world.webhook, self.world.updates.items
            if hook is None or not items:
                await self.world.pulse.wait(1.0)
                continue
            update = items[0]
            delivered = await self._deliver(hook.url, hook.secret_token, update)
            if delivered and self.world.updates.items and self.world.updates.items[0] is update:
                self.world.updates.items.pop(0)
                self.world.changed()
            elif not delivered:
                await asyncio.sleep(self.webhook_retry)

    async def _deliver(self, url: str, secret: str | None, update: dict[str, Any]) -> bool:
        """POST one update like Telegram; a method call in the response body is executed too."""
        assert self._client is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        self._activity(+1)
        try:
            async with self._client.post(url, data=dumps(update), headers={
                **headers, "Content-Type": "application/json"}) as resp:
                if resp.status >= 300:
                    self._webhook_error(f"Wrong response from the webhook: {resp.status} {resp.reason}")
                    return False
                await self._webhook_answer(resp)
                return True
        except aiohttp.ClientError as exc:
            self._webhook_error(f"Connection failed: {type(exc).__name__}")
            return False
        finally:
            self._activity(-1)

    def _webhook_error(self, message: str) -> None:
        if self.world.webhook is not None:
            self.world.webhook.last_error = message
            self.world.webhook.last_error_date = self.world.now()

    async def _webhook_answer(self, resp: aiohttp.ClientResponse) -> None:
        if resp.content_type == "multipart/form-data":
            params, uploads = await read_multipart_reply(aiohttp.MultipartReader(resp.headers, resp.content))
        elif resp.content_type == "application/json":
            body = await resp.json()
            params, uploads = json_reply(body if isinstance(body, dict) else {})
        else:
            return
        name = params.pop("method", None)
        if not name:
            return
        try:
            result = await self.call(str(name), params, uploads)
            self._reply(str(name), params, None, result)
        except ApiError as exc:
            self._reply(str(name), params, exc)
