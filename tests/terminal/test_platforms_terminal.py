"""找平台 in the terminal chat (`python bot.py chat` with piped input): a search, a card, “与该平台结对”,
a submitted entry linked to the catalogue platform; then a second entry with the remembered profile."""

from __future__ import annotations

from pathlib import Path

from policies.ports import Store
from tests.platforms_support import by_name, load_sample
from tests.terminal.test_terminal_chat import run, terminal

FIRST = [
    "有没有做防腐涂层中试的平台",
    "与该平台结对 ①",
    "青岛海科智能装备有限公司",
    "91370211MA3C8K2Q7J",
    "李娜",
    "13812345678",
    "1",
    "防腐涂层中试验证",
    "技术研发、中试验证",
    "2025年4月与石油大学签约，共建防腐涂层中试线，开展工艺验证",
    "2025年4月18日",
    "在建",
    "已完成中试样机调试",
    "提交",
]
SECOND = [
    "哪个平台能做海洋腐蚀检测",
    "1",
    "是，使用",
    "海工装备涂层腐蚀检测",
    "检测认证、计量校准",
    "2025年9月与中国海洋大学签约，开展涂层挂片试验和耐蚀性评价",
    "2025年9月10日",
    "已签约",
    "跳过",
    "提交",
]


async def test_search_card_pair_and_submit_from_the_terminal(repo: Store, tmp_path: Path) -> None:
    await load_sample(repo)
    out = await run(terminal(repo), "\n".join(FIRST) + "\n", tmp_path)
    assert "① 海洋装备防腐涂层中试验证平台【示例数据】\n   中国石油大学（华东） · 中试验证平台" in out
    assert "[1] 与该平台结对 ①" in out
    assert "已填入平台：海洋装备防腐涂层中试验证平台（示例数据）" in out
    assert "✅ 提交成功！" in out
    [entry] = await repo.entries_for_user(await repo.resolve_user("terminal", "5"))
    platforms = await repo.current_platforms()
    assert entry.platform_id == by_name(platforms, "海洋装备防腐涂层中试验证平台").id
    assert entry.fields["platform_phone"] == "0532-80000101"

    out = await run(terminal(repo), "\n".join(SECOND) + "\n", tmp_path)
    assert "使用上次的企业信息：青岛海科智能装备有限公司？" in out
    assert out.count("✅ 提交成功！") == 1
    entries = await repo.entries_for_user(await repo.resolve_user("terminal", "5"))
    assert [e.platform_id for e in entries] == [
        by_name(platforms, "海洋装备防腐涂层中试验证平台").id,
        by_name(platforms, "海洋腐蚀与防护检测中心").id,
    ]
