"""Normalisation: what users type in different scripts and styles matches the same canonical form."""

from __future__ import annotations

import pytest

from policies.normalize import MAX_INPUT_CHARS, clean, normalize, tokenize, tokens


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("企業甚麼時候提交清單？", "企业什么时候提交清单"),
        ("創新聯合體需要幾家企業", "创新联合体需要几家企业"),
        ("请问，创新券可以怎么用呢？", "创新券可以怎么用"),
        ("你好！我想问一下贴息比例是多少啊 😀", "贴息比例是多少"),
        ("麻烦问一下　高校理事会 秘书处电话", "高校理事会秘书处电话"),
        ("ＡＢＣ１２３", "abc123"),
        ("2025年第二季度的清单截止？", "2025年第二季度的清单截止"),
        ("网址 https://qddxcyqgx.xihaian.gov.cn", "网址httpsqddxcyqgxxihaiangovcn"),
    ],
)
def test_normalize_canonical_form(typed: str, expected: str) -> None:
    assert normalize(typed) == expected


def test_traditional_and_simplified_normalise_alike() -> None:
    assert normalize("組建創新聯合體至少需要幾家企業？") == normalize("组建创新联合体至少需要几家企业")


def test_only_filler_keeps_its_words() -> None:
    assert normalize("你好") == "你好"
    assert normalize("！！！😀") == ""
    assert normalize("") == ""


def test_digits_kept() -> None:
    assert "40" in normalize("贴息比例40%？")
    assert "53" in normalize("首轮发布了53个平台")


def test_huge_message_is_cut_before_any_work() -> None:
    text = "企業甚麼時候提交清單" * 1_000_000  # 10 million characters
    assert normalize(text) == normalize(text[: MAX_INPUT_CHARS * 2])  # only the head is ever looked at
    assert len(normalize(text)) <= MAX_INPUT_CHARS


def test_clean_keeps_filler() -> None:
    assert clean("请问呢") == "请问呢"


def test_tokens_bigrams_and_ascii_runs() -> None:
    assert tokens("创新券") == ["创新", "新券"]
    assert tokens("3家企业") == ["3", "家企", "企业"]
    assert tokens("2025q2截止") == ["2025q2", "截止"]
    assert tokens("a家") == ["a", "家"]
    assert tokenize("") == []


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("结队共建", "结对共建"),
        ("创新连合体", "创新联合体"),
        ("鲁科袋", "鲁科贷"),
        ("跟石大合作", "跟石油大学合作"),
        ("科普資訊員", "科普信息员"),  # Taiwan wording
        ("軟體專案", "软件项目"),
    ],
)
def test_common_abbreviations_and_typos_read_as_the_documents_wording(typed: str, meant: str) -> None:
    assert normalize(typed) == normalize(meant)
