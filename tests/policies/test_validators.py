from __future__ import annotations

import datetime as dt

import pytest
from stdnum.cn import uscc

from policies import validators as v
from policies.validators import ValidationError

TODAY = dt.date(2026, 11, 24)
VALID_CODE = "91110000600037341L"  # python-stdnum's own doctest example


def test_uscc_example_in_messages_is_itself_valid() -> None:
    assert uscc.is_valid(v.USCC_EXAMPLE)
    with pytest.raises(ValidationError) as err:
        v.validate_uscc(v.USCC_EXAMPLE[:-1] + ("0" if v.USCC_EXAMPLE[-1] != "0" else "1"))
    assert v.USCC_EXAMPLE in err.value.message


@pytest.mark.parametrize(
    "raw",
    [
        VALID_CODE,
        "91110000600037341l",  # lower case
        "9111 0000 6000 3734 1L",  # spaces
        "911100006000-37341L",
        "９１１１００００６０００３７３４１Ｌ",  # full-width
        v.USCC_EXAMPLE,
    ],
)
def test_uscc_valid_codes_are_normalised(raw: str) -> None:
    assert uscc.is_valid(v.validate_uscc(raw))
    assert v.validate_uscc(raw) == v.validate_uscc(raw).upper().replace(" ", "")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("91110000600037341A", "校验位不正确"),
        ("9111000060003734", "应为18位，您输入了16位"),
        ("911100006000373411L", "应为18位"),
        ("A1110000600037341L", "格式不正确"),
        ("91110000600O37341L", "不含 I、O、Z、S、V"),
        ("   ", "不能为空"),
    ],
)
def test_uscc_invalid_codes_get_specific_messages(raw: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        v.validate_uscc(raw)
    assert fragment in err.value.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13210876217", "13210876217"),
        ("132 1087 6217", "13210876217"),
        ("+86 132-1087-6217", "13210876217"),
        ("１３２１０８７６２１７", "13210876217"),
    ],
)
def test_mobile_valid(raw: str, expected: str) -> None:
    assert v.validate_mobile(raw) == expected


@pytest.mark.parametrize(
    "raw", ["0532-86981234", "1321087621", "23210876217", "12345678901", "手机号", "+1 650 253 0000"]
)
def test_mobile_invalid(raw: str) -> None:
    with pytest.raises(ValidationError) as err:
        v.validate_mobile(raw)
    assert "11位手机号" in err.value.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0532-86981234", "0532-86981234"),
        ("(0532)86981234", "0532-86981234"),
        ("0532 8698 1234", "0532-86981234"),
        ("010-12345678", "010-12345678"),
        ("13210876217", "13210876217"),
    ],
)
def test_phone_accepts_landline_and_mobile(raw: str, expected: str) -> None:
    assert v.validate_phone(raw) == expected


def test_phone_without_area_code_is_told_to_add_it() -> None:
    with pytest.raises(ValidationError) as err:
        v.validate_phone("86981234")
    assert "区号" in err.value.message


@pytest.mark.parametrize("raw", ["0532-8698", "abc", "12345678901"])
def test_phone_invalid(raw: str) -> None:
    with pytest.raises(ValidationError) as err:
        v.validate_phone(raw)
    assert "例如" in err.value.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-04-18", "2025-04-18"),
        ("2025-4-18", "2025-04-18"),
        ("2025年4月18日", "2025-04-18"),
        ("2025 年 4 月 18 日", "2025-04-18"),
        ("2025年4月18号", "2025-04-18"),
        ("2025/4/18", "2025-04-18"),
        ("2025.4.18", "2025-04-18"),
        ("20250418", "2025-04-18"),
        ("４月１８日", "2026-04-18"),  # no year: this year
        ("4月18日", "2026-04-18"),
        ("2026-11-24", "2026-11-24"),  # today itself is fine
        ("2024-02-29", "2024-02-29"),
    ],
)
def test_date_formats(raw: str, expected: str) -> None:
    assert v.validate_date(raw, TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("2025-02-30", "不是有效日期"),
        ("2025-13-01", "不是有效日期"),
        ("2025年2月29日", "不是有效日期"),
        ("2026-11-25", "晚于今天"),
        ("12月1日", "晚于今天"),
        ("1899-01-01", "不合理"),
        ("去年春天", "格式无法识别"),
        ("2025-13", "不是有效月份"),
        ("2026-12", "晚于本月"),
    ],
)
def test_date_invalid(raw: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        v.validate_date(raw, TODAY)
    assert fragment in err.value.message


def test_date_future_allowed_when_asked() -> None:
    assert v.validate_date("2027-01-05", TODAY, allow_future=True) == "2027-01-05"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "不能为空"),
        (" \t\u3000 \n", "不能为空"),
        ("a", "至少 2 字"),
        ("很" * 11, "最多 10 字，当前 11 字"),
        ("x" * 5000, "超过 4096 字"),
    ],
)
def test_text_limits(raw: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        v.validate_text(raw, min_length=2, max_length=10)
    assert fragment in err.value.message


def test_text_is_trimmed_and_blank_runs_collapse() -> None:
    assert v.validate_text("  海洋  装备\u3000中试 ", max_length=20) == "海洋 装备 中试"


def test_oversize_input_refused_before_any_parsing() -> None:
    for func in (v.validate_uscc, v.validate_mobile, v.validate_phone):
        with pytest.raises(ValidationError, match="4096"):
            func("1" * 4097)
    with pytest.raises(ValidationError, match="4096"):
        v.validate_date("1" * 4097, TODAY)


UNIS = ("中国石油大学（华东）", "山东科技大学", "青岛理工大学", "山东大学（青岛）", "其他")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("中国石油大学(华东)", "中国石油大学（华东）"),  # half-width brackets
        ("石油大学", "中国石油大学（华东）"),
        ("2", "山东科技大学"),
        ("山东大学", "山东大学（青岛）"),
        ("青岛大学", "青岛大学"),  # not listed: accepted as 其他 text, not as 青岛理工大学
    ],
)
def test_choice_matching(raw: str, expected: str) -> None:
    assert v.validate_choice(raw, UNIS, allow_other=True) == expected


def test_choice_ambiguous_names_candidates() -> None:
    with pytest.raises(ValidationError) as err:
        v.validate_choice("山东", UNIS, allow_other=True)
    assert "山东科技大学" in err.value.message and "山东大学（青岛）" in err.value.message


def test_choice_without_other_refuses_unknown() -> None:
    with pytest.raises(ValidationError, match="请点击按钮选择"):
        v.validate_choice("已停工", ("意向", "洽谈中", "已签约"), label="项目状态")


def test_multi_typed_list() -> None:
    forms = ("技术研发", "中试验证", "订单班", "其他")
    assert v.validate_multi("订单班，技术研发", forms, allow_other=True) == ["技术研发", "订单班"]
    # typed items come only from the list; other text goes through the 其他 button
    with pytest.raises(ValidationError, match=r"不是可选的.*请点“其他”后输入"):
        v.validate_multi("技术研发、订单班，共建实验室", forms, allow_other=True)
    with pytest.raises(ValidationError, match="不是可选的"):
        v.validate_multi("技术研发、共建实验室", forms[:3], allow_other=False)
