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
        ("产业基金规模需要多大", "amount"),
        ("审批要几个工作日", "days"),
        ("公示期有多长", "days"),
        ("获奖单位分别是哪几家", "names"),
        ("系统的初始密码", "password"),
        ("项目申报什么时候截止", "deadline"),
        ("评审委员会成员都是谁", "person"),
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
        ("几月几日发布", "days"),  # a date
        ("每年有哪些人才政策", "person"),  # 哪些人 of 哪些人才
    ],
)
def test_look_alike_wording_is_not_that_kind(question: str, kind: str) -> None:
    assert kind not in facts.asked_kinds(clean(question))


def test_the_subject_keeps_what_money_is_asked_about() -> None:
    assert "贴息" in facts.subject(clean("贴息上限多少钱"))
    assert "电话" not in facts.subject(clean("联合体有问题打哪个电话"))
    assert "联合体" in facts.subject(clean("联合体有问题打哪个电话"))


@pytest.mark.parametrize(
    ("kind", "passage", "stated"),
    [
        ("days", "可联系延长一周", True),
        ("days", "公示无异议的予以备案", False),
        ("days", "请企业于2025年4月18日前提交", False),  # a date, not a span
        ("deadline", "请企业于2025年4月18日前提交", True),
        ("deadline", "按程序申请备案", False),
        ("names", "来自3所驻青高校院所", False),
        ("names", "中国海洋大学、山东大学等", True),
    ],
)
def test_a_passage_states_a_kind_only_with_such_a_fact(kind: str, passage: str, stated: bool) -> None:
    assert facts.states(kind, {}, passage) is stated
