"""找平台's search over the sample catalogue: Simplified, Traditional and colloquial phrasing put the
expected platform first; policy questions are not taken for platform searches."""

from __future__ import annotations

import csv
import dataclasses

import pytest

from policies.platform_catalogue import SAMPLE_PATH, check_rows
from policies.platform_search import PlatformIndex, asks_for_platform
from tests.platforms_support import SPEC


def _sample_index() -> PlatformIndex:
    with SAMPLE_PATH.open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    check = check_rows("s.csv", rows[0], list(enumerate(rows[1:], 2)), spec=SPEC, quarter="2026Q4")
    assert check.ok, check.errors
    return PlatformIndex(dataclasses.replace(p, id=i) for i, p in enumerate(check.platforms, 1))


INDEX = _sample_index()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Simplified
        ("有没有做防腐涂层中试的平台", "海洋装备防腐涂层中试验证平台"),
        ("哪个平台能做海洋腐蚀检测", "海洋腐蚀与防护检测中心"),
        ("水下机器人中试", "水下机器人中试验证平台"),
        ("动力电池检测", "新能源汽车检测实验室"),
        ("芯片封装测试", "微电子封装测试中心"),
        # Traditional
        ("有沒有做防腐塗層中試的平台", "海洋装备防腐涂层中试验证平台"),
        ("哪個平台能做海洋腐蝕檢測", "海洋腐蚀与防护检测中心"),
        ("船舶振動噪聲測試", "船舶与海洋结构物振动噪声实验室"),
        # colloquial, abbreviations, synonyms, a typo
        ("想找个地方做涂层的中试", "海洋装备防腐涂层中试验证平台"),
        ("我们公司搞海水腐蚀的，谁能帮忙做挂片试验", "海洋腐蚀与防护检测中心"),
        ("石大有没有管道泄漏监测的实验室", "油气储运安全重点实验室"),
        ("海工混凝土耐久性", "海洋环境混凝土耐久性实验室"),
        ("深远海养殖装备合作", "水产养殖装备实验室"),
        ("跨境电商人才培训", "跨境电商数字化服务中心"),
        ("页岩气压裂新技术验证", "非常规油气开发概念验证中心"),
        ("防腐图层中试", "海洋装备防腐涂层中试验证平台"),  # 图层: a typo of 涂层
    ],
)
def test_expected_platform_first(query: str, expected: str) -> None:
    hits = INDEX.search(query)
    assert hits, query
    expected_simplified = (
        expected.replace("裝備", "装备").replace("塗層", "涂层").replace("中試驗證", "中试验证")
    )
    assert hits[0].platform.name == expected_simplified, [h.platform.name for h in hits[:3]]


@pytest.mark.parametrize(
    "question",
    [
        "每季度第几周提交清单？",
        "科创平台结对共建清单什么时候截止",
        "创新联合体需要几家企业？",
        "科技成果转化贷款贴息比例是多少",
        "秘书处电话是多少",
    ],
)
def test_policy_questions_are_not_platform_searches(question: str) -> None:
    assert not asks_for_platform(question)
    hits = INDEX.search(question)
    assert not hits or hits[0].coverage < 0.75


def test_filters_and_empty_query_list_the_catalogue() -> None:
    ocean = INDEX.search("", university="中国海洋大学")
    assert len(ocean) == 3 and {h.platform.university for h in ocean} == {"中国海洋大学"}
    pilots = INDEX.search("海洋", platform_type="中试验证平台")
    assert pilots and all(h.platform.type == "中试验证平台" for h in pilots)
    assert INDEX.search("防腐涂层", university="山东科技大学") == []


@pytest.mark.parametrize(
    "text", ["有没有做防腐涂层中试的平台", "哪个平台能做海洋腐蚀检测", "哪家单位可以做电池检测"]
)
def test_platform_wording_is_recognised(text: str) -> None:
    assert asks_for_platform(text)
