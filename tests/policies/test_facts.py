"""Kinds of fact a question asks for (policies.facts): what decides whether an entry answers it."""

from __future__ import annotations

import pytest

from policies import facts
from policies.normalize import clean


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("路演在哪个场地举办", "address"),
        ("科教园选址在哪里", "address"),
        ("平台联系人叫什么名字", "person"),
        ("有没有合同范本", "template"),
        ("逾期会被罚款吗", "penalty"),
        ("牵头单位不作为会怎样", "penalty"),
        ("首席专家年龄有限制吗", "age"),
        ("成员单位最多几家", "maximum"),
        ("这个贷款能贷多少", "loan"),
        ("银行贷款利率多少", "loan"),
        ("沙龙下一期什么时候", "next"),
        ("申报需要准备哪些材料", "materials"),
        ("高校数量够不够", "count"),
        ("挑战赛奖金是多少", "amount"),
    ],
)
def test_the_kind_asked_for_is_recognised(question: str, kind: str) -> None:
    assert kind in facts.asked_kinds(clean(question))


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("咨询电话是几号", "date"),  # a phone number
        ("备案流程怎么走", "address"),  # a procedure, not a way there
        ("跟几个高校合作就填几张清单吗", "maximum"),
    ],
)
def test_look_alike_wording_is_not_that_kind(question: str, kind: str) -> None:
    assert kind not in facts.asked_kinds(clean(question))


def test_the_subject_keeps_what_money_is_asked_about() -> None:
    assert "贴息" in facts.subject(clean("贴息上限多少钱"))
    assert "电话" not in facts.subject(clean("联合体有问题打哪个电话"))
    assert "联合体" in facts.subject(clean("联合体有问题打哪个电话"))
