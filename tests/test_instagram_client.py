"""InstagramClient against the Graph stand-in over real HTTP: paging, typed errors, bounded retries, usage."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC
from urllib.parse import urlsplit

import httpx
import pytest

from core.clients.instagram import (
    BadRequest,
    GraphUnavailable,
    InstagramClient,
    NotFound,
    PermissionDenied,
    RateLimited,
    TokenInvalid,
)
from standins.ig_data import LONG_TEXT, hostile, synthetic
from standins.instagram import InstagramStandin


class Sleeps:
    """Records backoff instead of waiting: time is injected, tests stay fast."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
async def ig() -> AsyncIterator[InstagramStandin]:
    async with InstagramStandin(synthetic(60, 3), page_size=25) as standin:
        yield standin


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def make(ig: InstagramStandin, http: httpx.AsyncClient, sleeps: Sleeps | None = None, **kw: object) -> InstagramClient:
    return InstagramClient(http, ig.token, base=ig.base_url, version="v21.0", sleep=sleeps or Sleeps(), **kw)  # type: ignore[arg-type]


async def all_pages(client: InstagramClient) -> list[list[str]]:
    return [[c.id for c in page] async for page in client.conversations()]


async def test_paging_follows_next_newest_first(ig: InstagramStandin, http: httpx.AsyncClient) -> None:
    client = make(ig, http)
    pages = [page async for page in client.conversations()]
    assert [len(p) for p in pages] == [25, 25, 10]
    assert client.calls == 3 == ig.calls["conversations"]
    convs = [c for p in pages for c in p]
    assert [c.id for c in convs] == [f"c{i}" for i in range(60)]  # most recently active first
    first = convs[0]
    assert first.updated_time is not None and first.updated_time.tzinfo == UTC
    assert [m.id for m in first.messages] == ["m0_0", "m0_1", "m0_2"]  # newest first
    assert first.messages[0].created_at is not None and first.messages[0].created_at.tzinfo == UTC
    assert {p.id for p in first.participants} == {"17841400000000001", "690000000000000"}


async def test_facebook_login_form_by_settings_alone(ig: InstagramStandin, http: httpx.AsyncClient) -> None:
    client = InstagramClient(http, ig.token, base=ig.base_url, version="v18.0", user_id="17841400000000001",
                             sleep=Sleeps())
    assert sum(len(p) for p in await all_pages(client)) == 60
    account = await client.account()
    assert (account.user_id, account.username) == ("17841400000000001", "bench.account")


async def test_account_validates_a_token_in_one_call(ig: InstagramStandin, http: httpx.AsyncClient) -> None:
    client = make(ig, http)
    account = await client.account()
    assert account.user_id == "17841400000000001" and client.calls == 1
    bad = InstagramClient(http, "nope", base=ig.base_url, version="v21.0", sleep=Sleeps())
    with pytest.raises(TokenInvalid) as err:
        await bad.account()
    assert err.value.code == 190 and not err.value.expired and bad.calls == 1


async def test_profile_and_unknown_object(ig: InstagramStandin, http: httpx.AsyncClient) -> None:
    client = make(ig, http)
    profile = await client.profile("690000000000007")
    assert profile.username == "lead_7"
    with pytest.raises(NotFound):
        await client.profile("does-not-exist")
    ig.data.no_consent.add("690000000000008")  # someone who only commented: Graph's consent refusal
    with pytest.raises(PermissionDenied) as refused:
        await client.profile("690000000000008")
    assert refused.value.code == 230 and "consent" in refused.value.message


async def test_refresh_token_switches_to_the_new_token(ig: InstagramStandin, http: httpx.AsyncClient) -> None:
    client = make(ig, http)
    token, expires_in = await client.refresh_token()
    assert token != ig.token and expires_in == 5184000
    ig.tokens = {token}  # the old one is gone: the client must be using the new one
    assert (await client.account()).user_id == "17841400000000001"


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("expired", TokenInvalid, 190),
        ("invalid", TokenInvalid, 190),
        ("throttle:4", RateLimited, 4),
        ("throttle:17", RateLimited, 17),
        ("throttle:32", RateLimited, 32),
        ("throttle:613", RateLimited, 613),
        ("throttle:80002", RateLimited, 80002),
        ("http429", RateLimited, 4),
        ("permission", PermissionDenied, 10),
        ("code:100", BadRequest, 100),  # sent with HTTP 500: the code decides, not the status
    ],
)
async def test_errors_are_typed_and_not_retried(
    ig: InstagramStandin, http: httpx.AsyncClient, fault: str, error: type[Exception], code: int
) -> None:
    sleeps = Sleeps()
    client = make(ig, http, sleeps)
    ig.fail_next(fault)
    with pytest.raises(error) as err:
        await all_pages(client)
    assert err.value.code == code  # type: ignore[attr-defined]
    assert client.calls == 1 and sleeps.calls == []  # retrying a throttle only extends it
    assert ig.token not in str(err.value)


async def test_expired_token_carries_its_subcode(ig: InstagramStandin, http: httpx.AsyncClient) -> None:
    ig.expired = True
    with pytest.raises(TokenInvalid) as err:
        await make(ig, http).account()
    assert err.value.subcode == 463 and err.value.expired


async def test_rate_limit_retry_after_comes_from_usage_headers(ig: InstagramStandin, http: httpx.AsyncClient) -> None:
    ig.fail_next("throttle:4", "http429")
    client = make(ig, http)
    with pytest.raises(RateLimited) as first:
        await client.account()
    assert first.value.retry_after == 60.0  # estimated_time_to_regain_access: 1 minute
    with pytest.raises(RateLimited) as second:
        await client.account()
    assert second.value.retry_after == 120.0 and second.value.status == 429


@pytest.mark.parametrize("fault", ["http500", "drop", "code:1", "code:2"])
async def test_transient_failures_are_retried_with_backoff(
    ig: InstagramStandin, http: httpx.AsyncClient, fault: str
) -> None:
    sleeps = Sleeps()
    client = make(ig, http, sleeps)
    ig.fail_next(fault, fault)
    pages = await all_pages(client)
    assert sum(len(p) for p in pages) == 60
    assert sleeps.calls == [0.5, 1.0]  # exponential backoff
    assert client.calls == 5  # 2 failed + 3 pages


async def test_retries_are_bounded(ig: InstagramStandin, http: httpx.AsyncClient) -> None:
    sleeps = Sleeps()
    client = make(ig, http, sleeps)
    ig.fail_next(*["drop"] * 10)
    with pytest.raises(GraphUnavailable) as err:
        await client.account()
    assert client.calls == 4 and sleeps.calls == [0.5, 1.0, 2.0]
    assert ig.token not in str(err.value) and "127.0.0.1" not in str(err.value)


async def test_high_usage_slows_down(ig: InstagramStandin, http: httpx.AsyncClient) -> None:
    sleeps = Sleeps()
    client = make(ig, http, sleeps)
    ig.app_usage = {"call_count": 80, "total_time": 10, "total_cputime": 10}
    await client.account()
    await client.account()
    ig.buc_usage = dict(ig.buc_usage, call_count=96)
    await client.account()
    await client.account()
    assert sleeps.calls == [0.5, 0.5, 3.0]
    assert client.usage.percent == 96


async def test_hostile_payloads_parse_without_loss(http: httpx.AsyncClient) -> None:
    async with InstagramStandin(hostile(), page_size=5, overlap=1) as ig:
        convs = [c for page in await _pages(make(ig, http, page_size=5)) for c in page]
    by_id = {c.id: c for c in convs}
    assert len(convs) > len(by_id)  # the overlap really repeated a conversation across pages
    assert set(by_id) >= {"html", "emoji", "rtl", "long", "attach", "empty", "nouser", "self", "nulltext"}
    assert by_id["long"].messages[0].text == LONG_TEXT and len(LONG_TEXT) == 10_000
    attach = sorted(by_id["attach"].messages, key=lambda m: m.id)
    assert [(m.text, m.attachment_kind) for m in attach] == [("", "image"), ("", "video"), ("", "share")]
    assert by_id["empty"].messages == ()
    assert [m.text for m in by_id["nulltext"].messages] == ["", "beside a null"]
    html = next(p for p in by_id["html"].participants if p.id == "h1")
    assert (html.username, html.name) == ("x<b>y", None)  # like Graph: participants carry id and username only
    assert next(p for p in by_id["nouser"].participants if p.id == "h7").username is None


async def _pages(client: InstagramClient) -> list[list[object]]:
    return [list(page) async for page in client.conversations()]


async def test_urls_and_tokens_never_reach_the_logs(
    ig: InstagramStandin, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="httpx")  # even when someone turns httpx's URL logging on
    client = make(ig, http)
    ig.fail_next("drop", "http500")
    assert sum(len(p) for p in await all_pages(client)) == 60  # paging.next carries the token too
    assert "Graph call failed" in caplog.text and "HTTP Request" in caplog.text
    assert ig.token not in caplog.text and "access_token=***" in caplog.text


@pytest.mark.parametrize("origin", ["http://graph.evil.example", "https://{host}", "http://{host}@evil.example",
                                    "http://{host}.evil.example", "ftp://{host}"])
async def test_paging_next_to_another_scheme_or_host_is_refused(ig: InstagramStandin, http: httpx.AsyncClient,
                                                                 origin: str) -> None:
    # `next` carries the token: never send it elsewhere, nor over another scheme (https -> http reads it in clear)
    ig.next_origin = origin.format(host=urlsplit(ig.base_url).netloc)
    client = make(ig, http)
    with pytest.raises(BadRequest):
        await all_pages(client)
    assert client.calls == 1
    ig.next_origin = ig.base_url.upper().replace("HTTP://", "http://")  # the same origin, host in capitals: fine
    assert sum(len(p) for p in await all_pages(make(ig, http))) > 0
