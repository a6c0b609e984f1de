"""One router per feature; `routers()` gives them in the order they must be tried (fallback last)."""

from __future__ import annotations

import importlib

from aiogram import Router

# Order matters: reply-to-prompt handlers (tags, score, settings) before the onboarding/plain-text ones,
# and the fallback (unknown callbacks and text) last.
FEATURES = ("tags", "score", "stages", "stage_settings", "notes", "reminders", "search", "reply", "replies",
            "drafts", "settings", "reply_window", "start", "help", "contacts", "card", "shelf", "back_to_ai",
            "autoscore", "sync", "export", "alerts", "account", "stats", "fallback")


def routers() -> list[Router]:
    found: list[Router] = []
    for name in FEATURES:
        router: Router = importlib.import_module(f"bot.handlers.{name}").router
        # Routers are module singletons; a new Dispatcher in the same process (tests, console restarts) takes
        # them over from the old one, which is no longer polling.
        router._parent_router = None
        found.append(router)
    return found
