"""The bundled demo Instagram account: product data (one account per niche), the niche matching, and an
in-process Graph that serves it to the real InstagramClient. The stand-ins may import this; never the reverse."""

from core.demo.avatars import avatar_png
from core.demo.data import NICHES, DemoAccount, DemoLead, DemoMessage, DemoThread, demo_account, pick_niche
from core.demo.graph import DEMO_BASE, DEMO_TOKEN, DemoGraph, DemoMedia, avatar_url, demo_avatar

__all__ = [
    "DEMO_BASE", "DEMO_TOKEN", "NICHES", "DemoAccount", "DemoGraph", "DemoLead", "DemoMedia", "DemoMessage",
    "DemoThread", "avatar_png", "avatar_url", "demo_account", "demo_avatar", "pick_niche",
]
