"""Field validators: each turns what a user typed into the stored value or a specific Chinese error.

The error says what is wrong and shows an example, because the user will retype the answer on a
phone keyboard. Check digits and phone plans come from python-stdnum and phonenumbers, not from
hand-written tables.

Every validator first passes the text through `clean_input`, so control and invisible characters
never reach storage (PostgreSQL refuses NUL in text at commit time) and an answer made only of
them counts as empty. Odd-but-valid input is accepted and normalised: labels (`手机：`), quotes
and a trailing `。` around a value, dots in phone numbers, extensions (`转8001`), month-only and
Chinese-numeral dates, 今天/昨天, a date followed by a time or weekday.

Choice answers (`match_choice`) are compared on a canonical key (NFKC, Simplified Chinese,
lower-case, letters and digits only; `policies.normalize.clean`) against the listed choices and
their aliases: exactly, as a substantial part, or by a close spelling (rapidfuzz), never when the
answer negates the choice (`不在建`). Free text for 其他 must look like a name (`validate_name`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache

import phonenumbers
from rapidfuzz import fuzz, process
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc

from policies.normalize import clean as canonical

# Nothing longer than a Telegram message is looked at at all.
MAX_INPUT = 4096
OTHER = "其他"

_USCC_BASE = "91370211MA3C1234X"
# A code with a correct GB 32100 check digit, so a user who copies the example sees it accepted.
USCC_EXAMPLE = _USCC_BASE + uscc.calc_check_digit(_USCC_BASE)
MOBILE_EXAMPLE = "13210876217"
LANDLINE_EXAMPLE = "0532-86981234"
DATE_EXAMPLE = "2025-04-18 或 2025年4月18日（只知道月份可填 2025年4月）"
EARLIEST_YEAR = 1990


class ValidationError(ValueError):
    """What the user typed cannot be accepted; `message` is shown to them as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- invisible characters -----------------------------------------------------------------------

# Removed: C0/C1 controls except \t and \n; every format character (Unicode category Cf: zero-width
# space/joiners, BOM, bidi marks and isolates, soft hyphen, tags...); private use (Co); lone
# surrogates (Cs); and characters that render as nothing although they are letters or marks: the
# Hangul fillers, the blank Braille pattern, variation selectors, the combining grapheme joiner,
# Mongolian free variation selectors and the Khmer inherent vowels. The Cf list is Unicode 15's;
# tests/policies/test_validators.py checks it still covers what `unicodedata` calls Cf.
_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # Cc except \t \n (\r and NEL became \n before)
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"  # Cf
    "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"  # Co
    "\ud800-\udfff"  # Cs: lone surrogates
    "\u3164\u115f\u1160\uffa0"  # Hangul fillers
    "\u2800\u034f\u17b4\u17b5\u180b-\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef"
    "]+"
)
_NEWLINES = re.compile("\r\n?|[\x85\u2028\u2029]")
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def clean_input(text: str) -> str:
    """`text` without control or invisible characters, odd spaces as ' ', line breaks as \\n, stripped.

    Total and cheap (three C-level regex passes): never raises, whatever the input, including
    lone surrogates, so it can run on every incoming message. Keeps \\n and \\t for multi-line text.
    """
    if not text:
        return ""
    if not isinstance(text, str):
        text = str(text)
    text = _NEWLINES.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    return text.strip()


def _prepare(raw: str, label: str = "内容") -> str:
    """`clean_input`, refusing oversize input before any work and an answer that is empty once cleaned."""
    if len(raw) > MAX_INPUT:
        raise ValidationError(f"内容过长（超过 {MAX_INPUT} 字），请精简后重新输入。")
    text = clean_input(raw)
    if not text:
        if raw.strip():
            raise ValidationError(f"{label}不能为空：您发送的内容只有空白或不可见字符，请重新输入。")
        raise ValidationError(f"{label}不能为空，请重新输入。")
    return text


def clean(raw: str, label: str = "内容") -> str:
    """`_prepare` then NFKC (full-width digits and letters become ASCII)."""
    return unicodedata.normalize("NFKC", _prepare(raw, label)).strip()


_QUOTES = "\"'`“”‘’„‟「」『』«»‹›"
_TRAILING = "。.，,；;！!？?、:：~～"


def _unwrap(text: str) -> str:
    """Quotes around a pasted value and a trailing full stop or comma go."""
    text = text.strip().strip(_QUOTES).strip()
    return text.rstrip(_TRAILING).strip().strip(_QUOTES).strip()


def _strip_label(text: str, labels: re.Pattern[str]) -> str:
    """'手机：138…' -> '138…': a known label in front of the value, with or without a colon."""
    match = labels.match(text)
    return text[match.end() :].strip() if match else text


def _shown(text: str, limit: int = 20) -> str:
    """What the user typed, short enough to quote back in an error."""
    text = clean_input(text).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


# --- free text --------------------------------------------------------------------------------------


def validate_text(raw: str, *, label: str = "内容", min_length: int = 0, max_length: int = 500) -> str:
    """Trimmed text within the length limits; inner runs of blanks collapse to one space."""
    text = _prepare(raw, label)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n\s*", "\n", text).strip()
    if len(text) > max_length:
        raise ValidationError(f"{label}最多 {max_length} 字，当前 {len(text)} 字，请精简后重新输入。")
    if len(text) < min_length:
        raise ValidationError(f"{label}至少 {min_length} 字，请填写完整。")
    return text


# A name (for 其他): Han characters, ASCII letters and digits, blanks and the punctuation names use.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_NAME_CHARS = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134fA-Za-z0-9 ()\[\]·・\-—–&、./《》]+"
)
# Answers that say "nothing" rather than name something.
NON_ANSWERS = frozenset(
    {"跳过", "略过", "skip", "无", "没有", "暂无", "不知道", "不清楚", "不详", "未知", "待定", "其他", "其它",
     "同上", "测试", "test", "null", "none", "na", "不适用", "无名称", "不确定"}
)  # fmt: skip
NAME_RULE = "至少2个汉字、以汉字为主，不含表情和特殊符号"


def validate_name(
    raw: str, *, label: str = "名称", min_length: int = 2, max_length: int = 100, example: str = ""
) -> str:
    """Free text that must look like a name: the rule is `NAME_RULE`.

    At least `min_length` (and 2) characters without blanks; at least two Han characters, and
    Han characters at least half of the non-blank ones; only Han, ASCII letters and digits,
    blanks and ()[]·-—&、./《》; not a non-answer (跳过, 无, 不知道, 其他...); not one character
    repeated. Stored as typed (cleaned, blanks collapsed, quotes and trailing 。 removed).
    """
    text = _unwrap(validate_text(raw, label=label, max_length=max_length).replace("\n", " "))
    folded = unicodedata.normalize("NFKC", text)
    compact = re.sub(r"\s+", "", folded)
    han = len(_HAN.findall(compact))
    hint = f"，例如：{example}" if example else ""
    if canonical(compact) in NON_ANSWERS or compact.lower() in NON_ANSWERS:
        raise ValidationError(f"请填写{label}的名称（{NAME_RULE}）{hint}")
    if (
        not compact
        or not _NAME_CHARS.fullmatch(folded)
        or han < 2
        or han * 2 < len(compact)
        or len(set(compact)) == 1
    ):
        raise ValidationError(f"“{_shown(text)}”不像{label}的名称，请输入完整名称（{NAME_RULE}）{hint}")
    if len(compact) < max(min_length, 2):
        raise ValidationError(f"{label}名称至少 {max(min_length, 2)} 字，请填写完整名称{hint}")
    return text


# --- credit code --------------------------------------------------------------------------------------

_USCC_LABELS = re.compile(
    r"(?:统一社会信用代码|社会信用代码|信用代码|统一代码|纳税人识别号|税号|代码|USCC)\s*(?:[:：]|是|为)?\s*",
    re.IGNORECASE,
)


def _degenerate_uscc(code: str) -> bool:
    """A code no authority issues, even if its check digit happens to work out (000000000000000000):
    one character repeated, an all-zero administrative division or an all-zero organisation code."""
    return len(set(code)) == 1 or code[2:8] == "000000" or code[8:17] == "000000000"


def validate_uscc(raw: str) -> str:
    """统一社会信用代码: label, quotes, blanks and hyphens dropped, upper-cased, check digit verified.
    Degenerate codes (`_degenerate_uscc`) are refused even when the check digit works out."""
    text = _unwrap(_strip_label(clean(raw, "统一社会信用代码"), _USCC_LABELS))
    code = re.sub(r"[\s\-_.·]", "", text).upper()
    try:
        value = str(uscc.validate(code))
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
    if _degenerate_uscc(value):
        raise ValidationError(f"“{value}”不是有效的统一社会信用代码，请按营业执照填写，例如：{USCC_EXAMPLE}")
    return value


# --- phone numbers --------------------------------------------------------------------------------------

_PHONE_LABELS = re.compile(
    r"(?:(?:联系|办公|移动|固定)?(?:手机|电话|座机|固话|联系方式)(?:号码|号)?|tel|phone|mobile|cell)"
    r"\s*(?:[:：]|是|为)?\s*",
    re.IGNORECASE,
)
_EXTENSION = re.compile(r"\s*(?:转|分机号?|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)
_DASH_EXTENSION = re.compile(r"^(.*\d)\s*-\s*(\d{1,5})$")
_PHONE_NOISE = re.compile(r"[\s\-()（）.·—–_]")


def _parse_cn_number(text: str) -> phonenumbers.PhoneNumber | None:
    digits = _PHONE_NOISE.sub("", text)
    if not re.fullmatch(r"\+?\d{5,20}", digits):
        return None
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    return number


def _phone_parts(raw: str, label: str) -> tuple[phonenumbers.PhoneNumber | None, str, str]:
    """(the number or None, the extension, the cleaned text) of a typed phone answer."""
    text = _unwrap(_strip_label(clean(raw, label), _PHONE_LABELS))
    extension = ""
    if match := _EXTENSION.search(text):
        extension, text = match.group(1), text[: match.start()]
    number = _parse_cn_number(text)
    if number is None and not extension and (match := _DASH_EXTENSION.match(text)):
        number = _parse_cn_number(match.group(1))
        if number is not None and not _is_mobile(number):
            extension = match.group(2)
        else:
            number = None
    return number, extension, text


def _is_mobile(number: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ) and str(number.national_number).startswith("1")


def validate_mobile(raw: str) -> str:
    """A mainland mobile number, stored as 11 digits."""
    number, extension, _ = _phone_parts(raw, "手机号码")
    if number is None or extension or not _is_mobile(number):
        raise ValidationError(f"手机号码不正确，请输入11位手机号，例如：{MOBILE_EXAMPLE}")
    return str(number.national_number)


_SERVICE_TYPES = (
    phonenumbers.PhoneNumberType.SHARED_COST,  # 400
    phonenumbers.PhoneNumberType.TOLL_FREE,  # 800
)


def validate_phone(raw: str) -> str:
    """A mobile (11 digits), a landline with its area code (0532-86981234, optionally 转8001 for an
    extension) or a 400/800 service number (400-810-1234)."""
    number, extension, text = _phone_parts(raw, "电话号码")
    if number is None:
        digits = re.sub(r"\D", "", text)
        if len(digits) in (7, 8) and not digits.startswith("0"):
            raise ValidationError(f"座机号码请加区号，例如：{LANDLINE_EXAMPLE}")
        raise ValidationError(
            f"电话号码不正确，请输入手机号或带区号的座机号，例如：{MOBILE_EXAMPLE} 或 {LANDLINE_EXAMPLE}"
        )
    national = str(number.national_number)
    suffix = f"转{extension}" if extension else ""
    kind = phonenumbers.number_type(number)
    if _is_mobile(number):
        if extension:
            raise ValidationError(f"手机号码没有分机号，请只填11位手机号，例如：{MOBILE_EXAMPLE}")
        return national
    if kind in _SERVICE_TYPES and len(national) == 10:
        return f"{national[:3]}-{national[3:6]}-{national[6:]}{suffix}"
    if kind != phonenumbers.PhoneNumberType.FIXED_LINE:
        raise ValidationError(f"请填写手机号或座机号，例如：{MOBILE_EXAMPLE} 或 {LANDLINE_EXAMPLE}")
    area = phonenumbers.length_of_geographical_area_code(number)
    return f"0{national[:area]}-{national[area:]}{suffix}"


# --- dates ------------------------------------------------------------------------------------------

_DATE_LABELS = re.compile(r"(?:签约)?(?:日期|时间)\s*(?:[:：]|是|为)?\s*|签约于\s*|于\s*")
_RELATIVE = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}
_WEEKDAYS = "一二三四五六日"
_WEEKDAY = re.compile(r"\s*[(（,，]?\s*(?:星期|周|礼拜)([一二三四五六日天1-7])\s*[)）]?\s*")
_CN_DIGIT = {"〇": 0, "零": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_CN_NUMBER = re.compile(
    r"(?P<tens>[一二三]?十[一二三四五六七八九]?)|(?P<digits>[〇零○一二两三四五六七八九]+)"
)
_TIME = re.compile(
    r"(?:\s*T|\s+|(?<=[日号]))\s*(?:上午|下午|中午|晚上|早上)?\s*"
    r"\d{1,2}(?:[:：]\d{2}(?:[:：]\d{2}(?:\.\d+)?)?|[点时](?:\d{1,2}分?|半)?)\s*$"
)
_FULL_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_SHORT_YEAR_DATE = re.compile(r"(\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YEAR_MONTH = re.compile(r"(\d{4})\s*(?:[-/.]\s*(\d{1,2})|年\s*(\d{1,2})\s*月份?)")
_MONTH_DAY = re.compile(r"(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*[日号]?")
_MONTH = re.compile(r"(\d{1,2})\s*月份?")


def _arabic(match: re.Match[str]) -> str:
    """一 -> 1, 十八 -> 18, 三十一 -> 31, 二〇二五 -> 2025."""
    if tens := match.group("tens"):
        high, _, low = tens.partition("十")
        return str((_CN_DIGIT[high] if high else 1) * 10 + (_CN_DIGIT[low] if low else 0))
    return "".join(str(_CN_DIGIT[c]) for c in match.group("digits"))


def _date_parts(text: str, today: dt.date) -> tuple[int, int, int | None] | None:
    """(year, month, day or None for a month-only date) of cleaned date text, or None."""
    if text in _RELATIVE:
        when = today - dt.timedelta(days=_RELATIVE[text])
        return when.year, when.month, when.day
    if m := _FULL_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text):
        year, month, day = (int(g) for g in m.groups())
        return year, month, day
    if m := _SHORT_YEAR_DATE.fullmatch(text):
        short = int(m.group(1))
        year = 2000 + short if short <= today.year % 100 + 1 else 1900 + short
        return year, int(m.group(2)), int(m.group(3))
    if m := _YEAR_MONTH.fullmatch(text):
        return int(m.group(1)), int(m.group(2) or m.group(3)), None
    if m := _MONTH_DAY.fullmatch(text):
        return today.year, int(m.group(1)), int(m.group(2))
    if m := _MONTH.fullmatch(text):
        return today.year, int(m.group(1)), None
    return None


def validate_date(raw: str, today: dt.date, *, allow_future: bool = False) -> str:
    """A calendar date as ISO text, or `YYYY-MM` when only the month is known.

    Accepts 2025-04-18, 2025年4月18日, 2025/4/18, 2025.4.18, 20250418, 25/4/18, 4月18日 (this year),
    二〇二五年四月十八日, 今天/昨天/前天, 2025年4月 / 2025-04 (month only) and any of these after a
    label (签约日期：) or followed by a time or weekday; a weekday that contradicts the date is
    refused. Refuses impossible dates and, unless allowed, the future.
    """
    text = _unwrap(_strip_label(clean(raw, "日期"), _DATE_LABELS))
    weekday = None
    if m := _WEEKDAY.search(text):
        weekday = m.group(1)
        text = (text[: m.start()] + " " + text[m.end() :]).strip()
    text = _TIME.sub("", _CN_NUMBER.sub(_arabic, text)).strip()
    text = _WEEKDAY.sub(" ", text).strip()  # a weekday after the time
    parts = _date_parts(text, today)
    if parts is None:
        raise ValidationError(f"日期格式无法识别，请按如下格式输入，例如：{DATE_EXAMPLE}")
    year, month, day = parts
    if year < EARLIEST_YEAR:
        raise ValidationError(f"年份 {year} 不合理，请核对后重新输入，例如：{DATE_EXAMPLE}")
    if day is None:
        return _month_only(year, month, today, allow_future=allow_future)
    try:
        value = dt.date(year, month, day)
    except ValueError:
        raise ValidationError(
            f"{year}年{month}月{day}日 不是有效日期，请核对后重新输入，例如：{DATE_EXAMPLE}"
        ) from None
    if not allow_future and value > today:
        raise ValidationError(
            f"日期 {value.isoformat()} 晚于今天（{today.isoformat()}），请填写已发生的日期；"
            "尚未签约可点“跳过”。"
        )
    if weekday is not None:
        said = _WEEKDAYS[int(weekday) - 1] if weekday.isdigit() else "日" if weekday == "天" else weekday
        actual = _WEEKDAYS[value.weekday()]
        if said != actual:
            raise ValidationError(
                f"{year}年{month}月{day}日是星期{actual}，与您写的“星期{said}”不一致，请核对日期后重新输入。"
            )
    return value.isoformat()


def _month_only(year: int, month: int, today: dt.date, *, allow_future: bool) -> str:
    """`YYYY-MM`: signers often know only the month; exports write it as that text."""
    if not 1 <= month <= 12:
        raise ValidationError(f"{year}年{month}月 不是有效月份，请核对后重新输入，例如：{DATE_EXAMPLE}")
    if not allow_future and (year, month) > (today.year, today.month):
        raise ValidationError(
            f"{year}年{month}月 晚于本月（{today.year}年{today.month}月），请填写已发生的日期；"
            "尚未签约可点“跳过”。"
        )
    return f"{year:04d}-{month:02d}"


# --- choices ------------------------------------------------------------------------------------------

# A typed answer negating a choice (不在建, 未签约, 没有完成) never matches it.
NEGATIONS = frozenset("不没未非无别")
# Typed text longer than this is not looked up among the choices at all.
_MAX_CHOICE_TEXT = 100
# rapidfuzz ratio (0-100) of the canonical keys for a close spelling to count, and the shortest
# answer spelling matching is tried on (a one-character slip in two characters is another word).
FUZZY_CUTOFF = 80
FUZZY_MIN_LENGTH = 4
# A typed part of a choice must cover this share of it (石油大学 of 中国石油大学华东, not 科学 of
# 中国科学院海洋研究所); a choice inside the typed text may come only with words that add nothing
# (在建中, 我们已签约, 山东大学青岛校区), never with a qualifier (中国石油大学（北京） is another one).
PART_MIN_SHARE = 1 / 3
_EMPTY_EXTRAS = re.compile(r"(?:校区|目前|现在|已经|正在|阶段|状态|我们|项目|中|了|的|是|为)*")

Aliases = Mapping[str, Sequence[str]]


@lru_cache(maxsize=64)
def _targets(
    choices: tuple[str, ...], aliases: tuple[tuple[str, tuple[str, ...]], ...]
) -> tuple[tuple[str, str], ...]:
    """(canonical key, choice) for every listed choice and alias; 其他 is never a target."""
    out: list[tuple[str, str]] = []
    for choice in choices:
        if choice != OTHER:
            out.append((canonical(choice, limit=None), choice))
    for choice, names in aliases:
        if choice in choices and choice != OTHER:
            out.extend((canonical(name, limit=None), choice) for name in names)
    return tuple((key, choice) for key, choice in out if key)


def _frozen(aliases: Aliases | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((k, tuple(v)) for k, v in (aliases or {}).items()))


def _negation_ok(key: str, target: str) -> bool:
    """No negating character in the answer that the target itself lacks."""
    return all(ch in target for ch in key if ch in NEGATIONS)


class AmbiguousChoice(ValidationError):
    """A typed answer fits several choices equally; `candidates` names them."""

    def __init__(self, text: str, candidates: Sequence[str]) -> None:
        super().__init__(
            f"“{_shown(text)}”对应多个选项：{'、'.join(candidates)}，请点击按钮选择或输入完整名称。"
        )
        self.candidates = tuple(candidates)


def _ambiguous(text: str, found: Sequence[str]) -> AmbiguousChoice:
    return AmbiguousChoice(text, found)


def _unique(found: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(found))


def match_choice(raw: str, choices: Sequence[str], aliases: Aliases | None = None) -> str | None:
    """The choice a typed answer means, or None.

    In order: its number (1-based) among the buttons; the exact label or an alias (ignoring width,
    script, case, blanks and punctuation); a substantial part of one choice (石油大学), or one
    choice with a few extra characters (在建中); a close spelling (rapidfuzz ratio ≥ FUZZY_CUTOFF,
    answers of FUZZY_MIN_LENGTH+ characters). An answer that negates a choice matches nothing.
    Several equally good choices are refused with the candidates named.
    """
    text = clean(raw)
    if text.isascii() and text.isdigit():
        number = int(text) if len(text) <= 3 else 0
        return choices[number - 1] if 1 <= number <= len(choices) else None
    if len(text) > _MAX_CHOICE_TEXT:
        return None
    key = canonical(text)
    if not key or key.isdigit():
        return None
    if key in ("其他", "其它") and OTHER in choices:
        return OTHER
    targets = [(k, c) for k, c in _targets(tuple(choices), _frozen(aliases)) if _negation_ok(key, k)]
    exact = _unique([c for k, c in targets if k == key])
    if exact:
        if len(exact) > 1:
            raise _ambiguous(text, exact)
        return exact[0]
    parts = _unique(
        [
            c
            for k, c in targets
            if (len(key) >= 2 and key in k and len(key) >= len(k) * PART_MIN_SHARE)
            or (len(k) >= 2 and k in key and _EMPTY_EXTRAS.fullmatch(key.replace(k, "", 1)))
        ]
    )
    if len(parts) > 1:
        raise _ambiguous(text, parts)
    if parts:
        return parts[0]
    if len(key) < FUZZY_MIN_LENGTH:
        return None
    # Only slips of about the same length: 青岛大学 is another university, not 青岛理工大学.
    near = [(k, c) for k, c in targets if abs(len(k) - len(key)) <= 1 and len(k) >= FUZZY_MIN_LENGTH]
    scored = process.extract(
        key, [k for k, _ in near], scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=None
    )
    if not scored:
        return None
    best = scored[0][1]
    top = _unique([near[index][1] for _, score, index in scored if score == best])
    if len(top) > 1:
        raise _ambiguous(text, top)
    return top[0]


def _listed(choices: Sequence[str]) -> str:
    return "、".join(c for c in choices if c != OTHER)


def validate_choice(
    raw: str,
    choices: Sequence[str],
    *,
    label: str = "选项",
    allow_other: bool = False,
    min_length: int = 2,
    max_length: int = 100,
    aliases: Aliases | None = None,
    example: str = "",
) -> str:
    """A listed choice (see `match_choice`), or, when other answers are allowed, a typed name
    (`validate_name`). Numbers, junk and negations of a choice are refused."""
    text = clean(raw, label)
    picked = match_choice(text, choices, aliases)
    if picked is not None and picked != OTHER:
        return picked
    if allow_other and picked is None and not text.isdigit():
        try:
            return validate_name(
                raw, label=label, min_length=min_length, max_length=max_length, example=example
            )
        except ValidationError as exc:
            raise ValidationError(f"{exc.message}\n也可点击按钮选择{label}：{_listed(choices)}") from None
    if allow_other and picked is None:
        raise ValidationError(
            f"“{_shown(text)}”不是可选的{label}。请点击按钮选择，或输入完整名称（{NAME_RULE}）。"
        )
    raise ValidationError(
        f"“{_shown(text)}”不是可选的{label}。请点击按钮选择，或输入以下之一：{_listed(choices)}"
    )


def _exact_choice(text: str, choices: Sequence[str], aliases: Aliases | None) -> str | None:
    """The choice whose label or alias is exactly `text` (canonically), e.g. one that contains 和."""
    key = canonical(text[:_MAX_CHOICE_TEXT])
    return next((c for k, c in _targets(tuple(choices), _frozen(aliases)) if k == key), None)


def _spelled_out(item: str, choices: Sequence[str], aliases: Aliases | None) -> list[str]:
    """The choices `item` is made of when it is just several of them written together
    (技术研发中试验证); [] otherwise."""
    rest = canonical(item[:_MAX_CHOICE_TEXT])
    found: list[str] = []
    for key, choice in sorted(_targets(tuple(choices), _frozen(aliases)), key=lambda t: -len(t[0])):
        if len(key) >= 2 and key in rest:
            rest = rest.replace(key, "", 1)
            found.append(choice)
    return _unique(found) if found and not rest else []


_ITEM_SEPARATORS = re.compile(r"以及|[、,，;；/／\n\s和及与+＋&＆]+")
_TRAILING_ETC = re.compile(r"(?:等等|等)$")


def validate_multi(
    raw: str,
    choices: Sequence[str],
    *,
    label: str = "选项",
    allow_other: bool = False,
    aliases: Aliases | None = None,
    max_items: int | None = None,
) -> list[str]:
    """Several listed choices typed at once, separated by 、，,；/ 和 及 与 or blanks (技术研发和中试验证).

    Only listed choices (with aliases and close spellings) are accepted, at most `max_items` (the
    number of listed choices); text outside the list goes through the 其他 button instead.
    """
    text = clean(raw, label)
    limit = max_items or len([c for c in choices if c != OTHER])
    items = [part for part in _ITEM_SEPARATORS.split(_TRAILING_ETC.sub("", text)) if part]
    whole = _exact_choice(text, choices, aliases)
    if whole is not None or len(items) <= 1:
        items = [text]
    if len(items) > limit:
        raise ValidationError(f"{label}最多 {limit} 项，您输入了 {len(items)} 项，请精简后重新输入。")
    other_hint = "；列表外的请点“其他”后输入" if allow_other and OTHER in choices else ""
    picked: list[str] = []
    for item in items:
        try:
            choice = match_choice(item, choices, aliases)
        except AmbiguousChoice:
            choice = None
        if choice is None and (together := _spelled_out(item, choices, aliases)):
            picked.extend(c for c in together if c not in picked)
            continue
        if choice is None or choice == OTHER:
            raise ValidationError(
                f"“{_shown(item)}”不是可选的{label}。可选：{_listed(choices)}{other_hint}。"
                "可点击按钮选择，或用顿号分隔输入多项。"
            )
        if choice not in picked:
            picked.append(choice)
    if not picked:
        raise ValidationError(f"请至少选择一项{label}。")
    return [c for c in choices if c in picked]
