"""The `leadgram` console script as a subprocess: demo, contacts, sync with IG_ACCESS_TOKEN, clear errors."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from standins.ig_data import synthetic
from standins.instagram import InstagramStandin

LEADGRAM = str(Path(sys.executable).with_name("leadgram"))
CLEARED = ("IG_ACCESS_TOKEN", "IG_USER_ID", "IG_API_BASE", "IG_API_VERSION", "TELEGRAM_BOT_TOKEN", "REDIS_URL",
           "GEMINI_API_KEY", "SECRET_KEY")


async def leadgram(tmp: Path, *args: str, **env: str) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    base.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'cli.db'}", "LOG_LEVEL": "WARNING", **env})
    proc = await asyncio.create_subprocess_exec(
        LEADGRAM, *args, cwd=tmp, env=base, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_demo_then_contacts_shows_the_table(tmp_path: Path) -> None:
    code, out, err = await leadgram(tmp_path, "demo")
    assert code == 0, err
    assert "120 new contacts" in out and "page 1/12" in out and "@coach.mia.fit (demo)" in out
    code, out, err = await leadgram(tmp_path, "contacts", "--page", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert "120 contacts · page 2/12" in lines[0]
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("Name"))
    rows = [line for line in lines[header + 2:] if line.strip() and not line.startswith("next:")]
    assert len(rows) == 10 and "next: leadgram contacts --page 3" in out
    assert "IGAA" not in out + err  # no token, no URL in the output


async def test_unknown_creator_and_unconnected_account_fail_clearly(tmp_path: Path) -> None:
    code, _, err = await leadgram(tmp_path, "sync", "--user", "4242")
    assert code == 2 and "no creator with Telegram id 4242" in err
    code, _, err = await leadgram(tmp_path, "sync")
    assert code == 3 and "no Instagram account connected" in err and "IG_ACCESS_TOKEN" in err


async def test_sync_with_ig_access_token_then_expired_token(tmp_path: Path) -> None:
    async with InstagramStandin(synthetic(30, 2)) as ig:
        env = {"IG_ACCESS_TOKEN": ig.token, "IG_API_BASE": ig.base_url}
        code, out, err = await leadgram(tmp_path, "sync", **env)
        assert code == 0, err
        assert "30 new contacts" in out and "60 new messages" in out
        ig.expired = True
        code, out, err = await leadgram(tmp_path, "sync", **env)
        assert code == 4 and "expired or invalid" in err and ig.token not in err
    code, out, err = await leadgram(tmp_path, "contacts")
    assert code == 0 and "30 contacts · page 1/3" in out  # the expired sync kept every row


async def test_score_in_process_shows_a_clean_bar_and_no_empty_one(tmp_path: Path) -> None:
    code, _, err = await leadgram(tmp_path, "demo")
    assert code == 0, err
    code, out, err = await leadgram(tmp_path, "score", LOG_LEVEL="INFO")  # the default level
    assert code == 0, err
    assert "INFO" not in err and "arq" not in err  # no worker log line through the bar
    assert err.rstrip().endswith("120/120") and "120 scored" in out
    code, out, err = await leadgram(tmp_path, "score", LOG_LEVEL="INFO")
    assert code == 0 and "0 scored" in out
    assert "0/0" not in err and err.strip() == ""  # nothing to do: no empty bar


async def test_demo_never_silently_replaces_a_connected_account(tmp_path: Path) -> None:
    async with InstagramStandin(synthetic(30, 2)) as ig:
        code, _, err = await leadgram(tmp_path, "sync", IG_ACCESS_TOKEN=ig.token, IG_API_BASE=ig.base_url)
        assert code == 0, err
    code, out, err = await leadgram(tmp_path, "demo")
    assert code != 0 and "--replace" in err and "Traceback" not in err
    code, out, err = await leadgram(tmp_path, "contacts")
    assert code == 0 and "30 contacts · page 1/3" in out  # the real account's leads are untouched
    code, out, err = await leadgram(tmp_path, "demo", "--replace")
    assert code == 0, err
    assert "30 of its leads removed" in err and "120 new contacts" in out and "(demo)" in out
