"""Layering: policies/ (the domain and the whole conversation) knows no channel and no database library;
storage/ knows no channel; each channel under handlers/ knows no other channel."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("policies", {"telegram", "aiohttp", "sqlalchemy", "alembic", "storage", "handlers"}),
        ("storage", {"telegram", "aiohttp", "handlers"}),
    ],
)
def test_core_packages_do_not_import_telegram(package: str, forbidden: set[str]) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & forbidden)
        for path in files
        if imported_modules(path) & forbidden
    }
    assert offenders == {}


def imported_submodules(path: Path) -> set[str]:
    """Dotted names of everything `path` imports (to tell handlers.telegram from handlers.web)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("channel", ["telegram", "terminal", "web"])
def test_channels_do_not_import_each_other(channel: str) -> None:
    others = {f"handlers.{name}" for name in ("telegram", "terminal", "web") if name != channel}
    files = sorted((ROOT / "handlers" / channel).rglob("*.py"))
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in imported_submodules(path) if n.split(".")[:2] in [o.split(".") for o in others]
        )
        for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_telegram_channel_imports_telegram() -> None:
    outside = [p for p in (ROOT / "handlers").rglob("*.py") if "telegram" not in p.relative_to(ROOT).parts]
    assert [str(p) for p in outside if "telegram" in imported_modules(p)] == []
