"""The homophone fixer corrects typos of the base's words but leaves real everyday words alone."""

from __future__ import annotations

import pytest

from policies import retrieval
from policies.loader import load_policy_base
from policies.matcher import Matcher

pytestmark = pytest.mark.skipif(
    not retrieval.real_words(), reason="jieba's dictionary (a dependency) is not installed"
)


@pytest.fixture(scope="module")
def fixer() -> retrieval.Homophones:
    return Matcher(load_policy_base())._homophones


@pytest.mark.parametrize(
    ("typed", "fixed"),
    [
        ("清丹第几周交", "清单第几周交"),
        ("傍单什么时候公布", "榜单什么时候公布"),
        ("录演活动第几周", "路演活动第几周"),
        ("鲁科代是啥", "鲁科贷是啥"),
        ("鲁科代的帖息比例", "鲁科贷的贴息比例"),
        # Real words, but the corrected text continues a phrasing of the base: typos all the same.
        ("高效理事会秘书处电话", "高校理事会秘书处电话"),
        ("高薪区跟高校结对", "高新区跟高校结对"),
    ],
)
def test_typos_are_fixed(fixer: retrieval.Homophones, typed: str, fixed: str) -> None:
    assert fixer.fix(typed) == fixed


@pytest.mark.parametrize(
    "question",
    [
        "工资多少",
        "企业社保缴费基数怎么确定",
        "住房公积金怎么提取",
        "经历",
        "方案正文分成几个部分",
        # Not among the words the synonym table used to put back.
        "医保怎么报销",
        "房租能补贴吗",
        "假期有几天",
        "贴息上限多少",
        "创新联合体退出解散",
        "研发费用加计扣除比例是多少",
    ],
)
def test_real_words_are_left_alone(fixer: retrieval.Homophones, question: str) -> None:
    assert fixer.fix(question) == question


def test_word_list_is_a_set_of_words() -> None:
    words = retrieval.WordList(["工资", "社保", "公积金", "营业执照", "工资"])
    assert len(words) == 4
    assert "公积金" in words and "工资" in words
    assert "工咨" not in words and "公积" not in words and "" not in words and 3 not in words
