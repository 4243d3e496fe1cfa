"""Everyday words are rewritten to the documents' terms, and only where they are whole words."""

from __future__ import annotations

import pytest

from policies.matcher import official_terms
from policies.normalize import normalize


def rewritten(text: str) -> str:
    return official_terms(normalize(text))


@pytest.mark.parametrize(
    ("typed", "term"),
    [
        ("平台哪天挂到网上", "发布"),
        ("镇街要不要往上报", "上报"),
        ("有不明白的地方找谁", "问题"),
        ("把填好的表交给谁", "清单"),
        ("每年培养多少技术工人", "技能人才"),
        ("技术合同卖出去多少钱", "成交"),
        ("老师能不能两边都聘", "双聘"),
        ("政府会不会带头买", "首购"),
        ("企业缺哪些人", "人才需求"),
        ("有没有创业比赛", "大赛"),
        ("有没有创业比赛", "挑战赛"),
        ("会上讲讲政策吗", "政策宣讲"),
        ("联合体要不要请总的专家", "首席专家"),
        ("高新区都结上对了吗", "结对"),
        ("毕业生住房有保障吗", "安居"),
        ("这一条由哪个部门负责", "单位负责"),
        ("评审会不会去现场看", "现场考察"),
        ("市里打算组建几个联合体", "计划"),
        ("梧桐树政策有没有出新版", "2.0"),
        ("这项改革走的什么路子", "模式"),
        ("镇街要不要催着企业填", "督促"),
        ("怎么评人才", "人才评价"),
        ("精准引进青年团队", "靶向引进"),
        ("职务成果能不能先赋权", "职务科技成果"),
        ("有没有竞赛可以参加", "挑战赛"),
        ("企业想去高校挖人", "引才"),
        ("辖区企业怎么申报", "所在区"),
        ("备案有效期到了怎么办", "有效期满"),
        ("联合体到期以后呢", "期满"),
        ("三年后能不能续期", "重新申请备案"),
        ("清单什么时候返回给学校", "反馈高校"),
        ("建设方案有范本吗", "参考提纲"),
        ("清单什么时候交上去", "提交 "),
    ],
)
def test_everyday_word_becomes_the_documents_term(typed: str, term: str) -> None:
    assert term in rewritten(typed)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("这个表示什么意思", "表示"),  # 表 in 表示 is not the list form
        ("优秀单位的表彰", "表彰"),
        ("毕业生住房", "住房"),  # the other document's word stays too
        ("技工学校", "技工"),  # a school, not skilled workers
        ("人口缺口", "缺口"),
        ("到期日是哪天", "到期日"),
    ],
)
def test_words_inside_other_words_are_left_alone(typed: str, kept: str) -> None:
    assert kept in rewritten(typed)


def test_words_that_only_say_the_asker_wants_to_know_are_dropped() -> None:
    rewritten_question = rewritten("我想弄清楚院士机制包括哪几块")
    assert "清楚" not in rewritten_question
    assert "院士机制包括哪几块" in rewritten_question


def test_the_other_side_names_no_topic() -> None:
    # Real words (经历, 正文) are left to the homophone fixer, which no longer damages them
    # (tests/policies/test_homophones.py); 对方 alone says nothing the documents lack.
    assert "对方" not in rewritten("怎么找到对方的联系人")
    assert "对方案" in rewritten("对方案有意见找谁")  # 对 + 方案, not 对方


def test_how_many_members_is_not_adding_members() -> None:
    # The homophone fixer turns 几家 into 几加 (a word the base uses); 几加成员 still asks how many.
    assert "增减成员" not in rewritten("联合体需要几加成员")
    assert "增减成员" in rewritten("联合体能不能加成员")


def test_rewrites_are_stable_when_applied_again() -> None:
    """The matcher rewrites twice (before and after homophone fixing): no term may grow."""
    for typed in ("建设方案有模板吗", "毕业生住房", "有没有创业比赛", "有效期到了怎么办"):
        once = rewritten(typed)
        assert official_terms(once) == once


def test_saying_one_works_for_an_office_names_no_topic() -> None:
    assert "区直" not in rewritten("我是区直部门的，联合体怎么备案")
    assert "区直" in rewritten("文件发给了区直哪些单位")  # not an introduction: kept


def test_words_the_base_uses_are_not_put_back() -> None:
    assert "人工咨询" in rewritten("人工咨询电话")
    assert "赶上截止" in rewritten("没赶上截止日期")
