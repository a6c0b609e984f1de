"""Reproducible installs (issue 15.8): a committed lock that matches pyproject.toml, bounded runtime
dependencies, test tools outside the runtime set, Python 3.11-3.13."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
TEST_TOOLS = {"pytest", "pytest-asyncio", "pytest-timeout", "ruff", "mypy", "types-regex"}


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    for line in PROJECT["dependencies"]:
        req = Requirement(line)
        assert any(spec.operator in ("<", "<=", "==", "~=") for spec in req.specifier), f"{line}: no upper bound"


def test_test_tools_are_not_runtime_dependencies() -> None:
    runtime = {Requirement(line).name.lower() for line in PROJECT["dependencies"]}
    assert not runtime & TEST_TOOLS
    dev = {Requirement(line).name.lower() for line in PROJECT["optional-dependencies"]["dev"]}
    assert {"pytest", "ruff", "mypy"} <= dev
    assert "fakeredis" in runtime  # not a test tool here: the in-process queue runs on it without REDIS_URL


def test_python_3_11_to_3_13() -> None:
    supported = SpecifierSet(PROJECT["requires-python"])
    assert all(v in supported for v in ("3.11.0", "3.12.5", "3.13.0")) and "3.14.0" not in supported


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is what scripts/install.sh installs with")
def test_the_committed_lock_matches_pyproject() -> None:
    """scripts/install.sh runs `uv sync --locked`: a lock out of date with pyproject.toml fails the install."""
    assert (ROOT / "uv.lock").is_file()
    done = subprocess.run(["uv", "lock", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--locked" in (ROOT / "scripts" / "install.sh").read_text()
