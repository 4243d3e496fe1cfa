"""The real policy data answers the FAQ dev set and our own held-out questions, and declines the rest.

The dev set lives outside the repository (/work/shared/faq_dev.yaml); the held-out questions below
were written without looking at the data's phrasings, to catch over-fitting of the threshold.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pytest
import yaml

from policies.loader import DEFAULT_DATA_DIR, load_policy_base
from policies.matcher import Matcher

DEV_SET = Path(__file__).resolve().parents[2].parent / "shared" / "faq_dev.yaml"
# Written from the seed documents only. Even positions were used to fix data and matcher; odd
# positions were only ever measured in aggregate (validation: 85.5 % answered, 85 % declined).
BLIND_SET = Path(__file__).resolve().parent / "blind_questions.yaml"
TODAY = dt.date(2026, 10, 5)

# (question, must groups); no groups = out of scope, must be declined.
HELD_OUT: list[tuple[str, list[list[str]]]] = [
    # the quarterly cycle and deadlines (computed from TODAY)
    ("这个季度清单几号截止？", [["2026年10月16日"]]),
    ("清單最晚哪天要交？", [["2026年10月16日"]]),
    ("清单晚交几天行不行", [["延长"]]),
    ("本季度截止日期", [["2026年10月16日"]]),
    ("路演啥时候搞", [["第5周", "第五周"]]),
    ("请问一下，路演是第几周呀？", [["第5周（2026年10月26日—11月1日）"]]),
    ("第六周干嘛", [["贡献度榜单"]]),
    ("企业啥时候交清单", [["第3周", "第三周"]]),
    ("第三周要干什么", [["第3周", "第三周"]]),
    ("高校第几周发布清单", [["第1周", "第一周"]]),
    ("下季度清单什么时候截止", [["2027年1月15日"]]),
    ("2025年二季度截止时间", [["4月18"]]),
    # the programme
    ("结对共建到底是干啥的", [["开放共享平台"]]),
    ("开放共享平台网站是多少", [["qddxcyqgx"]]),
    ("平台网址发我", [["qddxcyqgx"]]),
    ("首批上线了多少个平台", [["53"]]),
    ("跟三个学校合作要填几张表", [["几张清单", "不要合并"]]),
    ("高校的清单汇总后发给谁", [["金宏"]]),
    ("能和高校一起建什么平台", [["中试"]]),
    ("清单要写什么内容", [["结对共建意向"]]),
    ("老项目下季度还要重新报吗", [["更新"]]),
    ("秘书出电话", [["13210876217"]]),
    ("有问题找谁咨询", [["13210876217"]]),
    ("企業怎麼參加結對共建", [["开放共享平台"]]),
    # innovation consortia (青科字〔2025〕5号)
    ("创新联合体是啥", [["领军企业"]]),
    ("创新联和体要几家企业", [["3家"]]),
    ("联合体至少拉几所高校", [["2家"]]),
    ("联合体备案几年有效", [["3年"]]),
    ("創新聯合體備案有效期多長", [["3年"]]),
    ("牵头企业要满足什么条件", [["领军企业"]]),
    ("科技局电话多少", [["85911985"]]),
    ("首席专家怎么选", [["首席专家"]]),
    # Shandong 区校联动 (鲁科字〔2026〕10号)
    ("省科技厅热线", [["81288953"]]),
    ("贷款贴息能补多少", [["40%"]]),
    ("貼息比例多少", [["40%"]]),
    ("贴息一个企业最多给多少钱", [["50万"]]),
    ("创新券能直接抵扣吗", [["抵扣"]]),
    ("成果转化项目省里最多给多少钱", [["1500万"]]),
    ("区校联动方案谁发的", [["科学技术厅", "科技厅"]]),
    ("区校联动在哪备案", [["智慧管理服务平台"]]),
    ("鲁科保有补贴吗", [["保费补贴"]]),
    ("横向项目结余经费能不能入股", [["入股"]]),
    # Xihaian and Laixi
    ("新区2028年技术合同成交额要到多少", [["400亿"]]),
    ("西海岸科技型企业要达到多少家", [["3600"]]),
    ("一体改革实施意见文号", [["青西新发"]]),
    ("新区人才总量目标多少", [["110万"]]),
    ("莱西高企有多少家", [["216"]]),
    ("莱西的市级技术创新中心有几家", [["24家"]]),
    # a second batch, written after calibration and never tuned on
    ("清单提交截止是哪天", [["2026年10月16日"]]),
    ("交清单的最后期限", [["2026年10月16日"]]),
    ("截止了还能补交吗", [["延长"]]),
    ("今年第四季度清单几号之前交", [["2026年10月16日"]]),
    ("榜单第几周出", [["第6周", "第六周"]]),
    ("第四周是干什么的", [["第4周", "第四周"]]),
    ("每季度的流程是怎样的", [["第五周"]]),
    ("金宏账号叫什么", [["海洋科教创新区高校理事会秘书处"]]),
    ("古镇口平台地址", [["qddxcyqgx"]]),
    ("九校一所哪天完成首轮发布", [["3月18日"]]),
    ("一个企业一个包是什么意思", [["打包"]]),
    ("结对共建的咨询电话", [["13210876217"]]),
    ("创新联合体由谁牵头", [["领军企业"]]),
    ("创新联合体成员单位要什么条件", [["合作基础"]]),
    ("创新联合体申报流程", [["牵头单位"]]),
    ("创新联合体有效期满了怎么办", [["重新申请"]]),
    ("诚信承诺书要交吗", [["诚信承诺"]]),
    ("青岛市科技局高新处电话", [["85911985"]]),
    ("中试基地有什么支持", [["中试基地"]]),
    ("技术经理人有啥政策", [["技术经理人"]]),
    ("科技副总挂职", [["科技副职"]]),
    ("带着成果去高新区创业有支持没", [["创办"]]),
    ("高新区和高校怎么结对", [["结对"]]),
    ("区校联动到2026年底要实现什么", [["至少与1家高校"]]),
    ("新区规上企业研发投入要达到多少", [["210亿"]]),
    ("新区每年新增多少技能人才", [["2万"]]),
    ("市级以上科创平台新增目标", [["100家"]]),
    ("梧桐树聚才新政", [["梧桐树"]]),
    ("莱西科协走访了几家企业", [["114"]]),
    ("博汇莱是什么", [["博汇莱"]]),
    # out of scope: must be declined
    ("今天股市怎么样", []),
    ("帮我订机票", []),
    ("你是谁", []),
    ("明天会下雨吗", []),
    ("怎么申请信用卡", []),
    ("给我讲个笑话", []),
    ("北京到青岛的高铁几点", []),
    ("社保怎么交", []),
    ("公积金怎么提取", []),
    ("推荐一部电影", []),
    ("hello", []),
    ("1+1等于几", []),
    ("青岛有什么好玩的", []),
    ("营业执照怎么办理", []),
    ("孩子上学怎么报名", []),
    ("研发费用加计扣除比例是多少", []),
    ("高新技术企业认定需要什么条件", []),
    ("专利申请费用能报销吗", []),
    ("你好", []),
    ("吃饭了吗", []),
    ("帮我查一下快递", []),
    ("怎么交电费", []),
    ("医保报销比例是多少", []),
    ("青岛地铁几点停运", []),
    ("小孩发烧怎么办", []),
    ("我要投诉", []),
    ("什么是人工智能", []),  # known miss: an entry lists 人工智能 as a keyword
    ("出租车电话", []),
    ("银行贷款利率是多少", []),
    ("怎么注册公司", []),
    ("今天星期几", []),
    ("翻译一下hello world", []),
    ("税务局电话多少", []),
    ("大学生就业补贴怎么申请", []),
    ("😀👍", []),
]


def squash(text: str) -> str:
    """How the dev set compares: NFKC, then without whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def passes(matcher: Matcher, question: str, must: list[list[str]], abstain: bool) -> bool:
    answer = matcher.answer(question, TODAY)
    if abstain:
        return not answer.matched
    text = squash(answer.text)
    return answer.matched and all(any(squash(s) in text for s in group) for group in must)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_policy_base(DEFAULT_DATA_DIR))


def test_dev_set_thresholds(matcher: Matcher) -> None:
    if not DEV_SET.exists():
        pytest.skip(f"{DEV_SET} not present")
    cases = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))
    answerable = [c for c in cases if not c.get("abstain")]
    abstain = [c for c in cases if c.get("abstain")]
    answered = [c["q"] for c in answerable if passes(matcher, c["q"], c.get("must", []), False)]
    wrongly_answered = [c["q"] for c in abstain if not passes(matcher, c["q"], [], True)]
    assert len(answered) >= 0.95 * len(answerable), set(c["q"] for c in answerable) - set(answered)
    assert wrongly_answered == []


def test_held_out_out_of_scope_declined(matcher: Matcher) -> None:
    cases = [q for q, must in HELD_OUT if not must]
    answered = [q for q in cases if matcher.answer(q, TODAY).matched]
    assert len(answered) <= 0.05 * len(cases), answered


def test_held_out_answerable_mostly_answered(matcher: Matcher) -> None:
    cases = [(q, must) for q, must in HELD_OUT if must]
    failures = [q for q, must in cases if not passes(matcher, q, must, False)]
    # Unseen phrasings: a higher bar than chance, lower than the dev set's 95 %.
    assert len(failures) <= 0.1 * len(cases), failures


def _blind_rates(matcher: Matcher, half: int) -> tuple[float, float, list[str]]:
    """(answered share, declined share, failing questions) of one half of the blind set."""
    cases = yaml.safe_load(BLIND_SET.read_text(encoding="utf-8"))[half::2]
    answerable = [c for c in cases if not c.get("abstain")]
    abstain = [c for c in cases if c.get("abstain")]
    failing = [
        c["q"] for c in cases if not passes(matcher, c["q"], c.get("must", []), bool(c.get("abstain")))
    ]
    answered = 1 - sum(q in failing for q in (c["q"] for c in answerable)) / len(answerable)
    declined = 1 - sum(q in failing for q in (c["q"] for c in abstain)) / len(abstain)
    return answered, declined, failing


def test_blind_tuning_half(matcher: Matcher) -> None:
    answered, declined, failing = _blind_rates(matcher, 0)
    # Measured 96.4 % / 95 %.
    assert answered >= 0.92 and declined >= 0.90, failing


def test_blind_validation_half(matcher: Matcher) -> None:
    answered, declined, _ = _blind_rates(matcher, 1)
    # Measured 85.5 % / 85 %; the questions are not printed, so nobody tunes on them by accident.
    assert answered >= 0.80, f"answered {answered:.1%}"
    assert declined >= 0.80, f"declined {declined:.1%}"


def _blind3_rates(matcher: Matcher, split: str, name: str = "blind_questions_3.yaml") -> tuple[float, float]:
    """(answered-right share, out-of-scope declined share) of one half of blind set 3 or 4 (issue 10)."""
    import hashlib

    path = Path(__file__).resolve().parent / name
    cases = [
        c
        for c in yaml.safe_load(path.read_text(encoding="utf-8"))
        if (int(hashlib.sha1(c["q"].encode("utf-8")).hexdigest()[-1], 16) % 2 == 0) == (split == "tune")
    ]
    answerable = [c for c in cases if not c.get("abstain")]
    abstain = [c for c in cases if c.get("abstain")]
    right = sum(passes(matcher, c["q"], c["must"], False) for c in answerable) / len(answerable)
    declined = sum(matcher.answer(c["q"], TODAY).band == "decline" for c in abstain) / len(abstain)
    return right, declined


def test_blind3_validation_half_in_aggregate(matcher: Matcher) -> None:
    right, declined = _blind3_rates(matcher, "validation")
    # Measured 91.6 % / 80.0 % (bench/faq.py); only aggregates, never the questions, are printed.
    assert right >= 0.88, f"answered right {right:.1%}"
    assert declined >= 0.75, f"out-of-scope declined {declined:.1%}"


def test_blind4_validation_half_in_aggregate(matcher: Matcher) -> None:
    right, declined = _blind3_rates(matcher, "validation", "blind_questions_4.yaml")
    # Measured 95.3 % / 85.7 % (bench/faq.py); a floor against regressions, not a tuning target.
    assert right >= 0.90, f"answered right {right:.1%}"
    assert declined >= 0.80, f"out-of-scope declined {declined:.1%}"
