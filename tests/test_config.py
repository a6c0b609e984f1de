"""Settings: env names are the contract; a bad value stops start-up with one line naming the variable."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from core.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI", "IG_", "TELEGRAM", "REDIS"))}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "leadgram", "db", "upgrade"], env=full, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_every_setting_is_listed_in_env_example():
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert {name.upper() for name in Settings.model_fields} == listed


def test_malformed_setting_names_the_variable_in_one_line(tmp_path):
    proc = _run({"GEMINI_RPM": "lots", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines == [lines[0]] and "GEMINI_RPM" in lines[0]
    assert "Traceback" not in proc.stderr


def test_secret_values_never_appear_in_errors(tmp_path):
    proc = _run({"IG_ACCESS_TOKEN": "IGAAsecret123", "DATABASE_URL": "mysql://nope"})
    assert proc.returncode != 0 and "DATABASE_URL" in proc.stderr
    assert "IGAAsecret123" not in proc.stderr + proc.stdout


def test_allowed_ids_parse_from_a_comma_list():
    settings = Settings(allowed_telegram_ids="1, 22,333")
    assert settings.allowed_telegram_ids == frozenset({1, 22, 333})
    assert Settings(database_url="postgres://u@h/db").database_url == "postgresql+asyncpg://u@h/db"


def test_empty_values_mean_unset(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("GEMINI_API_KEY", "")
    settings = Settings()
    assert settings.redis_url is None and settings.gemini_api_key is None
