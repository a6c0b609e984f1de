"""Bad settings and broken environments: the real `leadgram` CLI prints one clear line and exits non-zero."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.test_cli import CLEARED, LEADGRAM, leadgram


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_clear_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err and "Error:" not in err, err
    return lines[0]


async def test_unreachable_postgresql_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://leadgram:s3cret-pw@127.0.0.1:{free_port()}/leadgram"
    code, _, err = await leadgram(tmp_path, "contacts", DATABASE_URL=url)
    line = one_clear_line(err)
    assert code == 1 and "DATABASE_URL" in line and "refused" in line and "s3cret-pw" not in err


async def test_sqlite_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    code, _, err = await leadgram(tmp_path, "contacts", DATABASE_URL="sqlite+aiosqlite:////nonexistent/dir/x.db")
    line = one_clear_line(err)
    assert code == 1 and "DATABASE_URL" in line and "/nonexistent/dir" in line and "does not exist" in line


async def test_bad_log_level_and_bad_database_scheme_name_the_setting(tmp_path: Path) -> None:
    code, _, err = await leadgram(tmp_path, "contacts", LOG_LEVEL="LOUD")
    line = one_clear_line(err)
    assert code == 1 and "LOG_LEVEL" in line and "WARNING" in line and "LOUD" not in line
    code, _, err = await leadgram(tmp_path, "contacts", DATABASE_URL="mysql://u:pw@host/db")
    line = one_clear_line(err)
    assert code == 1 and "DATABASE_URL" in line and "postgresql://" in line and "pw@" not in line


@pytest.mark.timeout(120)
def test_a_closed_pipe_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """`leadgram contacts | head -3`: the reader is gone before the table is written (deterministic here)."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", LOG_LEVEL="WARNING")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([LEADGRAM, "contacts"], stdout=write_end, stderr=subprocess.PIPE, env=env,
                              cwd=tmp_path, timeout=90, check=False)
    finally:
        os.close(write_end)
    err = proc.stderr.decode()
    assert proc.returncode == 141 and "broken pipe" in one_clear_line(err)


async def test_the_good_path_still_exits_zero(tmp_path: Path) -> None:
    code, out, err = await leadgram(tmp_path, "contacts")
    assert code == 0 and "0 contacts" in out and err == ""
    await asyncio.sleep(0)
