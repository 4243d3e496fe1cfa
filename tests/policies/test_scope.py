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
        # A ranking within a counted set the entry does not rank.
        "首轮发布的平台里哪所高校的平台最多",
        # The name of a party the entry leaves unnamed.
        "绩效评估委托给了哪家第三方",
        # A date for a plan whose entry states none.
        "海外高校科教园什么时候能建好",
        # Another province's own rules where the entry only borrows from it.
        "江苏省双高协同有哪些具体细则",
        # A roster of members already filed or behind a collective label.
        "首批备案的创新联合体是哪几家企业",
        "九校一所分别是哪几所",
        # A named official.
        "区校联动负责的刘主任怎么联系",
        # A task for the bot, not a question.
        "帮我起草一份创新联合体建设方案",
        # A count of a thing the entry mentions but counts nothing of (it counts volunteers).
        "莱西科协在镇街设了几个服务站",
        # How often, where the entry says only "适时".
        "联合体绩效评价隔多久搞一次",
        # Points, a reduction, a fee rate and names no passage gives.
        "参加区校联动的学生推免能加几分",
        "高校创新圈的创业场地租金优惠多少",
        "鲁科保的保险费率大概多少",
        "首轮那53个平台都叫什么",
        # The phone of an office the entry names with no number.
        "镇街那边的联系电话多少",
        # A fee, a public budget, a venue, a sign-up date, a term, a number of copies and the size of
        # a sum the entry does not state.
        "交易大市场的佣金怎么收费",
        "区财政每年拿出多少专项资金支持产教融合",
        "第五周的交流会一般在什么地方开",
        "技术经纪人培训班什么时候可以报名",
        "高校人才到高新区挂任科技副职，期限是多长",
        "备案要提交几份申请书",
        "省海洋科技成果转移转化中心的资金额度有多大",
        # A sub-group asked as "how many of them are X"; a roster of platforms already recognised.
        "首轮那53个平台中有几个是海洋类的",
        "现在已经认定了哪些科创平台",
        # The conditions of something no entry is about; small talk.
        "申请人才公寓需要什么条件",
        "您好，你是谁",
        "在不在",
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
        # An entry that states the superlative answers a ranking; asking whether a third party
        # evaluates is answered; a stated date answers a when; borrowing from 江苏 is stated; an
        # entry naming the university answers 哪所; what a plan must contain is a question.
        ("省财政对哪类成果转化项目资助最高", "sd-m12-major-transfer"),
        ("联合体绩效评价会请第三方来做吗", "union-performance"),
        ("首轮平台发布在哪一天完成", "first-release"),
        ("区校联动方案借鉴了江苏哪方面的经验", "sd-background"),
        ("海外高校科教园打算和香港的哪所大学一起建", "xha-higher-education"),
        ("拟备案的联合体名单会公示吗", "union-filing"),
        ("建设方案要写哪些内容", "union-chief-expert-plan"),
        # A count next to the thing counted; a stated cycle; the office whose number is given; a
        # passage listing names.
        ("联合体至少要联合几所高校院所", "union-members-count"),
        ("结对共建清单隔多久公布一次", "quarterly-system"),
        ("找秘书处联系的电话多少", "secretariat-phone"),
        ("新区要打造的高校创新圈分别叫什么", "xha-innovation-circles"),
        # A voucher offsetting a fee (no charge asked); a grant from the provincial budget; the week of
        # the roadshow; a validity; the lists per university; a grant's size; the whole count; the
        # conditions of the entry's own subject; a greeting before a question.
        ("共享仪器的使用费用能用创新券抵扣吗", "sd-m11-voucher"),
        ("省财政给重大成果转化项目安排多少经费", "sd-m12-major-transfer"),
        ("路演交流在第几周举行", "week5-roadshow"),
        ("区校联动方案什么时候印发的", "sd-doc"),
        ("创新联合体备案的有效期是几年", "union-validity"),
        ("一个高校出几张清单", "multiple-universities"),
        ("重大成果转化项目的资助额度有多大", "sd-m12-major-transfer"),
        ("首轮那53个平台一共有几个", "first-release"),
        ("企业想牵头组建创新联合体要满足什么条件", "union-lead-conditions"),
        ("你好，请问清单什么时候截止", "deadline-2025q2"),
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


def test_count_subject_names_what_is_counted() -> None:
    assert scope.count_subject("镇街一共建了多少个服务站") == ("服务", "服务站")
    assert scope.count_subject("科创中国服务站一共建了多少个") == ("服务站",)
    # A bound (至少) is dropped; a date or a doer (走访了) is not what is counted; 哪几个 asks names.
    assert scope.count_subject("上下游企业至少几家") == ("游企业",)
    assert scope.count_subject("到2026年底要求至少几家") == ()
    assert scope.count_subject("科协一共去企业走访了多少家") == ()
    assert scope.count_subject("主要看哪几个方面") == ()


def test_a_sibling_place_is_another_place_only_against_an_entry_about_one() -> None:
    qingdao_guide = "青岛市创新联合体组建工作指引"
    assert scope.sibling_place("济南的创新联合体怎么组建", qingdao_guide) == "济南"
    assert scope.sibling_place("平度有多少高新技术企业", "莱西市高新技术企业129家") == "平度"
    # The entry names the place asked about, or names no place of that level.
    assert scope.sibling_place("青岛的创新联合体怎么组建", qingdao_guide) == ""
    assert scope.sibling_place("黄岛区的企业怎么结对", "驻青岛西海岸新区企业") == ""
    assert scope.sibling_place("烟台的高新区和高校怎么结对", "高新区与高校结对") == ""


@pytest.mark.parametrize(
    ("question", "answer", "declined"),
    [
        ("这批平台里哪家单位的最多", "九校一所完成首轮发布，53个平台", True),
        ("哪类项目资助最高", "省财政给予最高1500万元经费资助", False),
        ("评估请的第三方机构叫什么名字", "组织专家或委托第三方评估机构实施", True),
        ("评估请的第三方机构叫什么名字", "委托的第三方机构为某某评估中心", False),
        ("科教园哪一年建成", "青西新发〔2024〕10号提出：探索建设海外高校科教园", True),
        ("首轮发布什么时候完成", "已于2025年3月18日完成首轮发布", False),
        ("已经结对的高校有哪几所", "实现全省每家高新区至少与1家高校建立结对联动关系", True),
        ("和香港哪所大学合作", "探索与香港城市大学以及海外高校合作", False),
        ("街道里一共建了多少个驿站", "在各街道建立服务驿站，发动志愿者3000余人", True),
        ("街道里一共建了多少个驿站", "在各街道建立服务驿站12个，发动志愿者3000余人", False),
        ("专家库多长时间更新一回", "建立专家库，适时调整入库专家", True),
        ("专家库多长时间更新一回", "专家库每年更新一次", False),
        ("区科技局的办公电话是多少", "咨询电话：秘书处88886666；也可咨询区科技局。", True),
        ("区科技局的办公电话是多少", "咨询可拨打区科技局电话88886666。", False),
    ],
)
def test_class_against_the_answer(question: str, answer: str, declined: bool) -> None:
    found = scope.out_of_scope(question, question, answer, answer, lambda phrase: True)
    assert bool(found) == declined, (question, found)


def test_referenced_place_person_and_task() -> None:
    borrowed = "充分借鉴江苏省双高协同发展实施的先进经验"
    assert scope.referenced_place("江苏双高协同的补贴比例是多少", borrowed) == "江苏"
    assert scope.referenced_place("借鉴了江苏的什么经验", borrowed) == ""
    assert scope.out_of_scope("找一下陈处长", "", "", "", lambda phrase: True) == "person"
    assert scope.out_of_scope("处长是谁", "", "", "", lambda phrase: True) == ""
    assert scope.out_of_scope("帮我翻译这段话", "", "", "", lambda phrase: True) == "task"
    assert scope.out_of_scope("我们想请专家帮我们把关", "", "", "", lambda phrase: True) == ""
