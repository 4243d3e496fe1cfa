"""Field validators: each turns what a user typed into the stored value or a specific Chinese error.

The error says what is wrong and shows an example, because the user will retype the answer on a
phone keyboard. Check digits and phone plans come from python-stdnum and phonenumbers, not from
hand-written tables.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence

import phonenumbers
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc

# Nothing longer than a Telegram message is looked at at all.
MAX_INPUT = 4096
OTHER = "其他"

_USCC_BASE = "91370211MA3C1234X"
# A code with a correct GB 32100 check digit, so a user who copies the example sees it accepted.
USCC_EXAMPLE = _USCC_BASE + uscc.calc_check_digit(_USCC_BASE)
MOBILE_EXAMPLE = "13210876217"
LANDLINE_EXAMPLE = "0532-86981234"
DATE_EXAMPLE = "2025-04-18 或 2025年4月18日"
EARLIEST_YEAR = 1990


class ValidationError(ValueError):
    """What the user typed cannot be accepted; `message` is shown to them as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clean(raw: str) -> str:
    """NFKC (full-width digits and letters become ASCII) and trimmed; refuses oversize input early."""
    if len(raw) > MAX_INPUT:
        raise ValidationError(f"内容过长（超过 {MAX_INPUT} 字），请精简后重新输入。")
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise ValidationError("内容不能为空，请重新输入。")
    return text


def validate_text(raw: str, *, label: str = "内容", min_length: int = 0, max_length: int = 500) -> str:
    """Trimmed text within the length limits; inner runs of blanks collapse to one space."""
    if len(raw) > MAX_INPUT:
        raise ValidationError(f"内容过长（超过 {MAX_INPUT} 字），请精简后重新输入。")
    text = re.sub(r"[ \t\u3000]+", " ", raw).strip()
    text = re.sub(r"\s*\n\s*", "\n", text)
    if not text:
        raise ValidationError(f"{label}不能为空，请重新输入。")
    if len(text) > max_length:
        raise ValidationError(f"{label}最多 {max_length} 字，当前 {len(text)} 字，请精简后重新输入。")
    if len(text) < min_length:
        raise ValidationError(f"{label}至少 {min_length} 字，请填写完整。")
    return text


def validate_uscc(raw: str) -> str:
    """统一社会信用代码: spaces/hyphens dropped, upper-cased, GB 32100 check digit verified."""
    code = re.sub(r"[\s\-]", "", clean(raw)).upper()
    try:
        return str(uscc.validate(code))
    except stdnum_errors.InvalidLength:
        raise ValidationError(
            f"统一社会信用代码应为18位，您输入了{len(code)}位，请核对后重新输入，例如：{USCC_EXAMPLE}"
        ) from None
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(
            f"统一社会信用代码校验位不正确，请核对后重新输入，例如：{USCC_EXAMPLE}"
        ) from None
    except stdnum_errors.ValidationError:
        raise ValidationError(
            "统一社会信用代码格式不正确：前8位应为数字，其余为数字或大写字母"
            f"（不含 I、O、Z、S、V），例如：{USCC_EXAMPLE}"
        ) from None


def _parse_cn_number(raw: str) -> phonenumbers.PhoneNumber | None:
    text = re.sub(r"[\s\-()（）]", "", clean(raw))
    if not re.fullmatch(r"\+?\d{5,20}", text):
        return None
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    return number


def _is_mobile(number: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ) and str(number.national_number).startswith("1")


def validate_mobile(raw: str) -> str:
    """A mainland mobile number, stored as 11 digits."""
    number = _parse_cn_number(raw)
    if number is None or not _is_mobile(number):
        raise ValidationError(f"手机号码不正确，请输入11位手机号，例如：{MOBILE_EXAMPLE}")
    return str(number.national_number)


def validate_phone(raw: str) -> str:
    """A mobile (11 digits) or a landline with its area code (stored as 0532-86981234)."""
    number = _parse_cn_number(raw)
    if number is None:
        digits = re.sub(r"\D", "", raw[:MAX_INPUT])
        if len(digits) in (7, 8) and not digits.startswith("0"):
            raise ValidationError(f"座机号码请加区号，例如：{LANDLINE_EXAMPLE}")
        raise ValidationError(
            f"电话号码不正确，请输入手机号或带区号的座机号，例如：{MOBILE_EXAMPLE} 或 {LANDLINE_EXAMPLE}"
        )
    if _is_mobile(number):
        return str(number.national_number)
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.FIXED_LINE:
        raise ValidationError(f"请填写手机号或座机号，例如：{MOBILE_EXAMPLE} 或 {LANDLINE_EXAMPLE}")
    national = str(number.national_number)
    area = phonenumbers.length_of_geographical_area_code(number)
    return f"0{national[:area]}-{national[area:]}"


_FULL_DATE = re.compile(r"(\d{4})\s*(?:[-/.年])\s*(\d{1,2})\s*(?:[-/.月])\s*(\d{1,2})\s*[日号]?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_MONTH_DAY = re.compile(r"(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*[日号]?")


def validate_date(raw: str, today: dt.date, *, allow_future: bool = False) -> str:
    """A calendar date as ISO text. Accepts 2025-04-18, 2025年4月18日, 2025/4/18, 2025.4.18,
    20250418 and 4月18日 (this year); refuses impossible dates and, unless allowed, the future."""
    text = clean(raw)
    match = _FULL_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    elif m := _MONTH_DAY.fullmatch(text):
        year, month, day = today.year, int(m.group(1)), int(m.group(2))
    else:
        raise ValidationError(f"日期格式无法识别，请按如下格式输入，例如：{DATE_EXAMPLE}")
    try:
        value = dt.date(year, month, day)
    except ValueError:
        raise ValidationError(
            f"{year}年{month}月{day}日 不是有效日期，请核对后重新输入，例如：{DATE_EXAMPLE}"
        ) from None
    if year < EARLIEST_YEAR:
        raise ValidationError(f"年份 {year} 不合理，请核对后重新输入，例如：{DATE_EXAMPLE}")
    if not allow_future and value > today:
        raise ValidationError(
            f"日期 {value.isoformat()} 晚于今天（{today.isoformat()}），请填写已发生的日期；"
            "尚未签约可点“跳过”。"
        )
    return value.isoformat()


def _key(text: str) -> str:
    """Compare choices ignoring width, case, blanks and bracket style."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s()（）\[\]【】]", "", text)


def match_choice(raw: str, choices: Sequence[str]) -> str | None:
    """The choice a typed answer means: its number (1-based), the exact label, or a unique part.
    None when nothing matches; an ambiguous part is refused with the candidates named."""
    text = clean(raw)
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    key = _key(text)
    if not key:
        return None
    exact = [c for c in choices if _key(c) == key]
    if exact:
        return exact[0]
    partial = [c for c in choices if c != OTHER and (key in _key(c) or _key(c) in key)]
    if len(partial) > 1:
        raise ValidationError(f"“{text}”对应多个选项：{'、'.join(partial)}，请点击按钮选择或输入完整名称。")
    return partial[0] if partial else None


def validate_choice(
    raw: str, choices: Sequence[str], *, label: str = "选项", allow_other: bool = False, max_length: int = 100
) -> str:
    """A listed choice, or (when other answers are allowed) the typed text itself."""
    picked = match_choice(raw, choices)
    if picked is not None and picked != OTHER:
        return picked
    if allow_other and picked is None:
        return validate_text(raw, label=label, min_length=2, max_length=max_length)
    listed = "、".join(c for c in choices if c != OTHER)
    raise ValidationError(f"请点击按钮选择{label}，或输入以下之一：{listed}")


_SEPARATORS = re.compile(r"[、,，;；/\n]+|\s+")


def validate_multi(
    raw: str, choices: Sequence[str], *, label: str = "选项", allow_other: bool = False, max_length: int = 100
) -> list[str]:
    """Several choices typed at once, separated by 、 or commas; unknown items are 'other' text."""
    items = [part for part in _SEPARATORS.split(clean(raw)) if part]
    picked: list[str] = []
    for item in items:
        choice = match_choice(item, choices)
        if choice is None or choice == OTHER:
            if not allow_other or choice == OTHER:
                listed = "、".join(c for c in choices if c != OTHER)
                raise ValidationError(f"“{item}”不是可选的{label}。可选：{listed}")
            choice = validate_text(item, label=label, max_length=max_length)
        if choice not in picked:
            picked.append(choice)
    if not picked:
        raise ValidationError(f"请至少选择一项{label}。")
    return picked


def clean_input(text: str) -> str:
    """Placeholder until the input-cleaning work lands: strip NUL/control characters and whitespace."""
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable()).strip()
