"""Issue 7, items 10-12 and the all-zero credit code of 14: what users type into the form.

Item 10: control and invisible characters are stripped (`validators.clean_input`) before anything is
stored, and an answer made only of them is refused. Item 11: choice fields refuse junk, numbers,
跳过 on a required field and negations (不在建), accept aliases, Traditional script and close
spellings, and 其他 text must look like a name. Item 12: every odd-but-valid input the issue lists
is accepted and stored normalised. Item 14 (part): degenerate credit codes are refused.

The tables run through the real form definition (`policies/data/form.yaml`, aliases included); the
conversation tests drive the fully wired Application (handlers/app.py) on SQLite and PostgreSQL,
where a NUL character used to be accepted and then made every 提交 fail.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import sys
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from telegram.request import BaseRequest

from handlers.services import Services
from handlers.telegram.app import App, build_application
from policies import validators as v
from policies.form import DEFAULT_PATH, FormSession, FormSpec, FormSpecError
from policies.ports import Repository
from policies.settings import Settings
from policies.store import PolicyStore
from storage import SqlRepository
from storage.exports import export
from tests.harness import all_text, internal_id, last_text, offline_chat
from tests.offline import OfflineChat

TODAY = dt.date(2026, 11, 24)
SPEC = FormSpec.load(DEFAULT_PATH)
VALID_CODE = "91110000600037341L"
UPC = "中国石油大学（华东）"
USER = 10001

INVISIBLE = [
    "\x00", "\x01", "\x07", "\x1b", "\x7f", "\x9f",  # controls
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",  # zero-width, BOM, soft hyphen
    "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\u061c",  # bidi marks
    "\u3164", "\u115f", "\u1160", "\uffa0",  # Hangul fillers
    "\u2800", "\u034f", "\ufe0f", "\U000e0041", "\ue000", "\U000f0001",  # blank, selectors, tags, private
    "\ud800", "\udfff",  # lone surrogates
]  # fmt: skip


HIDDEN_LETTERS = frozenset("\u3164\u115f\u1160\uffa0\u2800")


def is_clean(value: Any) -> bool:
    """No control (other than \\n, \\t) or invisible character anywhere in a stored value."""
    text = "".join(value) if isinstance(value, list) else str(value)
    return all(
        (unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs") or ch in "\n\t")
        and ch not in HIDDEN_LETTERS
        for ch in text
    )


# --- item 10: clean_input -----------------------------------------------------------------------------


@pytest.mark.parametrize("ch", INVISIBLE)
def test_clean_input_removes_each_invisible_character(ch: str) -> None:
    assert v.clean_input(f"{ch}王{ch}老师{ch}") == "王老师"
    assert v.clean_input(ch * 5) == ""


def test_clean_input_keeps_lines_and_tabs_and_unifies_spaces() -> None:
    assert v.clean_input(" a\r\nb\rc\u2028d\te\u3000f\u00a0g ") == "a\nb\nc\nd\te f g"
    assert v.clean_input("") == "" and v.clean_input("普通文字，no change。") == "普通文字，no change。"


def test_clean_input_covers_every_format_character_unicodedata_knows() -> None:
    """The hand-written Cf list must cover what this Python's Unicode database calls Cf/Co/Cs/Cc."""
    missed = [
        hex(i)
        for i in range(sys.maxunicode + 1)
        if unicodedata.category(chr(i)) in ("Cf", "Co", "Cs", "Cc")
        and chr(i) not in "\t\n\r\x85"
        and v.clean_input(f"a{chr(i)}b") != "ab"
    ]
    assert missed == []


def test_clean_input_never_raises_and_is_cheap() -> None:
    rng = random.Random(10)
    for _ in range(300):
        text = "".join(chr(rng.randrange(0, sys.maxunicode + 1)) for _ in range(rng.randrange(0, 60)))
        out = v.clean_input(text)
        assert out == out.strip() and "\x00" not in out
    big = ("海洋\u200b装备\x00" * 200_000)[:1_000_000]
    assert len(v.clean_input(big)) < len(big)


@pytest.mark.parametrize("field", ["platform_name", "platform_contact", "university", "platform_phone",
                                   "credit_code", "enterprise_phone", "signed_on", "status"])  # fmt: skip
@pytest.mark.parametrize("raw", ["\u200b", "\u3164\u3164", "\ufeff \u200d", "\x00", "\u202e\u2066"])
def test_invisible_only_answer_is_refused_with_a_clear_message(field: str, raw: str) -> None:
    with pytest.raises(v.ValidationError) as err:
        SPEC[field].parse(raw, TODAY)
    assert "不能为空" in err.value.message and "不可见字符" in err.value.message


# --- items 11, 12, 14: odd-but-valid input accepted, junk refused -------------------------------------

ODD_BUT_VALID = [
    # phones
    ("platform_phone", "138.1234.5678", "13812345678"),
    ("platform_phone", "手机：13812345678", "13812345678"),
    ("platform_phone", "电话: 0532 8698 1234", "0532-86981234"),
    ("platform_phone", "0532-86981234转8001", "0532-86981234转8001"),
    ("platform_phone", "0532-86981234 分机 8001", "0532-86981234转8001"),
    ("platform_phone", "0532-86981234-8001", "0532-86981234转8001"),
    ("platform_phone", "400-810-1234", "400-810-1234"),
    ("platform_phone", "800 810 1234", "800-810-1234"),
    ("platform_phone", "138\u200b1234\u200b5678", "13812345678"),
    ("platform_phone", "\ufeff0532-86981234\u200b", "0532-86981234"),
    ("platform_phone", "“13812345678”。", "13812345678"),
    ("enterprise_phone", "138.1234.5678", "13812345678"),
    ("enterprise_phone", "手机：13812345678", "13812345678"),
    ("enterprise_phone", "手机号码 138-1234-5678", "13812345678"),
    ("enterprise_phone", "\u200e13812345678\u200f", "13812345678"),
    # credit codes
    ("credit_code", f"统一社会信用代码：{VALID_CODE}", VALID_CODE),
    ("credit_code", f"信用代码 {VALID_CODE}", VALID_CODE),
    ("credit_code", f"“{VALID_CODE}”", VALID_CODE),
    ("credit_code", f'"{VALID_CODE}"', VALID_CODE),
    ("credit_code", f"{VALID_CODE}。", VALID_CODE),
    ("credit_code", f"\u200b{VALID_CODE.lower()}\ufeff", VALID_CODE),
    # dates
    ("signed_on", "2025年4月", "2025-04"),
    ("signed_on", "2025-04", "2025-04"),
    ("signed_on", "2025/4", "2025-04"),
    ("signed_on", "2025年04月份", "2025-04"),
    ("signed_on", "二〇二五年四月十八日", "2025-04-18"),
    ("signed_on", "二零二五年十二月三十一日", "2025-12-31"),
    ("signed_on", "今天", "2026-11-24"),
    ("signed_on", "昨天", "2026-11-23"),
    ("signed_on", "25/4/18", "2025-04-18"),
    ("signed_on", "25.4.18", "2025-04-18"),
    ("signed_on", "2025-04-18 14:30", "2025-04-18"),
    ("signed_on", "2025-04-18T14:30:00", "2025-04-18"),
    ("signed_on", "2025年4月18日 下午两点", "2025-04-18"),
    ("signed_on", "2025年4月18日（星期五）", "2025-04-18"),
    ("signed_on", "2025-04-18 周五 14:30", "2025-04-18"),
    ("signed_on", "签约日期：2025年4月18日。", "2025-04-18"),
    ("signed_on", "2025\u200b-04-18", "2025-04-18"),
    # choices: aliases, script, close spellings
    ("university", "石大", UPC),
    ("university", "中国石油大学(华东)", UPC),
    ("university", "中国石油大学华冬", UPC),  # one wrong character
    ("university", "中國海洋大學", "中国海洋大学"),
    ("university", "山东科大", "山东科技大学"),
    ("university", "海洋所", "中国科学院海洋研究所"),
    ("university", "\u200b石大\u200b", UPC),
    ("university", "青岛大学", "青岛大学"),  # another university, as 其他 text (not 青岛理工大学)
    ("university", "北京航空航天大学青岛研究院", "北京航空航天大学青岛研究院"),
    ("university", "中国石油大学（北京）", "中国石油大学（北京）"),  # another one, not 华东
    ("university", "中国石油大学华东校区", UPC),
    ("university", "青岛科技大学", "青岛科技大学"),  # not 青岛理工大学
    ("platform_type", "中试平台", "中试验证平台"),
    ("platform_type", "工程技术研究中心", "中心"),
    ("platform_type", "产业技术研究院", "产业技术研究院"),  # 其他
    ("district", "中德园", "中德生态园"),
    ("district", "古镇口", "青岛古镇口军民融合创新示范区"),
    ("district", "灵山卫街道", "灵山卫街道"),  # 其他
    ("status", "洽談中", "洽谈中"),
    ("status", "在建中", "在建"),
    ("status", "目前在建", "在建"),
    ("status", "已簽約", "已签约"),
    ("status", "4", "在建"),
    ("cooperation_forms", "技术研发和中试验证", ["技术研发", "中试验证"]),
    ("cooperation_forms", "技术研发及中试验证", ["技术研发", "中试验证"]),
    ("cooperation_forms", "技术研发与订单班", ["技术研发", "订单班"]),
    ("cooperation_forms", "中试验证、技术研发", ["技术研发", "中试验证"]),
    ("cooperation_forms", "技术研发,中试验证;订单班", ["技术研发", "中试验证", "订单班"]),
    ("cooperation_forms", "技术研发 中试验证", ["技术研发", "中试验证"]),
    ("cooperation_forms", "技术研发、中试验证等", ["技术研发", "中试验证"]),
    ("cooperation_forms", "技术研发中试验证", ["技术研发", "中试验证"]),
    ("cooperation_forms", "研发、中试、博士后工作站", ["技术研发", "中试验证", "院士专家博士后科研工作站"]),
    ("cooperation_forms", "技術研發", ["技术研发"]),
    # text with invisible characters
    ("platform_contact", "王\x00老师", "王老师"),
    ("platform_contact", "王老师\u200b\u200b", "王老师"),
    (
        "project_content",
        "2025年4月签约，\r\n共建中试线\u202e并开展验证",
        "2025年4月签约，\n共建中试线并开展验证",
    ),
]


@pytest.mark.parametrize(("field", "raw", "expected"), ODD_BUT_VALID)
def test_odd_but_valid_input_is_accepted_and_normalised(field: str, raw: str, expected: Any) -> None:
    assert SPEC[field].parse(raw, TODAY) == expected


JUNK = [
    # item 11: choice fields
    ("university", "12", "不是可选的"),
    ("university", "-1", "不像"),
    ("university", "ab", "不像"),
    ("university", "0", "不是可选的"),
    ("university", "？？", "不像"),
    ("university", "😀😀😀", "不像"),
    ("university", "啊啊啊啊", "不像"),
    ("university", "不知道", "请填写"),
    ("university", "科学", "至少 4 字"),
    ("university", "山东", "对应多个选项"),
    ("district", "12", "不是可选的"),
    ("district", "-1", "不像"),
    ("district", "无", "请填写"),
    ("platform_type", "ab", "不像"),
    ("platform_type", "12", "不是可选的"),
    ("status", "不在建", "不是可选的"),
    ("status", "在建吗", "不是可选的"),
    ("status", "未签约", "不是可选的"),
    ("status", "没有完成", "不是可选的"),
    ("status", "12", "不是可选的"),
    ("status", "-1", "不是可选的"),
    ("status", "ab", "不是可选的"),
    ("cooperation_forms", "共建实验室", "不是可选的"),
    ("cooperation_forms", "技术研发、ab", "不是可选的"),
    ("cooperation_forms", "15", "不是可选的"),
    ("cooperation_forms", "技术研发与ab", "不是可选的"),
    ("cooperation_forms", "、".join(["技术研发"] * 14), "最多 13 项"),
    # item 14: degenerate credit codes, even with a valid check digit
    ("credit_code", "000000000000000000", "不是有效的统一社会信用代码"),
    ("credit_code", "0000 0000 0000 0000 00", "不是有效的统一社会信用代码"),
    ("credit_code", "11111111111111111A", "校验位"),
    # dates and phones still refuse nonsense
    ("signed_on", "2025年4月18日（星期四）", "是星期五"),
    ("signed_on", "2026年12月", "晚于本月"),
    ("signed_on", "明天", "格式无法识别"),
    ("signed_on", "2025-13", "不是有效月份"),
    ("enterprise_phone", "0532-86981234转8001", "11位手机号"),
    ("platform_phone", "13812345678转8001", "没有分机号"),
    ("platform_phone", "abc13812345678", "电话号码不正确"),
]


@pytest.mark.parametrize(("field", "raw", "fragment"), JUNK)
def test_junk_is_refused_with_a_clear_message(field: str, raw: str, fragment: str) -> None:
    with pytest.raises(v.ValidationError) as err:
        SPEC[field].parse(raw, TODAY)
    assert fragment in err.value.message


def test_all_zero_code_has_a_valid_check_digit_yet_is_refused() -> None:
    from stdnum.cn import uscc

    assert uscc.is_valid("000000000000000000")  # the library alone would accept it
    with pytest.raises(v.ValidationError):
        v.validate_uscc("000000000000000000")


# --- fuzz: zero exceptions other than ValidationError, zero garbage accepted --------------------------

JUNK_ALPHABET = (
    "abcXYZ0123456789 -_.,;:!?@#$%^&*()[]{}<>/\\|'\"`~+=，。、；：？！（）【】《》“”‘’…—"
    "😀🔥👍❤\u200b\u200d\ufeff\u3164\u2800\x00\x01\x1b\x7f\u202e\u2066\ud800\udfff\ue000\t\n\r"
)


def junk(rng: random.Random) -> str:
    """Random text without Han characters: nothing a choice, name or date may accept."""
    size = rng.choice([0, 1, 2, 3, 5, 8, 13, 40, 200, 5000])
    return "".join(rng.choice(JUNK_ALPHABET) for _ in range(size))


def _any_unicode(rng: random.Random) -> str:
    return "".join(chr(rng.randrange(0, sys.maxunicode + 1)) for _ in range(rng.randrange(1, 30)))


DATE_SHAPE = re.compile(r"\d{4}-\d{2}(-\d{2})?")


@pytest.mark.parametrize("field", [f.id for f in SPEC.fields])
def test_fuzz_every_field(field: str) -> None:
    """Random junk (no Han characters) may only ever pick a button by its number or give a date
    written in digits; random code points never raise; nothing invisible is ever stored."""
    spec = SPEC[field]
    rng = random.Random(f"issue7-{field}")
    junk_cases = [junk(rng) for _ in range(250)]
    junk_cases += ["\x00" * 10, "\u200b" * 4097, "1" * 4097, "跳过", "其他", "\ud800" * 3, "-1", "0"]
    for raw in junk_cases + [_any_unicode(rng) for _ in range(100)] + ["字" * 4097]:
        try:
            value = spec.parse(raw, TODAY)
        except v.ValidationError as exc:
            assert exc.message and "\x00" not in exc.message
            continue
        assert is_clean(value), (raw, value)
        typed = v.clean(raw)
        if spec.type == "choice":
            assert value in spec.choices or len(v._HAN.findall(value)) >= 2, (raw, value)
            assert raw not in junk_cases or typed.isdigit(), (raw, value)
        if spec.type == "multi":
            assert set(value) <= set(spec.choices), (raw, value)
            assert raw not in junk_cases or re.fullmatch(r"[\d\s,;/、，；+&]+", typed), (raw, value)
        if spec.type == "date":
            assert DATE_SHAPE.fullmatch(value), (raw, value)
            assert raw not in junk_cases or re.fullmatch(r"[\d\s./\-:]+", typed), (raw, value)
        if spec.type == "uscc":
            assert raw not in junk_cases, (raw, value)


# --- the form: skip words, negation, 其他 text, aliases in form.yaml ----------------------------------


def session_at(field: str) -> FormSession:
    session = FormSession.new(SPEC)
    session.current, session.mode = field, "field"
    return session


def test_typing_skip_on_a_required_choice_is_refused_not_stored() -> None:
    session = session_at("university")
    step = session.answer_text("跳过", TODAY)
    assert "为必填项，不能跳过" in step.replies[0].text
    assert "university" not in session.answers and session.current == "university"
    step = session.answer_text("\u200b跳过\u200b", TODAY)
    assert "不能跳过" in step.replies[0].text and "university" not in session.answers


def test_not_under_construction_is_not_stored_as_under_construction() -> None:
    session = session_at("status")
    step = session.answer_text("不在建", TODAY)
    assert "不是可选的项目状态" in step.replies[0].text and "status" not in session.answers


def test_other_text_naming_a_listed_choice_is_that_choice_and_junk_is_refused() -> None:
    session = session_at("university")
    session.press(f"f:c:{SPEC['university'].choices.index('其他')}:university")
    step = session.answer_text("12", TODAY)
    assert "不像驻区高校/科研机构的名称" in step.replies[0].text and session.mode == "other"
    session.answer_text("石大", TODAY)
    assert session.answers["university"] == UPC


def test_multi_other_text_must_be_a_name() -> None:
    session = session_at("cooperation_forms")
    forms = SPEC["cooperation_forms"].choices
    session.press(f"f:t:{forms.index('技术研发')}:cooperation_forms")
    session.press(f"f:t:{forms.index('其他')}:cooperation_forms")
    session.press("f:done:cooperation_forms")
    step = session.answer_text("?!", TODAY)
    assert "不像共建形式的名称" in step.replies[0].text
    session.answer_text("共建联合实验室", TODAY)
    assert session.answers["cooperation_forms"] == ["技术研发", "共建联合实验室"]


@pytest.mark.parametrize(
    ("aliases", "problem"),
    [
        ("{甲: [a]}", "'甲' is not a listed choice"),
        ("{x: [a], y: [A]}", "names both 'x' and 'y'"),
        ("[a]", "'aliases' must map a choice"),
        ("{x: a}", "'aliases' must map a choice"),
    ],
)
def test_bad_aliases_in_form_yaml_are_reported(tmp_path: Path, aliases: str, problem: str) -> None:
    path = tmp_path / "form.yaml"
    path.write_text(
        "fields:\n  - id: a\n    label: A\n    prompt: p\n    type: choice\n"
        f"    choices: [x, y]\n    aliases: {aliases}\n",
        encoding="utf-8",
    )
    with pytest.raises(FormSpecError, match=problem):
        FormSpec.load(path)


# --- month-only signing dates in exports -------------------------------------------------------------


async def test_month_only_signing_date_is_exported_as_month_text(repo: SqlRepository, tmp_path: Path) -> None:
    """`2025-04` keeps its precision: xlsx and csv show the text 2025-04, not a made-up day."""
    fields = {
        "university": UPC, "platform_name": "海洋装备中试平台", "enterprise_name": "青岛甲科技有限公司",
        "credit_code": VALID_CODE, "project_name": "防腐涂层中试", "status": "已签约",
        "signed_on": SPEC["signed_on"].parse("2025年4月", TODAY),
    }  # fmt: skip
    await repo.create_entry(1, "2026Q4", fields)
    (book,) = (await export(repo, by="university", quarter="2026Q4", fmt="xlsx", out=tmp_path)).paths
    ws = openpyxl.load_workbook(book).active
    headers = [c.value for c in ws[1]]
    cell = ws.cell(2, headers.index("签约时间") + 1)
    assert cell.value == "2025-04" and cell.data_type == "s"
    out = tmp_path / "csv"
    out.mkdir()
    (sheet,) = (await export(repo, by="university", quarter="2026Q4", fmt="csv", out=out)).paths
    assert ",2025-04," in sheet.read_text(encoding="utf-8-sig")


# --- through the fully wired application --------------------------------------------------------------


@pytest.fixture(scope="module")
def policies() -> PolicyStore:
    store = PolicyStore(Settings().policy_dir)
    store.load()
    return store


@pytest.fixture
async def chat(repo: Repository, policies: PolicyStore) -> AsyncIterator[OfflineChat]:
    svc = Services(settings=Settings(today_override=TODAY), repo=repo, policies=policies)

    def build(request: BaseRequest) -> App:
        return build_application(svc, request=request, schedule_reminders=False)

    async with offline_chat(build) as c:  # type: ignore[arg-type]
        yield c


async def test_invisible_answer_is_reasked_and_shi_da_is_the_university(chat: OfflineChat) -> None:
    await chat.send("/fill")
    replies = await chat.send("石大")
    assert f"已记录 驻区高校/科研机构：{UPC}" in last_text(replies)
    replies = await chat.send("\u200b\u200b")
    assert "不可见字符" in last_text(replies) and "科创平台名称" in last_text(replies)
    replies = await chat.send("\u3164")
    assert "不可见字符" in last_text(replies) and "已记录" not in all_text(replies)


async def test_odd_answers_through_the_app_are_stored_normalised_and_submit_works(
    chat: OfflineChat, repo: Repository
) -> None:
    """A NUL in an answer used to pass validation and then fail every 提交 on PostgreSQL."""
    await chat.send("/fill")
    answers = [
        ("石大", "驻区高校/科研机构：中国石油大学（华东）"),
        ("海洋装备\x00中试平台", "科创平台名称：海洋装备中试平台"),
        ("中试平台", "平台类型：中试验证平台"),
        ("王\x00老师\u200b", "平台联系人：王老师"),
        ("0532-86981234转8001", "平台联系电话：0532-86981234转8001"),
        ("\ufeff青岛海科智能装备有限公司", "企业名称：青岛海科智能装备有限公司"),
        (f"统一社会信用代码：{VALID_CODE}。", f"统一社会信用代码：{VALID_CODE}"),
        ("李娜", "企业联系人：李娜"),
        ("手机：138.1234.5678", "企业联系人手机：13812345678"),
    ]
    for typed, recorded in answers:
        replies = await chat.send(typed)
        assert f"已记录 {recorded}" in last_text(replies), last_text(replies)
    replies = await chat.send("跳过")
    assert "不能跳过" in last_text(replies) and "所属功能区/镇街" in last_text(replies)
    for typed, recorded in [
        ("中德园", "所属功能区/镇街：中德生态园"),
        ("海洋装备防腐涂层中试验证", "共建项目名称：海洋装备防腐涂层中试验证"),
        ("技术研发和中试验证", "共建形式：技术研发、中试验证"),
        ("2025年4月与石油大学签约，共建防腐涂层中试线", "项目内容"),
        ("2025年4月", "签约时间：2025-04"),
    ]:
        replies = await chat.send(typed)
        assert f"已记录 {recorded}" in last_text(replies), last_text(replies)
    replies = await chat.send("不在建")
    assert "不是可选的项目状态" in last_text(replies) and "已记录" not in all_text(replies)
    replies = await chat.send("在建中")
    assert "已记录 项目状态：在建" in last_text(replies)
    replies = await chat.send("已完成中试样机调试\x00")
    assert "请核对填报内容" in last_text(replies)
    replies = await chat.press("✅ 提交")
    assert "提交成功" in last_text(replies)
    (entry,) = await repo.entries_for_user(await internal_id(repo, USER))
    assert entry.platform_name == "海洋装备中试平台" and entry.university == UPC
    assert entry.fields["platform_contact"] == "王老师"
    assert entry.fields["signed_on"] == "2025-04"
    assert entry.fields["cooperation_forms"] == ["技术研发", "中试验证"]
    assert all(is_clean(value) for value in entry.fields.values())


async def test_nul_in_an_answer_no_longer_blocks_submit(chat: OfflineChat, repo: Repository) -> None:
    """Only the NUL differs from an ordinary filing: PostgreSQL used to refuse every 提交 afterwards."""
    await chat.send("/fill")
    await chat.press(UPC)
    await chat.send("海洋装备中试平台\x00")
    await chat.press("实验室")
    for typed in [
        "王\x00老师",
        "0532-86981234",
        "青岛海科智能装备有限公司",
        VALID_CODE,
        "李\x00娜",
        "13210876217",
    ]:
        replies = await chat.send(typed)
        assert "已记录" in last_text(replies), last_text(replies)
    await chat.press("中德生态园")
    await chat.send("海洋装备防腐涂层中试验证")
    await chat.press("☐ 技术研发")
    await chat.press("✅ 完成")
    await chat.send("2025年4月18日与石油大学签约，共建\x00防腐涂层中试线")
    await chat.send("2025-04-18")
    await chat.press("在建")
    replies = await chat.send("已完成中试样机调试\x00\x00")
    assert "请核对填报内容" in last_text(replies)
    replies = await chat.press("✅ 提交")
    assert "提交成功" in last_text(replies)
    (entry,) = await repo.entries_for_user(await internal_id(repo, USER))
    assert entry.fields["platform_contact"] == "王老师" and entry.fields["enterprise_contact"] == "李娜"
    assert all("\x00" not in str(value) for value in entry.fields.values())
    assert await repo.get_draft(await internal_id(repo, USER)) is None
