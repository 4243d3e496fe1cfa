"""The FAQ matcher: answers with the source cited, computed dates, or an honest decline."""

from __future__ import annotations

import datetime as dt

import pytest

from policies import cycle, retrieval
from policies.loader import load_policy_base
from policies.matcher import Answer, Matcher, named_offices
from policies.models import CycleWeek, DatedFact, Document, FaqEntry, PolicyBase

D = dt.date
TODAY = D(2026, 10, 5)  # 2026Q4, week 2

DOCS = {
    "letter": Document(id="letter", title="《致驻青岛西海岸新区企业的公开信》"),
    "guide": Document(id="guide", title="《青岛市创新联合体组建工作指引》", doc_number="青科字〔2025〕5号"),
}
FAQS = (
    FaqEntry(
        id="deadline",
        topic="清单截止时间",
        questions=("清单什么时候截止？", "提交清单的截止日期是哪天？", "清单可以延期提交吗？"),
        answer="2025年第二季度请企业于2025年4月18日前提交（可联系延长一周）。",
        source="letter",
        clause="三",
        keywords=("截止", "延期"),
        kind="deadline",
    ),
    FaqEntry(
        id="week-5",
        topic="路演活动",
        questions=("路演活动什么时候举办？", "每季度第几周路演？"),
        answer="每季度第五周开展项目路演、成果推介、洽谈签约等活动。",
        source="letter",
        clause="二",
        keywords=("路演", "推介"),
        kind="cycle_week",
    ),
    FaqEntry(
        id="union-members",
        topic="创新联合体组成",
        questions=("组建创新联合体需要几家企业？", "创新联合体要联合几家高校院所？"),
        answer="由领军企业牵头，联合不少于3家上下游企业、2家高校院所。",
        source="guide",
        clause="三、（二）",
        keywords=("创新联合体",),
    ),
    FaqEntry(
        id="phone",
        topic="秘书处电话",
        questions=("高校理事会秘书处的咨询电话是多少？",),
        answer="高校理事会秘书处咨询电话：13210876217。",
        source="letter",
        keywords=("咨询电话", "秘书处"),
    ),
)
CYCLE = tuple(
    CycleWeek(week=n, title=title, actors=(), action="", source="letter")
    for n, title in enumerate(("发布清单", "下发企业", "企业提交", "反馈高校", "路演交流", "发布榜单"), 1)
)
FACTS = (DatedFact(id="d", quarter="2025Q2", kind="deadline", date=D(2025, 4, 18), extension_days=7),)
BASE = PolicyBase(documents=DOCS, faqs=FAQS, cycle=CYCLE, dated_facts=FACTS)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(BASE)


def ask(matcher: Matcher, question: str, today: dt.date = TODAY) -> Answer:
    return matcher.answer(question, today)


@pytest.mark.parametrize(
    ("question", "faq_id"),
    [
        ("组建创新联合体至少要几家企业", "union-members"),
        ("創新聯合體需要幾家企業？", "union-members"),
        ("请问创新联合体需要几家高校呢", "union-members"),
        ("秘书处电话多少", "phone"),
        ("路演什么时候", "week-5"),
        ("清单哪天截止", "deadline"),
    ],
)
def test_answers_with_citation(matcher: Matcher, question: str, faq_id: str) -> None:
    answer = ask(matcher, question)
    assert answer.matched, answer
    assert answer.entry is not None and answer.entry.id == faq_id
    assert answer.text.endswith(answer.source)
    assert answer.source.startswith("来源：")
    assert 0 <= answer.score <= 100


def test_citation_names_document_number_and_clause(matcher: Matcher) -> None:
    answer = ask(matcher, "组建创新联合体需要几家企业？")
    assert answer.source == "来源：青科字〔2025〕5号《青岛市创新联合体组建工作指引》 三、（二）"


@pytest.mark.parametrize("question", ["今天股市怎么样", "帮我订机票", "你是谁", "", "😀😀", "怎么办理护照？"])
def test_declines_off_topic_with_alternatives_and_phone(matcher: Matcher, question: str) -> None:
    answer = ask(matcher, question)
    assert not answer.matched
    assert answer.entry is None and answer.source == ""
    assert "13210876217" in answer.text
    assert len(answer.alternatives) == 3
    for entry in answer.alternatives:
        assert entry.topic in answer.text


def test_alternatives_follow_the_question(matcher: Matcher) -> None:
    top = matcher.alternatives("创新联合体的路演", 2)
    assert {entry.id for entry in top} == {"union-members", "week-5"}


def test_unrelated_question_is_offered_everyday_topics(matcher: Matcher) -> None:
    answer = ask(matcher, "帮我订机票")
    assert [entry.id for entry in answer.alternatives] == ["deadline", "week-5", "union-members"]


def test_week_answer_follows_the_cycle_for_any_day(matcher: Matcher) -> None:
    day = D(2026, 1, 1)
    while day < D(2028, 1, 1):
        text = ask(matcher, "路演是第几周", day).text
        quarter = cycle.cycle_quarter(day)
        start, end = cycle.week_range(quarter, 5)
        assert f"第5周（{cycle.format_range(start, end)}）" in text
        assert start.weekday() == 0
        if end < day:
            assert "第5周已过" in text
        day += dt.timedelta(days=5)


def test_by_id_and_answer_entry(matcher: Matcher) -> None:
    assert matcher.by_id("phone") is FAQS[3]
    assert matcher.by_id("nope") is None
    assert matcher.answer_entry("nope", TODAY) is None
    answer = matcher.answer_entry("phone", TODAY)
    assert answer is not None and answer.matched and "13210876217" in answer.text


def test_deadline_is_computed_for_the_current_quarter(matcher: Matcher) -> None:
    text = ask(matcher, "清单什么时候截止？").text
    assert "本季度（2026Q4）企业提交清单的截止日期是2026年10月16日（星期五，第3周）" in text
    assert "可联系延长一周至2026年10月23日" in text


def test_deadline_after_it_passed_names_next_quarter(matcher: Matcher) -> None:
    text = ask(matcher, "清单什么时候截止？", D(2026, 10, 20)).text
    assert "2026年10月16日已过" in text
    assert "已联系延期的最晚可至2026年10月23日" in text
    assert "下季度（2027Q1）企业提交清单的截止日期是2027年1月15日" in text
    text = ask(matcher, "清单什么时候截止？", D(2026, 11, 20)).text
    assert "最晚可至" not in text


def test_deadline_of_a_named_quarter_uses_published_fact(matcher: Matcher) -> None:
    text = ask(matcher, "2025年第二季度的清单什么时候截止？").text
    assert "2025年4月18日" in text
    assert "该期限已过" in text
    assert "本季度（2026Q4）" in text
    assert "2026年4月17日" in ask(matcher, "2026Q2清单截止日期", D(2026, 1, 5)).text
    assert "下季度（2027Q1）" in ask(matcher, "下季度清单什么时候截止").text


@pytest.mark.parametrize(
    ("question", "quarter"),
    [
        ("2025年第二季度截止", "2025Q2"),
        ("2027Q3的截止日期", "2027Q3"),
        ("今年第一季度截止日期", "2026Q1"),
        ("明年二季度什么时候截止", "2027Q2"),
        ("上一季度的截止日期", "2026Q3"),
        ("下个季度截止", "2027Q1"),
    ],
)
def test_deadline_of_named_quarters(matcher: Matcher, question: str, quarter: str) -> None:
    expected = cycle.format_date(cycle.deadline(quarter, FACTS).date)
    assert expected in ask(matcher, question).text


def test_every_quarter_is_not_a_named_quarter(matcher: Matcher) -> None:
    text = ask(matcher, "每一季度清单什么时候截止").text
    assert text.startswith("本季度（2026Q4）企业提交清单的截止日期是2026年10月16日")


def test_week_question_gives_date_range(matcher: Matcher) -> None:
    text = ask(matcher, "这个季度第几周路演？").text
    assert "本季度（2026Q4）第5周（2026年10月26日—11月1日）：路演交流" in text
    assert "今天（2026年10月5日）是本季度（2026Q4）第2周" in text
    later = ask(matcher, "路演在什么时候", D(2026, 11, 20)).text
    assert "第5周已过" in later and "下季度（2027Q1）第5周为2027年1月25日—1月31日" in later


def test_answers_stay_correct_over_two_years(matcher: Matcher) -> None:
    day = D(2026, 1, 1)
    while day < D(2028, 1, 1):
        text = ask(matcher, "清单什么时候截止", day).text
        assert "截止日期是" in text and "来源：" in text
        day += dt.timedelta(days=3)


def test_huge_question_is_answered_from_its_head(matcher: Matcher) -> None:
    huge = "创新联合体" * 2_000_000  # 10 million characters
    # only the cut head is ever looked at, so the cost does not grow with the message
    assert ask(matcher, huge).text == ask(matcher, huge[:10_000]).text


def test_empty_base_declines() -> None:
    empty = Matcher(PolicyBase(documents={}, faqs=()))
    answer = empty.answer("清单什么时候截止", TODAY)
    assert not answer.matched and answer.alternatives == ()
    assert "13210876217" in answer.text


@pytest.fixture(scope="module")
def real() -> Matcher:
    """The matcher over the shipped policy data."""
    return Matcher(load_policy_base())


@pytest.mark.parametrize("question", ["人社局电话多少", "公安局的电话", "税务局电话多少", "教育局的咨询电话"])
def test_another_offices_phone_is_declined_not_answered_with_ours(real: Matcher, question: str) -> None:
    answer = ask(real, question)
    assert not answer.matched
    assert "85911985" not in answer.text and "81288953" not in answer.text


@pytest.mark.parametrize(
    ("question", "phone"),
    [
        ("市科技局创新联合体的咨询电话？", "85911985"),
        ("科技局电话", "85911985"),
        ("山东省科技厅热线", "81288953"),
    ],
)
def test_the_offices_we_know_are_still_answered(real: Matcher, question: str, phone: str) -> None:
    answer = ask(real, question)
    assert answer.matched and phone in answer.text


@pytest.mark.parametrize("question", ["专利申请流程", "博士后工作站申报条件", "技术合同登记流程", "你是谁"])
def test_a_question_about_something_the_entry_never_mentions_is_declined(
    real: Matcher, question: str
) -> None:
    # Each shares a generic tail or a topic word with an entry ("申请流程", "工作站", "技术合同"),
    # but its own subject (专利, 申报条件, 登记流程) appears nowhere in that entry.
    assert not ask(real, question).matched


@pytest.mark.parametrize(
    ("question", "must"),
    [
        ("企业技术骨干可以去高校当什么", "产业教授"),  # asked in the answer's own words
        ("新区的研发贷是什么", "研发贷"),  # a product named only in an answer
        ("我们是一家企业想知道清单截止了还能补交吗", "延长"),  # chatty: boundary bigrams do not dilute
        ("首批科创平台是那天挂出来的", "3月18日"),  # 那 for 哪, 挂出来 for 发布
    ],
)
def test_facts_stated_only_in_an_answer_are_found(real: Matcher, question: str, must: str) -> None:
    answer = ask(real, question)
    assert answer.matched and must in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "省级中试示范基地每年具体奖补多少钱",
        "高校理事会秘书处办公地址在哪 几点上班",
        "莱西市科协的联系电话是多少",
        # Kinds no passage states though the topic is found: a venue, a contact's name, a template,
        # a sanction, an age limit, an upper bound where only a minimum is set, a loan's own terms,
        # the next edition of a one-off event.
        "路演活动在哪里举行",
        "平台联系人叫什么名字",
        "清单交晚了要罚款吗",
        "牵头单位负责人有年龄要求吗",
        "创新联合体成员单位上限是几家",
        "鲁科贷能贷多少",
        "莱创汇沙龙下一期什么时候",
        "开放共享平台开账号要带哪些材料",
    ],
)
def test_a_fact_the_documents_never_state_is_declined(real: Matcher, question: str) -> None:
    assert not ask(real, question).matched


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("科技成果转化贷款贴息最多多少钱", "50万"),
        ("古镇口平台地址", "qddxcyqgx"),
        ("卓越工程师学院是哪个厅负责", "教育厅"),
        ("省级中试示范基地的奖补标准是怎样的", "一定资金"),
        ("结对共建咨询电话是几号", "13210876217"),  # a phone number, not a date
        ("环高校人才创新圈有几个", "四大"),
        ("莱西科协培训惠及多少家企业", "1000余家"),  # the citation names 莱西市科协
        ("创新联合体建设方案有没有模板", "参考提纲"),
        ("下季度清单什么时候交", "2027年1月15日"),  # the next quarter's deadline is computed
        ("牵头单位不履职会有什么后果", "不得"),
        ("联合体备案要交哪些材料", "申报材料"),
        (
            "创新联合体成立以后还能新增成员单位吗",
            "补充协议",
        ),  # 新增成员 is the documents' 增减成员  # a consequence: the entry that states a sanction
    ],
)
def test_the_same_kinds_of_question_are_answered_when_the_documents_do_state_it(
    real: Matcher, question: str, fact: str
) -> None:
    answer = ask(real, question)
    assert answer.matched and fact in answer.text


@pytest.mark.parametrize(
    ("question", "band"),
    [
        ("科普信息员有问题打哪个电话", "suggest"),
        ("贴息政策的截止日期", "decline"),
        ("养老保险缴费截止日期", "decline"),
    ],
)
def test_a_fact_asked_about_another_subject_is_not_answered_confidently(
    real: Matcher, question: str, band: str
) -> None:
    # The asking words (打哪个电话, 截止日期) fit the programme's phone or deadline entry, but the
    # subject is one that entry never mentions: another entry's (科普信息员) is suggested with the
    # runners-up, one no entry mentions (养老保险缴费) is declined. The list's computed deadline is
    # never offered for another subject (贴息): the decline lists that subject's topic instead.
    answer = ask(real, question)
    assert answer.band == band
    if question.startswith("贴息"):
        assert "sd-m13-loan" in [e.id for e in answer.alternatives]


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("结对共建有问题打哪个电话", "13210876217"),
        ("区校联动热线是多少", "81288953"),
        ("创新联合体有问题打哪个电话", "85911985"),  # the guideline's own consultation line
    ],
)
def test_a_fact_asked_about_the_entrys_own_subject_is_answered(
    real: Matcher, question: str, fact: str
) -> None:
    answer = ask(real, question)
    assert answer.band == "confident" and fact in answer.text


@pytest.mark.parametrize(
    "question",
    [
        # The last clause alone ("对高校院所有什么条件") fits the marine-institutes entry better; the
        # context (创新联合体, 成员) decides.
        "我们研究院打算以成员身份加入创新联合体，对高校院所有什么条件",
        # The asker's own unit (研究中心) is context, not an office whose rule is asked.
        "我们是家高校的研究中心，想作为成员单位加入创新联合体，高校院所要满足什么？",
    ],
)
def test_a_long_question_keeps_the_subject_of_its_context(real: Matcher, question: str) -> None:
    answer = ask(real, question)
    assert answer.band == "confident" and answer.entry is not None
    assert answer.entry.id == "union-member-conditions"


@pytest.mark.parametrize(
    "question",
    [
        "联合体备案名单要公示几天",  # a span of days the documents never give
        "莱西2026年要培育多少家高企",  # a year the entry never mentions
        "人才新政申请截止到哪天",  # another subject's deadline: not the list's computed one
        "共享平台的账号密码是多少",  # no document states a password
    ],
)
def test_a_kind_of_fact_the_best_entry_lacks_is_declined(real: Matcher, question: str) -> None:
    assert ask(real, question).band == "decline"


def test_a_clear_lead_at_a_modest_score_is_answered(real: Matcher) -> None:
    # A modest score, but far ahead of every other entry and using the question's words.
    answer = ask(real, "新区跟香港合办的科教园培养什么层次的学生")
    assert answer.score < 40
    assert answer.band == "confident" and answer.entry is not None
    assert answer.entry.id == "xha-higher-education"


@pytest.mark.parametrize(
    ("question", "faq_id"),
    [
        ("有不清楚的地方该打哪个电话", "secretariat-phone"),  # the prompt of the call is no subject
        ("这个方案的发文字号是什么", "sd-doc"),  # an attribute of the document, not what a thing is
    ],
)
def test_fact_questions_with_everyday_framing_are_answered(real: Matcher, question: str, faq_id: str) -> None:
    answer = ask(real, question)
    assert answer.band == "confident" and answer.entry is not None and answer.entry.id == faq_id


def test_government_in_general_is_not_an_office() -> None:
    assert named_offices("首台套装备政府会带头采购吗") == []
    assert named_offices("莱西市政府电话") == ["西市政府"]


def test_a_verb_before_an_office_suffix_names_no_particular_office() -> None:
    not_names = retrieval.verb_like_words()
    assert named_offices("想了解科协推了什么", not_names) == ["科协"]
    assert named_offices("去年科协走访了多少企业", not_names) == ["科协"]
    assert named_offices("莱西科协电话", not_names) == ["莱西科协"]
    assert named_offices("服务中心在哪", not_names) == ["服务中心"]
    # Going to a bank is no particular bank; 去税务局 still names the tax office.
    assert named_offices("专利拿去银行融资") == []
    assert named_offices("去税务局办") == ["务局"]
    assert named_offices("除了上法院还能怎么解决") == []


def test_the_kind_of_fact_asked_for_is_read_where_the_question_asks(real: Matcher) -> None:
    # "责任单位" is the asker's own unit, not a question about who is in charge.
    answer = ask(real, "我是区里招商责任单位的工作人员，每季度第一周是谁、做什么？")
    assert answer.band != "decline" and answer.entry is not None
    assert answer.entry.id == "week1-university-list"
