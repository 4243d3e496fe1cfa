"""`python bot.py platforms import|export` as a user runs it: exit codes, one line per bad row, dry run."""

from __future__ import annotations

from pathlib import Path

from tests.platforms_support import write_csv
from tests.test_cli import run_bot


def test_import_bad_file_exits_2_with_one_line_per_bad_row(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", "BOT_TODAY": "2026-10-12"}
    bad = write_csv(
        tmp_path / "list.csv",
        [
            ["海大", "海洋腐蚀与防护检测中心", "中心", "", "", "", "", "陈老师", "0532-80000401", ""],
            ["海大", "某平台", "工作室", "", "", "", "", "王老师", "13800000001", ""],
        ],
    )
    result = run_bot("platforms", "import", str(bad), env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("list.csv: 第3行: 平台类型: 未知的平台类型“工作室”")
    assert lines[-1] == "导入失败：list.csv 共 1 处错误，未导入任何平台（请修改后重新导入）。"

    result = run_bot("platforms", "import", "--sample", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert "25 个平台，季度 2026Q4（示例数据）" in result.stdout
    assert "试运行，未写入：将新增 25、更新 0、删除 0 个平台" in result.stdout
    out = tmp_path / "template.xlsx"
    result = run_bot("platforms", "export", "--out", str(out), env=env)
    assert result.returncode == 0 and out.exists()
    assert "含 0 个平台" in result.stderr  # the dry run wrote nothing
