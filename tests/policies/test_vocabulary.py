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
        ("这个活动多久搞一轮", "季度"),
        ("每轮结束以后呢", "每季度"),
        ("有没有请专家组出主意", "专家咨询委员会"),
        ("担心被追责", "容错免责"),
        ("能不能先用后付", "先使用后付费"),
        ("职校和企业一起招学生", "职业院校"),
        ("职校和企业一起招学生", "联合招生"),
        ("技能型人才每年多少", "技能人才"),
        ("人才规模", "人才总量"),
        ("平台还要再增加多少家", "新增"),
        ("教育科技人才一起改", "一体改革"),
        ("什么时候初见成效", "初步形成"),
        ("职务成果改革试点", "先赋权后转化"),
        ("老师能两边挂职吗", "双聘双跨"),
        ("牵头的企业有什么要求", "牵头企业"),
        ("备案快满期了", "期满"),
        ("能不能再申请", "重新申请备案"),
        ("清单来不及交怎么办", "延期"),
        ("最后一周做什么", "第六周"),
        ("第三个星期交什么", "第三周"),
        ("用什么渠道报", "路径"),
        ("起码要几家高校", "至少"),
        ("要走哪几步", "流程步骤"),
        ("协议要写清楚什么", "明确"),
        ("网上还要填什么", "开放共享平台"),
        ("谁做得好会公布吗", "贡献度榜单"),
        ("这个活动多久办一期", "季度"),
        ("清单交晚了怎么办", "延期"),
        ("方案分成几块", "分为"),
        ("包括哪几块内容", "哪几个方面"),
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
        ("第一轮平台哪天发布", "第一轮"),  # the first release, not a round
        ("首轮发布了几个", "首轮"),
        ("下一轮什么时候", "下一轮"),
        ("企业贷款的风险谁来兜底", "兜底"),  # a guarantee, not 容错免责
        ("成果转化做得好有奖励吗", "做得好"),  # no ranking asked
        ("这一条件是什么", "条件"),
        ("咨询电话多少", "咨询电话"),  # a topic word, not the asking frame 咨询下
        ("沙龙下一期什么时候", "下一期"),
        ("我想问下下载地址", "下载"),
        ("下季度清单", "下季度"),
    ],
)
def test_words_inside_other_words_are_left_alone(typed: str, kept: str) -> None:
    assert kept in rewritten(typed)


def test_words_that_only_say_the_asker_wants_to_know_are_dropped() -> None:
    rewritten_question = rewritten("我想弄清楚院士机制包括哪几块")
    assert "清楚" not in rewritten_question
    assert "院士机制包括哪几个方面" in rewritten_question  # 哪几块 in the documents' words


@pytest.mark.parametrize(
    ("typed", "dropped"),
    [
        ("除了交表还要做什么", "除了"),
        ("比如揭榜挂帅之类的", "之类"),
        ("这一条由谁负责", "这一条"),
        ("具体怎么搞", "搞"),
        ("想问下联合体怎么备案", "问"),
        ("我想问下联合体怎么备案", "下"),  # the 下 the filler list leaves of 我想问下
        ("咨询下第三周做什么", "咨询"),
    ],
)
def test_words_that_only_frame_a_clause_are_dropped(typed: str, dropped: str) -> None:
    assert dropped not in rewritten(typed)


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
