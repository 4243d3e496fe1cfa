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
        ("评审一般安排在几月份", "month"),
        ("这项改革到哪一年完成", "target_year"),
        ("这项任务由哪个厅牵头", "in_charge"),
        ("归科技局哪个处管", "division"),
        ("志愿者有报酬吗", "pay"),
        ("合作的是哪两所高校", "members"),
        ("产业教授聘期多久", "validity"),
        ("人才规模多大", "count"),
        ("联合体组建条件", "criteria"),
        ("牵头企业得满足哪些条件", "criteria"),
        ("网址的端口号是多少", "port"),
        ("竞赛获奖能加几分", "points"),
        ("加分标准多少", "points"),
        ("孵化器房租怎么算", "relief"),
        ("场地费能减免多少", "relief"),
        ("担保的费率多少", "loan"),
        ("这十个项目都叫什么", "names"),
        ("设备使用怎么收费", "fee"),
        ("咨询服务费怎么算", "fee"),
        ("区里每年安排多少资金", "budget"),
        ("财政经费投入多少", "budget"),
        ("培训班在什么地点上课", "address"),
        ("什么时候开始报名", "date"),
        ("要交几份材料", "count"),
        ("挂职期限是多久", "validity"),
        ("基金的投资额度有多大", "amount"),
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
        ("几个月能办完", "month"),  # a span, not a month
        ("几月几日发布", "month"),  # a date
        ("什么时候完成首轮发布", "target_year"),  # a past event, dated
        ("每季度第一周是谁负责整理清单", "in_charge"),  # a party (高校), not an office
        ("清单交上来以后怎么处理", "division"),
        ("人才规模多大", "amount"),  # people, not money
        ("新增项目那一栏是写哪天签的吗", "date"),  # what to fill in, not a date asked
        ("审核几分钟能出结果", "points"),  # minutes, not points
        ("补贴占百分之几", "points"),
        ("这个平台具体叫什么名字", "names"),  # one name, not a counted set's
        ("费用由谁来出", "fee"),  # who pays, not what is charged
        ("这个计划的期限是哪几年", "validity"),  # a plan's span of years
        ("有什么地方不明白可以问谁", "address"),
        ("创新能力有多大提升", "amount"),
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
        ("month", "每年9月开展评审", True),
        ("month", "适时开展绩效评价", False),
        ("target_year", "到2028年，新区初步形成", True),
        ("target_year", "日期为2024年9月19日", False),  # the issue date is no goal's year
        ("in_charge", "同等条件下享有优先使用权。（省科技厅负责）", True),
        ("in_charge", "由链主企业牵头，探索企业出题", False),
        ("division", "青岛市科学技术局高新技术与重大专项处", True),
        ("division", "移交司法机关依法处理", False),
        ("members", "来自3所驻青高校院所", False),
        ("members", "发布新平台、新服务", False),  # a list, but of no institutions
        ("names", "持续发布新平台、新服务", False),  # kinds of thing, not names
        ("points", "竞赛获奖加5分", True),
        ("points", "作为研究生推免的重要参考", False),
        ("relief", "入驻团队免收三年房租", True),
        ("relief", "提供创业载体、金融配套等服务", False),
        ("members", "创新中国海工院、中船海装院运行模式", True),
        ("count", "赋能新区“5+5+7”产业体系", True),
        ("count", "围绕“10+1”创新型产业体系", False),  # a name, not a count
        ("port", "网址：https://qddxcyqgx.xihaian.gov.cn:9001/", True),
        ("port", "网址：https://www.qingdao.gov.cn/", False),
        ("fee", "平台仪器对驻区企业免费开放", True),
        ("fee", "依托上海技术交易所等平台建设交易大市场", False),
        ("budget", "省财政给予最高1500万元经费资助", True),
        ("budget", "规上企业研发投入突破210亿元", False),  # firms' spending, no budget
        ("count", "每个企业提交3份申请书", True),
    ],
)
def test_a_passage_states_a_kind_only_with_such_a_fact(kind: str, passage: str, stated: bool) -> None:
    assert facts.states(kind, {}, passage) is stated
