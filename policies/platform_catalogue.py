"""The universities' platform lists as they arrive each quarter: which column is which, what a good row is.

Universities write their week-1 lists by hand, so headers vary (平台名称 / 科创平台名称, 所属高校 / 高校院所).
`map_columns` finds each field's column by its folded header; `check_rows` validates every row with the
form's own rules (the university and type lists and aliases of `data/form.yaml`, `validators.validate_phone`)
and reports each bad row as one line naming the file, row, column and reason. Nothing is imported unless
every row is good: a half-imported list would silently drop platforms.

Pure: the file is read by `storage.platforms` (xlsx or csv) into header + rows of strings.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from policies import validators
from policies.form import FormSpec
from policies.normalize import clean
from policies.records import (
    F_PLATFORM_CONTACT,
    F_PLATFORM_NAME,
    F_PLATFORM_PHONE,
    F_PLATFORM_TYPE,
    F_UNIVERSITY,
    Platform,
)
from policies.validators import OTHER, ValidationError

SAMPLE_MARK = "示例数据"
# The demonstration catalogue (invented platforms of the programme's universities), loaded only on request:
# `bot.py platforms import --sample`, and the terminal chat's trial database when its catalogue is empty.
SAMPLE_PATH = Path(__file__).resolve().parent / "data" / "sample_platforms.csv"

# field -> (the template's header, other headers universities use). Matching ignores width, script,
# punctuation and blanks (`normalize.clean`), so 研究领域/关键词 and 研究领域（关键词） are one header.
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "university": ("所属高校", ("高校院所", "高校", "高校名称", "所属单位", "依托单位", "驻区高校",
                                "驻区高校/科研机构", "高校/科研机构", "单位名称")),
    "name": ("平台名称", ("科创平台名称", "名称", "平台")),
    "type": ("平台类型", ("类型", "科创平台类型")),
    "introduction": ("平台简介", ("简介", "平台介绍", "介绍")),
    "intentions": ("结对共建意向", ("结对意向", "共建意向", "合作意向")),
    "services": ("对外服务方式", ("对外提供服务方式", "服务内容", "服务方式", "对外服务", "服务")),
    "keywords": ("研究领域/关键词", ("研究领域", "关键词", "领域", "技术领域", "研究方向")),
    "contact_name": ("联系人", ("平台联系人", "联系人姓名")),
    "contact_phone": ("联系电话", ("电话", "联系方式", "平台联系电话", "手机")),
    "link": ("链接", ("开放共享平台链接", "网址", "网页", "网站", "平台链接")),
    "sample": (SAMPLE_MARK, ()),
}  # fmt: skip
REQUIRED = ("university", "name", "type", "contact_phone")
TEMPLATE_FIELDS = tuple(f for f in COLUMNS if f != "sample")
MAX_LENGTHS = {"name": 100, "introduction": 2000, "intentions": 1000, "services": 1000, "keywords": 500,
               "contact_name": 30, "link": 500, "university": 50}  # fmt: skip
_YES = frozenset({"是", "1", "true", "yes", "y", SAMPLE_MARK})


def header_of(field_id: str) -> str:
    return COLUMNS[field_id][0]


def _fold_header(text: str) -> str:
    return clean(text, limit=None)


_BY_HEADER: dict[str, str] = {
    _fold_header(name): fid for fid, (main, others) in COLUMNS.items() for name in (main, *others)
}


def fold(text: str) -> str:
    """Compare form of a university or platform name: NFKC, case-folded, no blanks."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def platform_key(university: str, name: str) -> str:
    """The same platform across quarters (and across spellings differing only in width or blanks)."""
    return f"{fold(university)}|{fold(name)}"


@dataclass
class CatalogueCheck:
    """The outcome of checking one file: good platforms, one line per problem, rows seen."""

    platforms: list[Platform] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def universities(self) -> list[str]:
        return sorted({p.university for p in self.platforms})


def map_columns(header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """field -> column index, and the headers nobody understood (reported, never guessed)."""
    found: dict[str, int] = {}
    unknown: list[str] = []
    for index, raw in enumerate(header):
        if not str(raw).strip():
            continue
        fid = _BY_HEADER.get(_fold_header(str(raw)))
        if fid is None:
            unknown.append(str(raw).strip())
        elif fid not in found:
            found[fid] = index
    return found, unknown


class _Row:
    """One row's cells by field, with the header each came from (for error lines)."""

    def __init__(self, cells: Sequence[str], columns: Mapping[str, int], header: Sequence[str]) -> None:
        self.cells, self.columns, self.header = cells, columns, header

    def get(self, fid: str) -> str:
        index = self.columns.get(fid)
        if index is None or index >= len(self.cells):
            return ""
        return validators.clean_input(str(self.cells[index] or "")).strip()

    def column(self, fid: str) -> str:
        index = self.columns.get(fid)
        return str(self.header[index]).strip() if index is not None else header_of(fid)


def check_rows(
    source: str,
    header: Sequence[str],
    rows: Sequence[tuple[int, Sequence[str]]],
    *,
    spec: FormSpec,
    quarter: str,
    university: str | None = None,
    sample: bool = False,
) -> CatalogueCheck:
    """Validate a catalogue file's rows (`rows`: (row number in the file, cells)).

    `university`: the whole file is this university's list (a file without the column, or a check that
    every row names it). `sample`: the rows are the demonstration catalogue (示例数据)."""
    result = CatalogueCheck()
    columns, _unknown = map_columns(header)
    fixed = None
    if university is not None:
        try:
            fixed = _university(university, spec)
        except ValidationError as exc:
            result.errors.append(f"{source}: --university: {exc.message}")
            return result
    for fid in REQUIRED:
        if fid not in columns and not (fid == "university" and fixed is not None):
            known = "、".join((header_of(fid), *COLUMNS[fid][1][:3]))
            result.errors.append(f"{source}: 第1行: 缺少“{header_of(fid)}”列（可用列名：{known}）")
    if result.errors:
        return result
    seen: dict[str, int] = {}
    for number, cells in rows:
        if not any(str(c or "").strip() for c in cells):
            continue
        result.rows += 1
        row = _Row(cells, columns, header)
        platform, problems = check_platform(
            {fid: row.get(fid) for fid in COLUMNS},
            spec=spec,
            quarter=quarter,
            university=fixed,
            sample=sample,
        )
        if platform is not None and platform.key in seen:
            problems.append(
                (
                    "name",
                    f"重复的平台：与第{seen[platform.key]}行是同一平台（{platform.university}·{platform.name}）",
                )
            )
        if problems:
            result.errors.extend(f"{source}: 第{number}行: {row.column(fid)}: {why}" for fid, why in problems)
            continue
        assert platform is not None
        seen[platform.key] = number
        result.platforms.append(platform)
    return result


def check_platform(
    values: Mapping[str, str],
    *,
    spec: FormSpec,
    quarter: str,
    university: str | None = None,
    sample: bool = False,
) -> tuple[Platform | None, list[tuple[str, str]]]:
    """One platform's fields (field id -> text, already cleaned) checked as the importer checks a row:
    the platform, or None with (field id, why) for each problem. `university`: the one it must belong to
    (a university account's own, or an import's --university), already resolved by `_university`."""
    problems: list[tuple[str, str]] = []
    values = {fid: values.get(fid, "") for fid in COLUMNS}
    for fid, limit in MAX_LENGTHS.items():
        if len(values[fid]) > limit:
            problems.append((fid, f"超过{limit}字"))
    uni = values["university"]
    if university is not None and uni and fold(_university_or_none(uni, spec) or uni) != fold(university):
        problems.append(("university", f"与 --university {university} 不一致：{uni}"))
    elif not uni and university is None:
        problems.append(("university", "未填写所属高校"))
    else:
        try:
            uni = _university(uni, spec) if uni else str(university)
        except ValidationError as exc:
            problems.append(("university", exc.message))
    name = values["name"]
    if len(name) < 2:
        problems.append(("name", "未填写平台名称" if not name else "平台名称至少2个字"))
    ptype = values["type"]
    try:
        ptype = _type(ptype, spec)
    except ValidationError as exc:
        problems.append(("type", exc.message))
    phone = values["contact_phone"]
    if not phone:
        problems.append(("contact_phone", "未填写联系电话"))
    else:
        try:
            phone = validators.validate_phone(phone)
        except ValidationError as exc:
            problems.append(("contact_phone", f"{exc.message}（原文：{phone[:30]}）"))
    link = values["link"]
    if link and not link.lower().startswith(("http://", "https://")):
        problems.append(("link", f"链接应以 http:// 或 https:// 开头：{link[:40]}"))
    if problems:
        return None, problems
    platform = Platform(
        id=0,
        quarter=quarter,
        university=str(uni),
        name=name,
        type=ptype,
        introduction=values["introduction"],
        intentions=values["intentions"],
        services=values["services"],
        keywords=values["keywords"],
        contact_name=values["contact_name"],
        contact_phone=phone,
        link=link,
        sample=sample or values["sample"].casefold() in _YES,
        key=platform_key(str(uni), name),
    )
    return platform, []


def resolve_university(raw: str, spec: FormSpec) -> str:
    """A listed university by any of its names (石大 -> 中国石油大学（华东）), or another institute's name;
    ValidationError when it is neither."""
    return _university(raw, spec)


def _university(raw: str, spec: FormSpec) -> str:
    """A listed university (石大 -> 中国石油大学（华东）) or another institute's name."""
    picked = _university_or_none(raw, spec)
    if picked is not None:
        return picked
    return validators.validate_name(raw, label="所属高校", min_length=4, max_length=50)


def _university_or_none(raw: str, spec: FormSpec) -> str | None:
    field_spec = spec.get(F_UNIVERSITY)
    if field_spec is None:
        return None
    choices = [c for c in field_spec.choices if c != OTHER]
    try:
        return validators.match_choice(raw, choices, field_spec.aliases)
    except ValidationError:
        return None


def _type(raw: str, spec: FormSpec) -> str:
    """One of the form's platform types (重点实验室 -> 实验室); anything else is refused, so the 找平台
    filters and the leaderboard see one spelling per type."""
    field_spec = spec.get(F_PLATFORM_TYPE)
    choices = [c for c in field_spec.choices if c != OTHER] if field_spec else []
    if not raw:
        raise ValidationError("未填写平台类型")
    picked = validators.match_choice(raw, choices, field_spec.aliases if field_spec else None)
    if picked is None:
        raise ValidationError(f"未知的平台类型“{raw[:20]}”（可选：{'、'.join(choices)}）")
    return picked


def platform_types(spec: FormSpec) -> list[str]:
    field_spec = spec.get(F_PLATFORM_TYPE)
    return [c for c in field_spec.choices if c != OTHER] if field_spec else []


def template_row(platform: Platform) -> list[str]:
    """A platform as a row of the template (the export), in `TEMPLATE_FIELDS` order."""
    return [str(getattr(platform, fid)) for fid in TEMPLATE_FIELDS]


def form_answers(platform: Platform) -> dict[str, str]:
    """The form's answers a catalogue platform fills in (empty ones are left for the user)."""
    values = {
        F_UNIVERSITY: platform.university,
        F_PLATFORM_NAME: platform.name,
        F_PLATFORM_TYPE: platform.type,
        F_PLATFORM_CONTACT: platform.contact_name,
        F_PLATFORM_PHONE: platform.contact_phone,
    }
    return {k: v for k, v in values.items() if v}


def describe(platform: Platform) -> str:
    """One line naming a platform, marked when it is sample data."""
    mark = f"（{SAMPLE_MARK}）" if platform.sample else ""
    return f"{platform.name}{mark}"
