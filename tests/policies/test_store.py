"""PolicyStore: the bot refuses to start on bad data, but a bad /reload keeps the old data answering."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from policies.loader import DEFAULT_DATA_DIR
from policies.store import PolicyError, PolicyStore

TODAY = dt.date(2026, 10, 5)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def faq_file(directory: Path) -> Path:
    return next(p for p in sorted(directory.glob("*.yaml")) if "faq:" in p.read_text(encoding="utf-8"))


def test_construction_does_no_io(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path / "missing")
    assert not store.loaded
    with pytest.raises(RuntimeError):
        _ = store.matcher


def test_load_builds_base_and_matcher_fast(data_dir: Path) -> None:
    store = PolicyStore(data_dir)
    base = store.load()
    assert store.base is base and store.loaded
    answer = store.matcher.answer("高校理事会秘书处的咨询电话是多少？", TODAY)
    assert answer.matched and "13210876217" in answer.text


def test_load_refuses_bad_data(data_dir: Path) -> None:
    faq_file(data_dir).write_text("faq:\n  - id: Broken Id\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        PolicyStore(data_dir).load()


def test_reload_keeps_old_data_on_error(data_dir: Path) -> None:
    store = PolicyStore(data_dir)
    store.load()
    old_base, old_matcher = store.base, store.matcher
    faq_file(data_dir).write_text("faq: [ {id: x\n", encoding="utf-8")  # YAML syntax error
    ok, message = store.reload()
    assert not ok
    assert message.startswith("重新加载失败，继续使用原数据：")
    assert "\n" not in message
    assert store.base is old_base and store.matcher is old_matcher
    assert store.matcher.answer("秘书处电话", TODAY).matched


def test_reload_swaps_in_new_data(data_dir: Path) -> None:
    store = PolicyStore(data_dir)
    store.load()
    path = faq_file(data_dir)
    text = path.read_text(encoding="utf-8")
    marker = "questions:\n"
    assert marker in text
    path.write_text(text.replace(marker, marker + "      - 独角兽猎户座计划怎么报名\n", 1), encoding="utf-8")
    assert not store.matcher.answer("独角兽猎户座计划怎么报名", TODAY).matched
    ok, message = store.reload()
    assert ok, message
    assert "已重新加载" in message
    assert store.matcher.answer("独角兽猎户座计划怎么报名", TODAY).matched


def test_reload_of_missing_directory_keeps_old_data(data_dir: Path) -> None:
    store = PolicyStore(data_dir)
    store.load()
    old = store.base
    shutil.rmtree(data_dir)
    ok, message = store.reload()
    assert not ok and message.startswith("重新加载失败")
    assert store.base is old
