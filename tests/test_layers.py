"""The layers' import rules (docs/ARCHITECTURE.md): core knows no Telegram and none of the outer packages;
bot/ and workers/ never import each other; only leadgram/ imports both."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "core": {"bot", "workers", "leadgram", "aiogram"},
    "workers": {"bot", "leadgram", "aiogram"},
    "bot": {"workers", "leadgram"},
}


def imported(path: Path) -> set[str]:
    """Top-level package names a module imports (anywhere in the file, lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_follow_the_layers(package: str) -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(imported(p) & FORBIDDEN[package])
                 for p in sorted((ROOT / package).rglob("*.py"))}
    assert {path: names for path, names in offenders.items() if names} == {}


def modules(path: Path) -> set[str]:
    """Full dotted module names a module imports (`from core.db import repo` counts as core.db.repo)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_bot_reaches_data_only_through_core_services() -> None:
    """A handler parses, makes one core call and renders: no queries (repo, SQLAlchemy statements) and no
    commits in bot/; the use-case functions in core/services/ do both."""
    querying = {"core.db.repo", "sqlalchemy.select", "sqlalchemy.update", "sqlalchemy.delete", "sqlalchemy.insert"}
    offenders = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        found = sorted(modules(path) & querying) + (["commit()"] if ".commit()" in source else [])
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}
