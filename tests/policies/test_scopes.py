"""`policies.scopes`: who sees which entry, and how a scope value typed by an operator is resolved."""

from __future__ import annotations

import pytest

from policies.scopes import EntryQuery, Scope, ScopeError, resolve_scope_value

UNIVERSITIES = ["中国海洋大学", "山东大学（青岛）", "中国石油大学（华东）"]
DISTRICTS = ["中德生态园", "董家口经济区"]
ALIASES = {"中国海洋大学": ["海大", "中国海大"], "中德生态园": ["中德园"]}


@pytest.mark.parametrize(
    ("scope", "university", "district", "sees"),
    [
        (Scope.of("admin"), "任何大学", "", True),
        (Scope.of("university", "山东大学（青岛）"), "山东大学(青岛)", "", True),  # width of the brackets
        (Scope.of("university", "山东大学（青岛）"), "山東大學（青島）", "", True),  # traditional script
        (Scope.of("university", "山东大学（青岛）"), "山东大学", "", False),  # a prefix is another university
        (Scope.of("university", "中国海洋大学"), "中国石油大学（华东）", "中德生态园", False),
        (Scope.of("university", "中国海洋大学"), "", "", False),
        (Scope.of("district", "中德生态园"), "中国海洋大学", "中德 生态园", True),
        (Scope.of("district", "中德生态园"), "中国海洋大学", "董家口经济区", False),
        (Scope.of("district", "中德生态园"), "中国海洋大学", "", False),  # no district: nobody's
    ],
)
def test_who_sees_an_entry(scope: Scope, university: str, district: str, sees: bool) -> None:
    assert scope.sees(university, district) is sees


def test_matching_keeps_only_the_scopes_spellings() -> None:
    stored = ["中国海洋大学", "中国海洋大学 ", "中国石油大学（华东）", ""]
    assert Scope.of("university", "中国海洋大学").matching(stored) == ["中国海洋大学", "中国海洋大学 "]
    assert Scope.of("admin").matching(stored) == stored
    assert Scope.of("district", "中德生态园").matching(stored) == []


def test_exports_by_role() -> None:
    assert Scope.of("admin").exports == ("university", "enterprise", "ledger", "leaderboard")
    assert Scope.of("university", "中国海洋大学").exports == ("university",)
    assert Scope.of("district", "中德生态园").exports == ("enterprise", "ledger")
    assert Scope.of("university", "中国海洋大学").may_check_platforms
    assert not Scope.of("admin").may_check_platforms


@pytest.mark.parametrize(
    ("role", "value", "expected", "warned"),
    [
        ("admin", "", "", False),
        ("university", "海大", "中国海洋大学", False),
        ("university", " 中国海洋大学 ", "中国海洋大学", False),
        ("university", "山东大学(青岛)", "山东大学（青岛）", False),
        ("university", "青岛某研究院", "青岛某研究院", True),
        ("district", "中德园", "中德生态园", False),
        ("district", "灵山卫街道", "灵山卫街道", True),
    ],
)
def test_scope_values_resolve_to_the_canonical_name(
    role: str, value: str, expected: str, warned: bool
) -> None:
    resolved, warning = resolve_scope_value(role, value, UNIVERSITIES, DISTRICTS, ALIASES)
    assert resolved == expected and (warning is not None) is warned


@pytest.mark.parametrize(
    ("role", "value", "message"),
    [
        ("admin", "海大", "不需要范围"),
        ("university", "", "需要范围"),
        ("district", "  ", "需要范围"),
        ("root", "", "未知角色"),
        ("university", "大" * 101, "过长"),
    ],
)
def test_bad_scope_values_are_refused_in_chinese(role: str, value: str, message: str) -> None:
    with pytest.raises(ScopeError, match=message):
        resolve_scope_value(role, value, UNIVERSITIES, DISTRICTS, ALIASES)


def test_a_scope_needs_its_value() -> None:
    with pytest.raises(ScopeError):
        Scope.of("university", "")
    with pytest.raises(ScopeError):
        Scope.of("nobody", "x")


def test_entry_query_parse_never_fails() -> None:
    query = EntryQuery.parse({"page": "abc", "sort": "password_hash", "dir": "asc", "q": "  海洋\n装备  "})
    assert (query.page, query.sort, query.descending, query.text) == (1, "id", False, "海洋 装备")
    assert EntryQuery.parse({"page": "-5"}).page == 1
    assert EntryQuery.parse({"page": "9" * 30}).page == 100_000
    assert EntryQuery.parse({"quarter": "2026q4"}).quarter == "2026Q4"
    assert EntryQuery().params(page=2) == {"sort": "id", "dir": "desc", "page": "2"}
