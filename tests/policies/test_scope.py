"""Near-miss out-of-scope questions declined by class (policies.scope and the fact kinds), while
their in-scope neighbours stay answered.

The questions here are new (in none of the measured sets), so they check behaviour, not tuning.
"""

from __future__ import annotations

import datetime as dt

import pytest

from policies import scope
from policies.loader import DEFAULT_DATA_DIR, load_policy_base
from policies.matcher import Matcher

TODAY = dt.date(2026, 10, 5)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_policy_base(DEFAULT_DATA_DIR))


@pytest.mark.parametrize(
    "question",
    [
        # Another place than the documents' (Qingdao, 西海岸新区, 莱西, Shandong).
        "杭州市对创新联合体有什么支持政策",
        "广东省的区校联动实施方案有哪些任务",
        "浙江的高新区和高校怎么结对",
        "苏州工业园区有没有类似的区校联动政策",
        # A person or an office's location the documents never give.
        "秘书处在几楼办公",
        "理事会的秘书长叫什么名字",
        "秘书处在哪个楼",
        # An interest rate: no document states one.
        "鲁科担 利率",
        "鲁科贷的贷款利率多少",
        # A month in the year: the documents give no annual schedule (the cycle is computed).
        "联合体考核每年哪个月启动",
        # An achieved figure where the entry states only a target.
        "新区技术经纪人实际已经有多少人了",
        "西海岸现在已经有多少技术经纪人",
        "截至目前技术经纪人有多少",
        # A sub-group of a counted set, and a count of something the entry does not count.
        "首轮的53个科创平台当中山东大学占几个",
        "古镇口大学城有多少教师",
        "青岛理工大学有多少学生",
        # Another Shandong city or Qingdao district than the one the entry is about.
        "潍坊市创新联合体的备案条件是什么",
        "即墨区科协一共走访了多少企业",
    ],
)
def test_near_miss_is_declined(matcher: Matcher, question: str) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "decline" and not answer.matched, (question, answer.entry)


@pytest.mark.parametrize(
    ("question", "faq_id"),
    [
        # A Shandong city is under the provincial plan; 江苏 is named by the plan's background.
        ("烟台的高新区要和几所高校结对", "sd-goals"),
        ("济南高新区怎么和高校联动", "sd-what"),
        # Where the asker comes from is context, not the place asked about.
        ("我们是上海的企业，在西海岸新区设了分公司，想问下能参加结对共建吗", "participants"),
        # The issuing year is stated; targets answer a target question; the whole count is stated.
        ("创新联合体实施方案是哪一年印发的", "union-doc"),
        ("新区给技术合同成交额定的目标数字是多少", "xha-tech-contracts"),
        ("第一轮一共上线了几个高能级科创平台", "first-release"),
        ("成果转化贷款贴息比例", "sd-m13-loan"),
        ("企业路演每年几月举办", "week5-roadshow"),
    ],
)
def test_in_scope_neighbour_is_answered(matcher: Matcher, question: str, faq_id: str) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "confident" and answer.entry is not None and answer.entry.id == faq_id


def test_places_outside_shandong_not_within_other_words() -> None:
    assert scope.foreign_places("深圳市创新联合体怎么组建") == ["深圳"]
    # 莱西安家费 holds 西安, 加上海大 holds 上海, 浙江大学 is a university, 济南 is in Shandong.
    assert scope.foreign_places("莱西安家费多少") == []
    assert scope.foreign_places("再加上海大组个联合体") == []
    assert scope.foreign_places("和浙江大学能结对吗") == []
    assert scope.foreign_places("济南高新区怎么结对") == []


def test_achieved_figure_against_target_only() -> None:
    assert scope.asks_achieved("去年技术合同成交额实际完成了多少")
    assert not scope.asks_achieved("技术合同成交额要达到多少")
    assert scope.target_only("到2028年技术合同成交额突破400亿元")
    assert not scope.target_only("已于2025年3月18日完成首轮发布，53个平台")


def test_subgroup_and_counted() -> None:
    assert scope.subgroup("这些平台里青岛大学的有几个") == "青岛大学"
    assert scope.subgroup("区里想让科技型企业涨到多少家") == ""
    assert scope.counted("大学城有多少在校生") == "在校生"
    assert scope.counted("院士工作站有多少建站补贴") == ""


def test_a_sibling_place_is_another_place_only_against_an_entry_about_one() -> None:
    qingdao_guide = "青岛市创新联合体组建工作指引"
    assert scope.sibling_place("济南的创新联合体怎么组建", qingdao_guide) == "济南"
    assert scope.sibling_place("平度有多少高新技术企业", "莱西市高新技术企业129家") == "平度"
    # The entry names the place asked about, or names no place of that level.
    assert scope.sibling_place("青岛的创新联合体怎么组建", qingdao_guide) == ""
    assert scope.sibling_place("黄岛区的企业怎么结对", "驻青岛西海岸新区企业") == ""
    assert scope.sibling_place("烟台的高新区和高校怎么结对", "高新区与高校结对") == ""
