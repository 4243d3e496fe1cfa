"""The command line as a newcomer uses it: help, ask, check, and a broken YAML file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from policies.confidence import CONFIDENT_AT

ROOT = Path(__file__).resolve().parent.parent


def run_bot(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "ADMIN_"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        cwd=ROOT,
        timeout=120,
    )


def test_help_lists_every_subcommand() -> None:
    result = run_bot("--help")
    assert result.returncode == 0
    for command in ("run", "chat", "ask", "schedule", "broadcast", "export", "check"):
        assert command in result.stdout


def test_ask_json_one_object_per_line_with_citation() -> None:
    result = run_bot("ask", "--json", stdin="高校理事会秘书处的咨询电话是多少？\n帮我写一首诗\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    keys = {"question", "matched", "answer", "source", "score", "band", "facts", "alternatives", "confidence"}
    assert [set(obj) for obj in lines] == [keys] * 2
    phone, poem = lines
    assert phone["matched"] is True and "13210876217" in phone["answer"] and phone["source"]
    assert phone["band"] == "confident" and phone["confidence"] >= CONFIDENT_AT
    assert poem["matched"] is False and "13210876217" in poem["answer"] and poem["band"] == "decline"


def test_ask_json_names_the_band_and_the_alternatives_of_a_suggestion() -> None:
    result = run_bot("ask", "--json", "合作平台")
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(line) for line in result.stdout.splitlines()]
    assert line["band"] == "suggest" and line["answer"].startswith("您是不是想问")
    # A short question below its floor is suggested by a guard (no probability), else the model's
    # probability is below the confident line.
    assert line["confidence"] is None or 0 < line["confidence"] < CONFIDENT_AT
    assert len(line["alternatives"]) == 2
    assert all(set(alt) == {"id", "topic", "score"} for alt in line["alternatives"])
    assert line["alternatives"][0]["score"] >= line["alternatives"][1]["score"]


def test_ask_json_gives_the_fact_asked_for_and_the_answer_opens_with_it() -> None:
    result = run_bot("ask", "--json", "一家公司贷款贴息最多能拿多少钱")
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(line) for line in result.stdout.splitlines()]
    assert line["band"] == "confident" and line["facts"] == {"amount": "单个企业最高50万元"}
    assert line["answer"].startswith("金额：单个企业最高50万元\n") and "40%" in line["answer"]
    assert line["source"] in line["answer"]


def test_check_names_a_fact_not_quoted_from_its_answer(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "policies" / "data", data)
    faq = data / "faq_shandong.yaml"
    faq.write_text(
        faq.read_text(encoding="utf-8").replace('单个企业最高50万元"', '单个企业最高60万元"', 1),
        encoding="utf-8",
    )
    result = run_bot("check", env={"POLICY_DIR": str(data)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "faq_shandong.yaml" in result.stderr and "facts.amount" in result.stderr
    assert "单个企业最高60万元" in result.stderr and "not quoted from the answer" in result.stderr


def test_ask_plain_text_ends_with_source() -> None:
    result = run_bot("ask", "创新联合体备案有效期多久？")
    assert result.returncode == 0, result.stderr
    assert "3年" in result.stdout and "来源：" in result.stdout


def test_broken_yaml_gives_one_line_naming_file_line_and_field(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "policies" / "data", data)
    faq = next(p for p in sorted(data.glob("*.yaml")) if p.name != "form.yaml" and "faq" in p.name)
    text = faq.read_text(encoding="utf-8")
    faq.write_text(text.replace("source:", "sourc:", 1), encoding="utf-8")
    result = run_bot("ask", "截止时间", env={"POLICY_DIR": str(data)})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert faq.name in lines[0] and "source" in lines[0]
    assert any(ch.isdigit() for ch in lines[0].split(faq.name, 1)[1])


def test_check_validates_the_shipped_data() -> None:
    result = run_bot("check")
    assert result.returncode == 0, result.stderr
    assert "校验通过" in result.stdout


def test_unreachable_bot_api_is_one_clear_line(tmp_path: Path) -> None:
    result = run_bot(
        "run",
        env={
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",  # nothing listens on the discard port
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        },
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("无法连接 Telegram Bot API")


def test_malformed_setting_names_the_key() -> None:
    result = run_bot("ask", "你好", env={"ADMIN_IDS": "秘书处"})
    assert result.returncode == 2
    assert "ADMIN_IDS" in result.stderr and "Traceback" not in result.stderr
