"""SECRET_KEY in production: the built-in development key is refused where real tokens are, several keys rotate,
and a new SQLite database is readable by its owner only."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

from sqlalchemy import select, text

from core.crypto import DEV_KEY, TokenCipher
from core.db import repo
from core.db.engine import make_engine, transaction
from core.db.models import User

LEADGRAM = str(Path(sys.executable).with_name("leadgram"))
CLEARED = ("IG_ACCESS_TOKEN", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE", "TELEGRAM_WEBHOOK_URL",
           "TELEGRAM_WEBHOOK_SECRET", "REDIS_URL", "GEMINI_API_KEY", "SECRET_KEY", "DATABASE_URL", "LOG_LEVEL",
           "ALLOWED_TELEGRAM_IDS")


async def leadgram(tmp: Path, *args: str, stdin: bytes | None = None, **env: str) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    base.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'secrets.db'}", LOG_LEVEL="WARNING")
    base.update(env)
    proc = await asyncio.create_subprocess_exec(
        LEADGRAM, *args, cwd=tmp, env=base, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_production_processes_refuse_the_development_key(tmp_path: Path, redis_url: str) -> None:
    tg = {"TELEGRAM_BOT_TOKEN": "123456:REAL-LOOKING", "REDIS_URL": redis_url}
    ig = {"IG_ACCESS_TOKEN": "IGAAreal-looking", "REDIS_URL": redis_url}
    cases = [("run", tg), ("bot", tg), ("worker", tg), ("scheduler", tg), ("worker", ig), ("scheduler", ig),
             ("run", {**tg, "SECRET_KEY": DEV_KEY})]  # the dev key spelled out is still the dev key
    results = await asyncio.gather(*(leadgram(tmp_path, cmd, **env) for cmd, env in cases))
    for (cmd, _), (code, _, err) in zip(cases, results, strict=True):
        assert code == 2, (cmd, err)
        assert err.count("\n") == 1 and "SECRET_KEY" in err and "openssl rand" in err, (cmd, err)
        assert "REAL-LOOKING" not in err and "IGAAreal" not in err and "Traceback" not in err
    assert not (tmp_path / "secrets.db").exists()  # refused before touching the database


async def test_console_and_demo_work_with_the_development_key_and_say_so_once(tmp_path: Path) -> None:
    code, out, err = await leadgram(tmp_path, "demo")
    assert code == 0, err
    assert "120 new contacts" in out and (out + err).count("development SECRET_KEY") == 1
    code, out, err = await leadgram(tmp_path, "console", "--user-id", "77", stdin=b"/help\n/quit\n")
    assert code == 0, err
    assert "/contacts" in out and (out + err).count("development SECRET_KEY") == 1
    # with a key of its own, nothing is said
    code, out, err = await leadgram(tmp_path, "demo", SECRET_KEY="k" * 40)
    assert code == 0 and "SECRET_KEY" not in out + err


async def _store(sessions, telegram_id: int, token: str, key: str) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        user = await repo.ensure_user(session, telegram_id, chat_id=telegram_id)
        user.ig_source, user.ig_status = "graph", "ok"
        user.ig_token_encrypted = TokenCipher(key).encrypt(token)


async def test_rotate_re_encrypts_every_token_with_the_newest_key(tmp_path: Path, db_url: str, sessions) -> None:
    await _store(sessions, 501, "IGAA-first", "old-key")
    await _store(sessions, 502, "IGAA-second", "old-key")
    await _store(sessions, 503, "IGAA-third", "new-key")  # connected after the new key went in
    await _store(sessions, 504, "IGAA-lost", "a-key-nobody-has")

    code, out, err = await leadgram(tmp_path, "secrets", "rotate", DATABASE_URL=db_url, SECRET_KEY="new-key,old-key")
    assert code == 1  # one token could not be opened: said, not hidden
    assert "re-encrypted 3 stored tokens" in out
    assert err.count("\n") == 1 and "cannot be opened with any key" in err and "504" in err and "IGAA" not in err

    newest_only = TokenCipher("new-key")
    async with sessions() as session:
        rows = {tid: blob for tid, blob in (await session.execute(select(User.telegram_id, User.ig_token_encrypted)))}
    assert {tid: newest_only.decrypt(blob or "") for tid, blob in rows.items()} == {
        501: "IGAA-first", 502: "IGAA-second", 503: "IGAA-third", 504: None}

    # without a key of its own there is nothing to rotate to
    code, _, err = await leadgram(tmp_path, "secrets", "rotate", DATABASE_URL=db_url)
    assert code == 2 and "SECRET_KEY" in err


async def test_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/new.db"
    code, _, err = await leadgram(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert code == 0, err
    engine = make_engine(url)  # a write in WAL mode, as the bot and workers do: -wal and -shm appear
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET updated_at = updated_at"))
        files = sorted(p.name for p in tmp_path.glob("new.db*"))  # noqa: ASYNC240 - a test's directory listing
        modes = {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in files}  # noqa: ASYNC240
    await engine.dispose()
    assert files == ["new.db", "new.db-shm", "new.db-wal"]
    assert modes == dict.fromkeys(files, 0o600)
