"""Issue 10: three confidence bands, fact-kind declines, and paraphrase / Traditional / typo cases.

The questions here are new (in none of the measured sets), so they check behaviour, not tuning.
"""

from __future__ import annotations

import datetime as dt

import pytest

from policies.loader import DEFAULT_DATA_DIR, load_policy_base
from policies.matcher import Matcher, official_terms

TODAY = dt.date(2026, 10, 5)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_policy_base(DEFAULT_DATA_DIR))


def test_confident_band_answers_alone(matcher: Matcher) -> None:
    answer = matcher.answer("秘书处电话多少", TODAY)
    assert answer.band == "confident" and answer.matched
    assert "13210876217" in answer.text and not answer.text.startswith("您是不是想问")


def test_suggest_band_shows_the_best_answer_and_two_runners_up(matcher: Matcher) -> None:
    # Two words that fit several topics: the best guess, shown with its source, and two runners-up.
    answer = matcher.answer("合作平台", TODAY)
    assert answer.band == "suggest" and not answer.matched
    assert answer.entry is not None
    assert answer.text.startswith(f"您是不是想问：「{answer.entry.topic}」\n")
    assert "中试验证" in answer.text and "来源：" in answer.text
    assert len(answer.alternatives) == 2 and answer.entry not in answer.alternatives


def test_decline_band_offers_topics_and_the_phone(matcher: Matcher) -> None:
    answer = matcher.answer("明天青岛刮大风吗", TODAY)
    assert answer.band == "decline" and answer.entry is None
    assert "13210876217" in answer.text and len(answer.alternatives) == 3


@pytest.mark.parametrize(
    "question",
    [
        "开放共享平台的客服电话多少",  # a phone the platform entry does not state
        "首台套保险补偿的比例是多少",  # a ratio the insurance entry does not state
        "第五周路演在哪个会议室",  # a room the roadshow entry does not state
        "秘书处的邮箱",  # an e-mail address the documents never give
        "科技副总每个月有多少补贴",  # an amount the secondment entry does not state
    ],
)
def test_a_question_for_a_fact_the_best_entry_lacks_is_declined(matcher: Matcher, question: str) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "decline", (question, answer.text)


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("萊西的高企有幾家", "216"),  # Traditional script + an everyday abbreviation
        ("联和体最少要拉几个学校", "2家"),  # a typo + 学校 for 高校院所
        ("跟大学一起建中试基地企业能先用吗", "优先使用权"),  # everyday words for the official terms
        ("鲁科贷的帖息比例", "40%"),  # a homophone typo
    ],
)
def test_paraphrases_typos_and_traditional_script_are_answered(
    matcher: Matcher, question: str, fact: str
) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band in ("confident", "suggest") and fact in answer.text, (question, answer.text)


def test_everyday_words_become_the_documents_terms() -> None:
    assert official_terms("跟学校一块建") == "跟高校共建"
    assert "大学城" in official_terms("古镇口大学城")  # a proper name is left alone


@pytest.mark.parametrize(
    "question",
    [
        "古镇口大学城的院长是谁",  # a person's name: no document names anyone
        "秘书处传真多少",  # a fax number no document gives
        "鲁科贷的申请条件和认定标准有哪些",  # criteria the loan entry does not state
        "创新券在哪个网页怎么注册",  # how to register on a site: no entry describes it
        "区人才服务中心电话",  # an office (…中心) the secretariat entry never mentions
    ],
)
def test_new_fact_kinds_and_unknown_actions_are_declined(matcher: Matcher, question: str) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "decline", (question, answer.text)


def test_the_fact_asked_for_comes_first_then_the_passage_and_its_source(matcher: Matcher) -> None:
    answer = matcher.answer("成果转化贷款贴息，一家企业封顶能拿多少？", TODAY)
    assert answer.band == "confident"
    first, *rest = answer.text.splitlines()
    assert first == "金额：单个企业最高50万元" and answer.facts == (("amount", "单个企业最高50万元"),)
    assert "40%" in "\n".join(rest) and rest[-1].startswith("来源：")
    # a question that asks no fact gets the passage alone
    plain = matcher.answer("鲁科贷是什么", TODAY)
    assert plain.facts == () and not plain.text.startswith("金额")


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("联合体被案有效期几年", "3年"),  # homophone typo 被案 for 备案
        ("清但每季度第几周提交", "第3周"),  # homophone typo 清但 for 清单
        ("秘书初的联系电话", "13210876217"),  # homophone typo 秘书初 for 秘书处
    ],
)
def test_homophone_typos_are_read_as_the_word_they_sound_like(
    matcher: Matcher, question: str, fact: str
) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "confident" and fact in answer.text, (question, answer.text)


def test_a_long_question_with_context_is_answered_from_its_question_clause(matcher: Matcher) -> None:
    question = (
        "老师您好，我们是黄岛一家做新材料的小公司，去年刚评上科技型中小企业，"
        "最近想跟大学合作做个中试，请问创新联合体里高校院所最少要几家？"
    )
    answer = matcher.answer(question, TODAY)
    assert answer.band == "confident" and "2家" in answer.text, answer.text


def test_homophone_correction_leaves_real_words_alone(matcher: Matcher) -> None:
    # 科协 is a word of the base: "科协主席" must not become "科些主席"
    assert "科协" in matcher._homophones.fix("莱西市科协主席是谁")


@pytest.mark.parametrize("question", ["什么是人工智能", "元宇宙是什么意思"])
def test_a_what_is_question_about_a_thing_no_entry_is_about_is_declined(
    matcher: Matcher, question: str
) -> None:
    # 人工智能 is only one of a college's fields in the documents; nothing explains it.
    answer = matcher.answer(question, TODAY)
    assert answer.band == "decline" and "13210876217" in answer.text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("什么是结对共建", "高能级科创平台"),
        ("莱创汇是干啥的", "科技沙龙"),
        ("企业找技术成果找市场是什么意思", "双向揭榜挂帅"),  # a term the answer quotes
    ],
)
def test_a_what_is_question_about_an_entrys_subject_is_answered(
    matcher: Matcher, question: str, expected: str
) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "confident" and expected in answer.text


@pytest.mark.parametrize(
    "question", ["新区去年的生产总值是多少", "高企的所得税税率是多少", "石油大学负责对接的老师叫什么"]
)
def test_a_figure_rate_or_person_the_documents_never_state_is_declined(
    matcher: Matcher, question: str
) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "decline" and "13210876217" in answer.text


def test_who_chooses_a_consortium_head_is_still_answered(matcher: Matcher) -> None:
    answer = matcher.answer("联合体负责人是谁选的", TODAY)
    assert answer.band == "confident" and "牵头单位" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "结对共建项目有没有资金补贴",  # the programme's description speaks of no money
        "莱创汇下一期什么时候举办",  # no date of a coming salon is stated
        "博汇莱直通车怎么报名",  # no entry describes signing up
        "西海岸新区管委的电话是多少",  # an office whose phone no entry gives
    ],
)
def test_money_dates_sign_up_and_offices_the_best_entry_lacks_are_declined(
    matcher: Matcher, question: str
) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "decline" and "13210876217" in answer.text


def test_money_an_entry_does_state_is_still_answered(matcher: Matcher) -> None:
    answer = matcher.answer("买鲁科保有补贴吗", TODAY)
    assert answer.band == "confident" and "保费补贴" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "莱创汇沙龙一般几月份举办",  # no month is stated
        "产业教授聘期几年",  # no term of office is stated
        "科技成果直通车上签约的是哪三家企业",  # counted (3家), never named
        "科普信息员当了有报酬吗",  # no pay is stated
        "科技副总在企业的任期有多长",
    ],
)
def test_a_month_term_names_or_pay_the_best_entry_lacks_are_declined(matcher: Matcher, question: str) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "decline", (question, answer.text)


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("区校联动方案由哪个厅牵头制定", "省科技厅牵头"),  # the office in charge, not the tasks' 链主企业
        ("联合体的事归市科技局哪个处", "重大专项处"),  # the division, not the filing entry
        ("一体改革到哪一年初步形成融合格局", "2028"),  # the target year, not the issue date
        ("海工院所里要创新运行模式的是哪两家", "中船海装院"),  # institutions a passage lists
        ("开放共享平台用的哪个端口", "9001"),  # the port of the address the entry gives
    ],
)
def test_the_entry_stating_the_office_division_year_or_names_asked_is_answered(
    matcher: Matcher, question: str, fact: str
) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "confident" and fact in answer.text, (question, answer.text)


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("职业学校和企业能联合招学生吗", "职业院校"),  # 职业学校 -> 职业院校, 招学生 -> 招生
        ("高新区至少和几家高校结对，起码一家吗", "至少与1家高校"),  # 起码 -> 至少
        ("联合体备案满期了还能再申请吗", "重新申请备案"),  # 满期 -> 期满, 再申请 -> 重新申请备案
        ("清单来不及交了还有补救办法吗", "延长一周"),  # lateness -> 延期
        ("季度最后一周会出什么", "贡献度榜单"),  # 最后一周 -> 第六周
        ("新区一体改革哪一年要见效", "2028"),
    ],
)
def test_everyday_words_for_rounds_lateness_and_minimums_are_answered(
    matcher: Matcher, question: str, fact: str
) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "confident" and fact in answer.text, (question, answer.text)


@pytest.mark.parametrize(
    "question",
    [
        # "服务站，科协…": the clause break must not glue 务站 onto 科协 as an office the entry lacks.
        "听说莱西在各镇街建了服务站，科协靠这个发动了多少人注册科普信息员？",
        # "他们科协" is the 科协 the entry speaks of, not an office called 他们科协.
        "他们科协一共发动了多少市民注册科普信息员",
        # A verb or time word before 科协 names no other 科协 (jieba's part-of-speech tags say so).
        "我是莱西镇街的干部，想了解一下科协一共发动了多少市民注册科普信息员？",
        "听说去年科协发动了不少市民注册科普信息员，一共多少人？",
    ],
)
def test_an_office_is_read_within_one_clause_and_without_a_pronoun(matcher: Matcher, question: str) -> None:
    answer = matcher.answer(question, TODAY)
    assert answer.band == "confident"
    assert answer.entry is not None and answer.entry.id == "laixi-kechuang-china"
    assert "24000" in answer.text
