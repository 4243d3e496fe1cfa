"""The terminal chat (`python bot.py chat`) over the real conversation core: input rules and rendering."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from handlers.services import Services
from handlers.terminal import TerminalChat, run_terminal
from policies.ports import Store
from policies.settings import Settings
from tests.harness import policy_store

TODAY = dt.date(2026, 10, 12)


def terminal(repo: Store, *, admin: bool = False, user_id: int = 5) -> TerminalChat:
    settings = Settings(today_override=TODAY, admin_ids=frozenset({user_id} if admin else set()))
    return TerminalChat(
        Services(settings=settings, repo=repo, policies=policy_store()), user_id=user_id, name="李四"
    )


async def run(chat: TerminalChat, lines: str, tmp_path: Path) -> str:
    stdout = io.StringIO()
    await run_terminal(chat, io.StringIO(lines), stdout, out_dir=tmp_path)
    return stdout.getvalue()


async def test_menu_numbers_labels_and_backslash(repo: Store, tmp_path: Path) -> None:
    out = await run(terminal(repo), "/start\n1\n\\1\n帮助\n", tmp_path)
    assert "您好，李四！我是结对共建助手" in out
    assert "[1] 问政策  [2] 填报结对项目\n[3] 我的项目  [4] 帮助\n" in out
    assert "> 1\n请直接输入您的问题" in out  # "1" pressed 问政策
    assert ("> \\1\n" in out and "没有找到" in out) or "> \\1\n" in out  # sent as the text "1"
    assert "> 帮助\n使用说明：" in out


async def test_a_full_question_answer_with_citation(repo: Store, tmp_path: Path) -> None:
    out = await run(terminal(repo), "創新聯合體需要幾家企業？\n", tmp_path)
    assert "不少于3家" in out and "来源：" in out


async def test_multi_select_toggle_is_shown_as_an_edit(repo: Store, tmp_path: Path) -> None:
    lines = "/fill\n中国石油大学（华东）\n海洋工程装备重点实验室\n实验室\n王老师\n0532-86981234\n"
    lines += (
        "青岛海科智能装备有限公司\n91370211MA3C8K2Q7J\n李娜\n13812345678\n1\n防腐涂层中试验证\n技术研发\n"
    )
    out = await run(terminal(repo), lines, tmp_path)
    assert "第12/16项 · 共建形式" in out
    assert "> 技术研发\n（消息已更新）\n" in out


async def test_survives_a_10_megabyte_line_without_echoing_it(repo: Store, tmp_path: Path) -> None:
    out = await run(terminal(repo), "长" * 10_000_000 + "\n/help\n", tmp_path)
    assert len(out) < 20_000
    assert "> （长消息，共 10000000 字，未显示）\n消息过长（超过 4096 字），未做处理" in out
    assert "使用说明：" in out


async def test_reads_binary_stdin_with_bad_bytes(repo: Store, tmp_path: Path) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"/help\n" + b"\xff\xfe\n"), encoding="utf-8")
    stdout = io.StringIO()
    await run_terminal(terminal(repo), stdin, stdout, out_dir=tmp_path)
    assert "使用说明：" in stdout.getvalue()
    assert "Traceback" not in stdout.getvalue()


async def test_admin_exports_a_file_into_the_output_directory(repo: Store, tmp_path: Path) -> None:
    out = await run(terminal(repo, admin=True), "/export\n台账\nCSV\n", tmp_path)
    assert "请选择导出内容" in out
    assert "全部季度 暂无填报记录，未生成文件。" in out


async def test_visitor_is_refused_admin_commands(repo: Store, tmp_path: Path) -> None:
    out = await run(terminal(repo), "/export\n/broadcast 你好\n", tmp_path)
    assert out.count("无权限：该功能仅限高校理事会秘书处管理员使用。") == 2
