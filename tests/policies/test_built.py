"""The cache of the built policy base + matcher (policies.built): a second start reads it instead of
building, and an edit to the data, a broken file or an unwritable folder never serves stale answers."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from policies import built
from policies.loader import DEFAULT_DATA_DIR
from policies.models import PolicyBase
from policies.settings import Settings
from policies.store import PolicyError, PolicyStore

TODAY = dt.date(2026, 10, 5)
PHONE_QUESTION = "高校理事会秘书处的咨询电话是多少？"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Counts real builds (the YAML parsed) made through policies.built."""
    made: list[Path] = []
    real = built.load_policy_base

    def counting(directory: Path) -> PolicyBase:
        made.append(directory)
        return real(directory)

    monkeypatch.setattr(built, "load_policy_base", counting)
    return made


def answer_text(store: PolicyStore, question: str = PHONE_QUESTION) -> str:
    return store.matcher.answer(question, TODAY).text


def test_a_second_start_reads_the_cache_and_answers_the_same(
    data_dir: Path, tmp_path: Path, builds: list[Path]
) -> None:
    cache = tmp_path / "cache"
    first = PolicyStore(data_dir, cache)
    first.load()
    second = PolicyStore(data_dir, cache)
    second.load()
    assert len(builds) == 1 and len(list(cache.glob("matcher-*.pickle"))) == 1
    assert answer_text(second) == answer_text(first) and "13210876217" in answer_text(second)


def test_an_edited_answer_is_never_served_from_the_cache(data_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    PolicyStore(data_dir, cache).load()
    for path in data_dir.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if "13210876217" in text:
            path.write_text(text.replace("13210876217", "13210876299"), encoding="utf-8")
    store = PolicyStore(data_dir, cache)
    store.load()
    assert "13210876299" in answer_text(store) and "13210876217" not in answer_text(store)


def test_broken_data_is_refused_even_with_a_cache_of_the_good_data(data_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    PolicyStore(data_dir, cache).load()
    faq = next(p for p in sorted(data_dir.glob("*.yaml")) if "faq:" in p.read_text(encoding="utf-8"))
    faq.write_text("faq: [ {id: x\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        PolicyStore(data_dir, cache).load()


def test_a_truncated_cache_file_is_rebuilt(data_dir: Path, tmp_path: Path, builds: list[Path]) -> None:
    cache = tmp_path / "cache"
    PolicyStore(data_dir, cache).load()
    (only,) = cache.glob("matcher-*.pickle")
    only.write_bytes(only.read_bytes()[:100])
    store = PolicyStore(data_dir, cache)
    store.load()
    assert len(builds) == 2 and "13210876217" in answer_text(store)


def test_an_unwritable_cache_folder_only_costs_the_build(data_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    store = PolicyStore(data_dir, blocker / "cache")  # mkdir fails: a file is in the way
    store.load()
    assert "13210876217" in answer_text(store)


def test_only_the_newest_few_versions_are_kept(data_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    faq = next(p for p in sorted(data_dir.glob("*.yaml")) if "faq:" in p.read_text(encoding="utf-8"))
    original = faq.read_text(encoding="utf-8")
    for n in range(built.KEEP + 2):
        faq.write_text(f"{original}\n# edit {n}\n", encoding="utf-8")
        PolicyStore(data_dir, cache).load()
    assert len(list(cache.glob("matcher-*.pickle"))) == built.KEEP


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"POLICY_CACHE_DIR": "off", "HOME": "/home/u"}, None),
        ({"POLICY_CACHE_DIR": "/var/cache/bot"}, Path("/var/cache/bot")),
        ({"XDG_CACHE_HOME": "/x", "HOME": "/home/u"}, Path("/x/pairing-bot")),
        ({"HOME": "/home/u"}, Path("/home/u/.cache/pairing-bot")),
        ({}, None),
    ],
)
def test_the_cache_folder_comes_from_the_environment(environ: dict[str, str], expected: Path | None) -> None:
    assert Settings.from_environ(environ).policy_cache_dir == expected


def test_an_upgraded_library_is_a_new_key(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The matcher copies OpenCC's and pypinyin's tables: another version of either must not be served
    the tables of the old one."""
    before = built.fingerprint(data_dir)
    real = built.metadata.version
    monkeypatch.setattr(built.metadata, "version", lambda name: "999.0" if name == "pypinyin" else real(name))
    assert built.fingerprint(data_dir) != before
