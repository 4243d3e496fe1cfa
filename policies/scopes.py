"""Who may see what on the dashboard: the three roles and the scope of one account.

- admin (the secretariat): every entry, every export, the audit log and the accounts;
- university (one university or institute): the entries whose university is its own, its own 清单,
  and it confirms or flags the entries that name its platforms;
- district (one function area or town): the entries whose enterprise is registered there (the entry's
  `district` field), one package per enterprise and its 管理台账.

Storage applies the scope to every query (`storage.dashboard`); this module only decides. Names compare
in their `key` form (policies.normalize.clean: width, script, case and punctuation ignored), so
"山东大学(青岛)" and "山东大学（青岛）" are one university.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from policies.normalize import clean

ADMIN = "admin"
UNIVERSITY = "university"
DISTRICT = "district"
ROLES: tuple[str, ...] = (ADMIN, UNIVERSITY, DISTRICT)
ROLE_LABELS = {ADMIN: "秘书处管理员", UNIVERSITY: "高校院所", DISTRICT: "功能区/镇街"}

# Exports each role may download (storage.exports kinds).
EXPORTS_BY_ROLE: Mapping[str, tuple[str, ...]] = {
    ADMIN: ("university", "enterprise", "ledger", "leaderboard"),
    UNIVERSITY: ("university",),
    DISTRICT: ("enterprise", "ledger"),
}

PLATFORM_CONFIRMED = "confirmed"
PLATFORM_FLAGGED = "flagged"
PLATFORM_CHECKS = (PLATFORM_CONFIRMED, PLATFORM_FLAGGED)
PLATFORM_CHECK_LABELS = {PLATFORM_CONFIRMED: "平台已确认", PLATFORM_FLAGGED: "平台有疑问"}


def key(name: str | None) -> str:
    """The compare form of a university or district name."""
    return clean(name or "", limit=None)


class ScopeError(ValueError):
    """A role or scope value that cannot make an account; the message is Chinese, for the operator."""


@dataclass(frozen=True)
class Scope:
    """What one dashboard account may see. Build it with `Scope.of(role, scope_value)`."""

    role: str
    university: str | None = None
    district: str | None = None

    @classmethod
    def of(cls, role: str, value: str = "") -> Scope:
        if role == ADMIN:
            return cls(ADMIN)
        if role == UNIVERSITY and value.strip():
            return cls(UNIVERSITY, university=value.strip())
        if role == DISTRICT and value.strip():
            return cls(DISTRICT, district=value.strip())
        raise ScopeError(f"角色 {role!r} 需要有效的范围")

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def label(self) -> str:
        """'秘书处管理员' or '高校院所：中国海洋大学'."""
        value = self.university or self.district
        return ROLE_LABELS[self.role] + (f"：{value}" if value else "")

    def sees(self, university: str | None, district: str | None) -> bool:
        """Whether an entry with this university and enterprise district is within the scope."""
        if self.role == ADMIN:
            return True
        if self.role == UNIVERSITY:
            return bool(key(university)) and key(university) == key(self.university)
        return bool(key(district)) and key(district) == key(self.district)

    def matching(self, values: Iterable[str]) -> list[str]:
        """The stored spellings among `values` that fall within the scope (storage filters with them);
        every value for an admin."""
        values = list(values)
        if self.role == ADMIN:
            return values
        mine = key(self.university if self.role == UNIVERSITY else self.district)
        return [v for v in values if mine and key(v) == mine]

    def may_export(self, kind: str) -> bool:
        return kind in EXPORTS_BY_ROLE.get(self.role, ())

    @property
    def exports(self) -> tuple[str, ...]:
        return EXPORTS_BY_ROLE.get(self.role, ())

    @property
    def may_check_platforms(self) -> bool:
        """Only a university confirms or flags the entries naming its platforms."""
        return self.role == UNIVERSITY


@dataclass(frozen=True)
class EntryQuery:
    """The entries table's filters, sort and page, as typed into the URL (cleaned by `parse`)."""

    quarter: str = ""
    university: str = ""
    district: str = ""
    status: str = ""
    text: str = ""
    sort: str = "id"
    descending: bool = True
    page: int = 1
    per_page: int = 50

    SORTS: ClassVar[tuple[str, ...]] = (
        "id",
        "quarter",
        "university",
        "district",
        "enterprise_name",
        "status",
        "updated_at",
    )

    @classmethod
    def parse(cls, raw: Mapping[str, str], per_page: int = 50) -> EntryQuery:
        """From query parameters; anything malformed falls back to the default rather than failing."""

        def text(name: str, limit: int = 100) -> str:
            return " ".join(str(raw.get(name, "")).split())[:limit]

        sort = text("sort", 32)
        try:
            page = max(1, min(100_000, int(raw.get("page", "1"))))
        except ValueError:
            page = 1
        return cls(
            quarter=text("quarter", 8).upper(),
            university=text("university"),
            district=text("district"),
            status=text("status", 20),
            text=text("q"),
            sort=sort if sort in cls.SORTS else "id",
            descending=raw.get("dir", "desc") != "asc",
            page=page,
            per_page=per_page,
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """URL parameters of this query with `changes` (for paging and sort links)."""
        values = {
            "quarter": self.quarter,
            "university": self.university,
            "district": self.district,
            "status": self.status,
            "q": self.text,
            "sort": self.sort,
            "dir": "desc" if self.descending else "asc",
            "page": str(self.page),
        }
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


def resolve_scope_value(
    role: str,
    value: str,
    universities: Sequence[str],
    districts: Sequence[str],
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> tuple[str, str | None]:
    """The canonical scope value for `role` and a warning when it is not a known name.

    A known name (or alias, e.g. 海大 -> 中国海洋大学) becomes its canonical spelling. An unknown one is
    accepted as typed with a warning: the form allows "其他" universities and districts, and their
    entries must still be reachable; the operator sees the warning and can disable the account."""
    if role not in ROLES:
        raise ScopeError(f"未知角色 {role!r}，可选：{'、'.join(ROLES)}")
    value = " ".join(value.split())
    if role == ADMIN:
        if value:
            raise ScopeError("管理员账号不需要范围（--scope 留空）")
        return "", None
    if not value:
        what = "高校院所名称" if role == UNIVERSITY else "功能区/镇街名称"
        raise ScopeError(f"{ROLE_LABELS[role]}账号需要范围：请用 --scope 指定{what}")
    if len(value) > 100:
        raise ScopeError("范围名称过长（最多 100 个字符）")
    known = universities if role == UNIVERSITY else districts
    for name in known:
        if key(name) == key(value):
            return name, None
    for name, others in (aliases or {}).items():
        if name in known and any(key(o) == key(value) for o in others):
            return name, None
    return (
        value,
        f"“{value}”不在已知的{'高校院所' if role == UNIVERSITY else '功能区/镇街'}名单中，已按原样保存",
    )
