"""/export and /leaderboard through the real PTB Application and the in-process fake Bot API."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import openpyxl

from policies.conversation.texts import NO_PERMISSION
from policies.settings import Settings
from storage import SqlRepository
from tests.harness import buttons, documents, last_text, offline_chat, wired_app
from tests.storage.test_exports import LETTER_CODE, SDUST, UPC, make_fields

ADMIN = 900001
VISITOR = 900002
TODAY = dt.date(2026, 11, 20)  # 2026Q4


def factory(repo: SqlRepository) -> Any:
    """The fully wired application, as bot.py builds it."""
    return wired_app(repo, Settings(admin_ids=frozenset({ADMIN}), today_override=TODAY))


async def seed(repo: SqlRepository) -> None:
    await repo.create_entry(1, "2026Q4", make_fields(UPC, status="已签约"))
    await repo.create_entry(2, "2026Q4", make_fields(SDUST, "青岛乙有限公司", LETTER_CODE, "智能网箱"))
    await repo.create_entry(2, "2026Q4", make_fields(UPC, "青岛乙有限公司", LETTER_CODE, "深海传感器"))


async def test_non_admin_gets_no_permission(repo: SqlRepository) -> None:
    async with offline_chat(factory(repo), user_id=VISITOR) as chat:
        replies = await chat.send("/export")
        assert last_text(replies) == NO_PERMISSION
        assert documents(chat) == []


async def test_non_admin_cannot_press_a_forged_export_button(repo: SqlRepository) -> None:
    await seed(repo)
    async with offline_chat(factory(repo), user_id=VISITOR) as chat:
        await chat.send("/leaderboard")  # any message of the bot in the visitor's chat
        last = chat.last()
        assert last is not None
        forged = "a:exp:university:2026Q4:xlsx"
        update = chat.fake.user_presses(VISITOR, last.message_id, forged, enqueue=False, strict=False)
        await chat.process(update, VISITOR)
        assert chat.toasts == [NO_PERMISSION]
        assert documents(chat) == []


async def test_admin_exports_by_university_as_one_zip(repo: SqlRepository) -> None:
    await seed(repo)
    async with offline_chat(factory(repo), user_id=ADMIN) as chat:
        await chat.send("/export")
        assert buttons(chat) == ["按高校", "按企业", "台账", "榜单"]
        await chat.press("按高校")
        assert buttons(chat) == ["Excel（xlsx）", "CSV"]
        replies = await chat.press("Excel（xlsx）")
        docs = documents(replies)
        assert len(docs) == 1
        doc = docs[0]
        assert doc.text == "2026Q4 按高校导出：2所高校，共3条"
        assert doc.document is not None and doc.document.name.endswith(".zip")
        with zipfile.ZipFile(io.BytesIO(doc.document.content)) as zf:
            assert sorted(zf.namelist()) == sorted(
                [f"2026Q4_{UPC}_结对共建项目清单.xlsx", f"2026Q4_{SDUST}_结对共建项目清单.xlsx"]
            )
        # the status message (the one with the buttons) now says it is done
        assert any(m.text.startswith("导出完成") for m in chat.history())


async def test_admin_gets_a_single_workbook_directly(repo: SqlRepository) -> None:
    await seed(repo)
    async with offline_chat(factory(repo), user_id=ADMIN) as chat:
        await chat.send("/export")
        await chat.press("台账")
        replies = await chat.press("Excel（xlsx）")
        (doc,) = documents(replies)
        assert doc.text == "全部季度 管理台账：共3条，变更记录0条"
        assert doc.document is not None and doc.document.name == "全部季度_结对共建项目管理台账.xlsx"
        wb = openpyxl.load_workbook(io.BytesIO(doc.document.content))
        assert wb.sheetnames == ["台账", "变更记录"]


async def test_export_of_an_empty_quarter_says_so(repo: SqlRepository) -> None:
    await seed(repo)
    async with offline_chat(factory(repo), user_id=ADMIN) as chat:
        await chat.send("/export 2026Q1")
        await chat.press("按企业")
        await chat.press("CSV")
        assert documents(chat) == []
        assert last_text(chat) == "2026Q1 暂无填报记录，未生成文件。"


async def test_export_rejects_a_malformed_quarter(repo: SqlRepository) -> None:
    async with offline_chat(factory(repo), user_id=ADMIN) as chat:
        replies = await chat.send("/export 2026年")
        assert "2026Q4" in last_text(replies) and buttons(chat) == []


async def test_anyone_can_view_the_leaderboard(repo: SqlRepository) -> None:
    await seed(repo)
    async with offline_chat(factory(repo), user_id=VISITOR) as chat:
        replies = await chat.send("/leaderboard")
        text = last_text(replies)
        assert "2026Q4科创平台产学研结对共建新成果和贡献度榜单" in text
        assert f"1. {UPC}" in text and f"2. {SDUST}" in text
