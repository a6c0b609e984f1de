"""Update delivery methods: getUpdates long polling (one poller per token) and webhook settings."""

from __future__ import annotations

import asyncio
from typing import Any

from standins.telegram import rules
from standins.telegram.errors import bad_request, conflict
from standins.telegram.methods import handler
from standins.telegram.world import Webhook, World

TERMINATED = "terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_ACTIVE = "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"


@handler("getUpdates")
async def get_updates(world: World, p: dict[str, Any]) -> Any:
    if world.webhook is not None:
        raise conflict(WEBHOOK_ACTIVE)
    limit = p.get("limit", 100)
    if not 1 <= limit <= 100:
        limit = 100  # Telegram clamps rather than rejects
    if "allowed_updates" in p:
        world.updates.allowed = p["allowed_updates"] or None
    world.updates.confirm(p.get("offset", 0))
    token = object()
    world.active_poll = token
    world.changed()  # wakes an older poll so it can end with 409
    try:
        await _wait_for_updates(world, token, float(p.get("timeout", 0)))
    finally:
        if world.active_poll is token:
            world.active_poll = None
    return world.updates.items[:limit]


async def _wait_for_updates(world: World, token: object, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(seconds, 0)
    while not world.updates.items and not world.closing:
        if world.active_poll is not token:
            raise conflict(TERMINATED)
        if world.webhook is not None:  # set while this poll was waiting: updates now go to the webhook
            raise conflict(WEBHOOK_ACTIVE)
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        await world.pulse.wait(remaining)
    if world.active_poll is not token:
        raise conflict(TERMINATED)


@handler("setWebhook")
async def set_webhook(world: World, p: dict[str, Any]) -> Any:
    url = p["url"]
    if not url:
        return await delete_webhook(world, p)
    if not url.startswith(("https://", "http://")):
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    rules.check_secret_token(p.get("secret_token"))
    if p.get("drop_pending_updates"):
        world.updates.items.clear()
    if "allowed_updates" in p:
        world.updates.allowed = p["allowed_updates"] or None
    world.webhook = Webhook(url=url, secret_token=p.get("secret_token"))
    world.changed()
    return True


@handler("deleteWebhook")
async def delete_webhook(world: World, p: dict[str, Any]) -> Any:
    if p.get("drop_pending_updates"):
        world.updates.items.clear()
    world.webhook = None
    world.changed()
    return True


@handler("getWebhookInfo")
async def get_webhook_info(world: World, p: dict[str, Any]) -> Any:
    hook = world.webhook
    info: dict[str, Any] = {"url": hook.url if hook else "", "has_custom_certificate": False,
                            "pending_update_count": len(world.updates.items)}
    if hook and hook.last_error:
        info.update(last_error_message=hook.last_error, last_error_date=hook.last_error_date)
    if world.updates.allowed:
        info["allowed_updates"] = world.updates.allowed
    return info
