"""The curated policy data: it loads, covers the seeds and the dev set, and every answer is sourced."""

from __future__ import annotations

import re
import string
import unicodedata
from pathlib import Path

import pytest
import yaml

from policies.loader import DEFAULT_DATA_DIR, load_policy_base
from policies.models import PolicyBase

DEV_SET = Path("/work/shared/faq_dev.yaml")


@pytest.fixture(scope="module")
def base() -> PolicyBase:
    return load_policy_base(DEFAULT_DATA_DIR)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def test_enough_entries(base: PolicyBase) -> None:
    assert len(base.faqs) >= 70
    assert len(base.faqs) + len(base.subsidies) + len(base.contacts) >= 60


def test_every_document_is_cited(base: PolicyBase) -> None:
    cited = {f.source for f in base.faqs}
    assert set(base.documents) <= cited


def test_every_seed_has_a_document(base: PolicyBase) -> None:
    seeds = {d.seed for d in base.documents.values()}
    assert {s for s in seeds if s} == {
        "000_86394fb135489d7d.txt",
        "001_0011fe96289b8b11.txt",
        "002_e04bd287421e3847.txt",
        "003_172345365da9c187.txt",
        "004_4d6e4ad93cf8d22c.txt",
    }


def test_every_answer_has_a_source_and_a_clause(base: PolicyBase) -> None:
    for entry in base.faqs:
        assert entry.source in base.documents, entry.id
        assert entry.clause, entry.id
        assert entry.answer.endswith(("。", "）", ")")), entry.id


def test_entries_have_varied_phrasings(base: PolicyBase) -> None:
    for entry in base.faqs:
        assert len(entry.questions) >= 4, entry.id
        assert len(set(entry.questions)) == len(entry.questions), entry.id


def test_topics_are_unique_button_labels(base: PolicyBase) -> None:
    topics = [f.topic for f in base.faqs]
    assert len(set(topics)) == len(topics)
    assert all(len(t) <= 16 for t in topics)


def test_dev_set_must_strings_appear_in_some_answer(base: PolicyBase) -> None:
    if not DEV_SET.exists():
        pytest.skip("shared dev set not present")
    answers = [squash(f.answer) for f in base.faqs]
    missing = []
    for item in yaml.safe_load(DEV_SET.read_text(encoding="utf-8")):
        if item.get("abstain"):
            continue
        groups = [[squash(s) for s in group] for group in item["must"]]
        if not any(all(any(s in a for s in group) for group in groups) for a in answers):
            missing.append(item["q"])
    assert not missing


@pytest.mark.parametrize(
    "fact",
    [
        "13210876217",
        "0531-81288953",
        "85911985",
        "https://qddxcyqgx.xihaian.gov.cn:9001/",
        "2025年3月18日",
        "53个",
        "4月18日",
        "不要合并",
        "一个企业一个包",
        "金宏账号",
        "3600家",
        "400亿元",
        "210亿元",
        "110万人",
        "1500万元",
        "40%",
        "最高50万元",
        "200万元",
        "不少于3家",
        "不少于2家",
        "不超过3年",
        "20个左右",
        "216家",
        "120多家",
        "114家",
        "24家",
        "71家",
        "智慧管理服务平台",
        "抵扣",
    ],
)
def test_key_facts_are_stated(base: PolicyBase, fact: str) -> None:
    assert any(squash(fact) in squash(f.answer) for f in base.faqs)


def test_cycle_has_six_weeks_with_reminders(base: PolicyBase) -> None:
    audiences = {w.week: w.reminder_audience for w in base.cycle}
    assert audiences == {1: "university", 2: "enterprise", 3: "enterprise", 4: "university", 5: "", 6: "all"}
    for week in base.cycle:
        if week.reminder_audience:
            assert week.reminder_text
            # Templates fill without KeyError from the three documented placeholders.
            week.reminder_text.format(quarter="2025Q2", deadline="4月18日", extended_deadline="4月25日")
            names = {n for _, n, _, _ in string.Formatter().parse(week.reminder_text) if n}
            assert names <= {"quarter", "deadline", "extended_deadline"}


def test_dated_facts(base: PolicyBase) -> None:
    facts = {(f.quarter, f.kind): f for f in base.dated_facts}
    deadline = facts[("2025Q2", "deadline")]
    assert (deadline.date.isoformat(), deadline.extension_days) == ("2025-04-18", 7)
    assert facts[("2025Q1", "release")].date.isoformat() == "2025-03-18"


def test_week_entries_name_their_week(base: PolicyBase) -> None:
    weekly = [f for f in base.faqs if f.kind == "cycle_week"]
    assert len(weekly) >= 6
    for n, word in enumerate("一二三四五六", 1):
        assert any(f"第{word}周" in f.answer for f in weekly), n


def test_secretariat_phone(base: PolicyBase) -> None:
    assert base.secretariat_phone == "13210876217"
    assert any(c.phone == "0531-81288953" for c in base.contacts)
    assert any("金宏" in c.name for c in base.contacts)
