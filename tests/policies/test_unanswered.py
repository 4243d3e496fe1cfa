"""The unanswered-question loop: declined and suggested questions are logged without who asked, and
`bot.py unanswered` lists them grouped by similarity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from policies.ports import Store
from policies.records import UnansweredQuestion
from policies.unanswered import group_questions
from storage import open_repository
from storage.tables import UnansweredRow
from tests.policies.test_conversation import CoreChat, actor, make
from tests.test_cli import run_bot

POEM = "帮我写一首诗"
SUGGESTED = "合作平台"
CONFIDENT = "高校理事会秘书处的咨询电话是多少？"
ADDRESS = "贴息办公室的地址在哪"  # the loan entry states no address: declined


async def test_a_declined_question_is_logged_with_band_and_candidates_but_not_the_user(repo: Store) -> None:
    me = await actor(repo, "9876543")
    chat = CoreChat(make(repo), me)
    await chat.send(f"  {ADDRESS}\u200b？ ")
    assert "13210876217" in chat.last()  # the honest decline still reaches the user
    [logged] = await repo.unanswered_since()
    assert (logged.question, logged.band) == (f"{ADDRESS}？", "decline")
    assert logged.asked_at.tzinfo is not None
    assert logged.candidates[0][0] == "sd-m13-loan" and logged.candidates[0][1] == logged.score > 0
    async with repo._reading() as s:  # type: ignore[attr-defined]
        row = (await s.execute(select(UnansweredRow))).scalar_one()
    assert set(UnansweredRow.__table__.columns.keys()) == {
        "id",
        "asked_at",
        "asker",
        "question",
        "band",
        "score",
        "candidates",
    }
    assert row.asker not in (str(me.user_id), "9876543") and len(row.asker) == 32


async def test_a_suggestion_is_logged_and_a_confident_answer_is_not(repo: Store) -> None:
    chat = CoreChat(make(repo), await actor(repo))
    await chat.send(CONFIDENT)
    assert await repo.unanswered_since() == []
    await chat.send(SUGGESTED)
    assert chat.last().startswith("您是不是想问")
    [logged] = await repo.unanswered_since()
    assert logged.band == "suggest" and len(logged.candidates) == 3
    assert logged.candidates[0][1] >= logged.candidates[1][1]


async def test_questions_older_than_the_retention_are_forgotten_when_one_is_logged(repo: Store) -> None:
    chat = CoreChat(make(repo), await actor(repo))
    await chat.send(POEM)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    async with repo._transaction() as s:  # type: ignore[attr-defined]
        # a question asked 200 days ago, as an earlier run would have logged it
        await s.execute(
            UnansweredRow.__table__.insert().values(
                asked_at=old,
                asker="x" * 32,
                question="半年前的问题",
                band="decline",
                score=1.0,
                candidates=[],
            )
        )
    assert len(await repo.unanswered_since()) == 2
    repo.unanswered_retention = dt.timedelta(days=180)  # type: ignore[attr-defined]
    await chat.send(ADDRESS)
    assert [q.question for q in await repo.unanswered_since()] == [POEM, ADDRESS]


def test_retention_days_come_from_the_environment() -> None:
    from policies.settings import Settings, SettingsError

    assert Settings.from_environ({}).unanswered_retention_days == 180
    assert Settings.from_environ({"UNANSWERED_RETENTION_DAYS": "30"}).unanswered_retention_days == 30
    with pytest.raises(SettingsError, match="UNANSWERED_RETENTION_DAYS"):
        Settings.from_environ({"UNANSWERED_RETENTION_DAYS": "0"})


async def test_one_asker_has_one_opaque_id_and_two_askers_two(repo: Store) -> None:
    services = make(repo)
    first, second = await actor(repo, "a"), await actor(repo, "b")
    await CoreChat(services, first).send(POEM)
    await CoreChat(services, first).send("今天青岛天气怎么样")
    await CoreChat(services, second).send(POEM)
    askers = [q.asker for q in await repo.unanswered_since()]
    assert askers[0] == askers[1] != askers[2]


async def test_a_failing_log_never_breaks_the_answer(repo: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(repo, "log_unanswered", broken)
    chat = CoreChat(make(repo), await actor(repo))
    await chat.send(POEM)
    assert "13210876217" in chat.last()


def _q(text: str, minutes: int, top: str = "") -> UnansweredQuestion:
    at = dt.datetime(2026, 10, 12, 8, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)
    return UnansweredQuestion(at, "x", text, "decline", 20.0, ((top, 30.0),) if top else ())


def test_paraphrases_group_together_most_frequent_first() -> None:
    groups = group_questions(
        [
            _q("单个企业贴息最高多少？", 1, "loan"),
            _q("青岛天气怎么样", 2),
            _q("一家企业最多能贴息多少钱", 3, "loan"),
            _q("贴息一个企业封顶多少", 4, "loan"),
            _q("大学和企业结对有奖励吗", 5),
            _q("高校企业结对共建有没有奖励", 6),
            _q("鲁科贷怎么申请", 7),
        ]
    )
    assert [g.examples() for g in groups] == [
        ["贴息一个企业封顶多少", "一家企业最多能贴息多少钱", "单个企业贴息最高多少？"],
        ["高校企业结对共建有没有奖励", "大学和企业结对有奖励吗"],
        ["鲁科贷怎么申请"],
        ["青岛天气怎么样"],
    ]
    assert groups[0].count == 3 and groups[0].top_candidate == "loan"
    assert groups[0].newest.question == "贴息一个企业封顶多少"


async def test_cli_lists_the_groups_with_counts_and_topics(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    repo = await open_repository(url)
    try:
        for user, question in ((1, "帮我写一首诗"), (2, "给我写首诗吧"), (3, "明天青岛天气如何")):
            await repo.log_unanswered(user, question, "decline", 12.0, [])
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)  # within the 180-day retention
        async with repo._transaction() as s:
            (await s.execute(select(UnansweredRow).where(UnansweredRow.id == 3))).scalar_one().asked_at = old
        await repo.log_unanswered(4, SUGGESTED, "suggest", 55.0, [("cooperation-forms", 55.0)])
    finally:
        await repo.close()
    env = {"DATABASE_URL": url, "BOT_TODAY": "2026-10-12"}

    result = run_bot("unanswered", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2 次") and "给我写首诗吧" in lines[0]  # the newest wording
    assert lines[1].strip() == "「帮我写一首诗」"
    assert any(SUGGESTED in line and "最接近：结对共建合作形式" in line for line in lines)
    assert "明天青岛天气如何" in result.stdout
    assert "共 4 个问题，3 组" in result.stderr

    since = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    recent = run_bot("unanswered", "--since", since, env=env)
    assert "明天青岛天气如何" not in recent.stdout and "共 3 个问题" in recent.stderr

    out = tmp_path / "unanswered.xlsx"
    book = run_bot("unanswered", "--format", "xlsx", "--out", str(out), env=env)
    assert book.returncode == 0, book.stderr
    from openpyxl import load_workbook

    sheet = load_workbook(out).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "次数" and rows[1][0] == 2 and len(rows) == 4
