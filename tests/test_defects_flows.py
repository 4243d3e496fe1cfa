"""Issue 7 defects in the form and 我的项目, driven through the fully wired Application.

Item 2: another user's entry can be neither offered as a duplicate nor read or changed by a forged button.
Item 13: 提交 files the entry and closes the draft in one transaction; a second 提交 files nothing.
Item 14: malformed button data and over-long answers get a polite reply, no traceback, nothing stored.
Item 15: after this quarter's extended deadline an entry goes to the next quarter's list; the user is told.
Item 16: the empty 我的项目 screen carries the 填报结对项目 button it mentions.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from telegram.request import BaseRequest

from handlers.services import Services
from handlers.telegram.app import App, build_application
from policies import cycle
from policies.flows import EXPIRED, NOT_YOURS, TOO_LONG, FormFlow
from policies.form import STALE, FormSession, FormSpec
from policies.models import DatedFact
from policies.records import Profile
from policies.settings import Settings
from policies.store import PolicyStore
from storage import SqlRepository
from tests import forms
from tests.forms import PRESSED
from tests.forms import TYPED as FORM_TYPED
from tests.harness import all_text, buttons, internal_id, last_text, offline_chat, texts
from tests.offline import BotMessage, OfflineChat

IN_WINDOW = dt.date(2026, 10, 14)  # week 3 of 2026Q4: its list is open until 2026-10-23
VICTIM, ATTACKER = 501, 502
VICTIM_CODE = "91110000600037341L"
ATTACKER_CODE = "91370200MA3C00000K"

TYPED = {**FORM_TYPED, "统一社会信用代码": VICTIM_CODE}
# The attacker copies the victim's university, platform, project and (public) credit code.
FORGED = {
    "企业名称": "某某冒名有限公司",
    "企业联系人": "赵六",
    "企业联系人手机": "13900001111",
    "最新进展": "已终止",
}


@pytest.fixture(scope="module")
def policies() -> PolicyStore:
    store = PolicyStore(Settings().policy_dir)
    store.load()
    return store


def factory(repo: SqlRepository, policies: PolicyStore, today: dt.date = IN_WINDOW) -> Any:
    svc = Services(settings=Settings(today_override=today), repo=repo, policies=policies)

    def build(request: BaseRequest) -> App:
        return build_application(svc, request=request, schedule_reminders=False)

    return build


@pytest.fixture
async def chat(repo: SqlRepository, policies: PolicyStore) -> AsyncIterator[OfflineChat]:
    async with offline_chat(factory(repo, policies)) as c:
        yield c


def field_label(text: str) -> str:
    label = forms.field_label(text.split("\n\n")[-1])
    assert label is not None, f"not a field prompt: {text!r}"
    return label


async def fill_to_summary(
    chat: OfflineChat, user_id: int, typed: dict[str, str] | None = None, *, start: bool = True
) -> BotMessage:
    """/fill (unless `start` is False), then answer every prompt as a user would, typing the enterprise
    again rather than reusing the remembered one; returns the summary message (with 提交)."""
    answers = {**TYPED, **(typed or {})}
    if start:
        await chat.send("/fill", user_id=user_id)
    for _ in range(40):
        message = chat.history(user_id)[-1]
        if "请核对填报内容" in message.text:
            return message
        if message.text.startswith("使用上次的企业信息"):
            await chat.press("否，重新填写", user_id=user_id)
            continue
        label = field_label(message.text)
        if label == "共建形式":
            await chat.press("☐ 技术研发", user_id=user_id)
            await chat.press("✅ 完成", user_id=user_id)
        elif label in PRESSED:
            await chat.press(PRESSED[label], user_id=user_id)
        else:
            await chat.send(answers[label], user_id=user_id)
    raise AssertionError(f"never reached the summary: {chat.history(user_id)[-1].text[:80]}")


async def forge(chat: OfflineChat, user_id: int, data: str) -> list[BotMessage]:
    """Press a button that no message of the bot carries (a hand-made callback query)."""
    last = chat.last(user_id)
    assert last is not None
    update = chat.fake.user_presses(user_id, last.message_id, data, enqueue=False, strict=False)
    return await chat.process(update, user_id)


@contextmanager
def failing_statement(repo: SqlRepository, prefix: str) -> Iterator[list[str]]:
    """Make the first SQL statement starting with `prefix` fail, inside whatever transaction runs it."""
    hits: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not hits and statement.lstrip().upper().startswith(prefix):
            hits.append(statement)
            raise RuntimeError(f"injected failure at {prefix}")

    engine = repo.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield hits
    finally:
        event.remove(engine, "before_cursor_execute", before)


# item 2: ownership -------------------------------------------------------------------------------------


async def test_victims_credit_code_does_not_offer_or_overwrite_the_victims_entry(
    chat: OfflineChat, repo: SqlRepository
) -> None:
    await fill_to_summary(chat, VICTIM)
    await chat.press("✅ 提交", user_id=VICTIM)
    (victim_entry,) = await repo.entries_for_user(await internal_id(repo, VICTIM))

    await fill_to_summary(chat, ATTACKER, FORGED)
    replies = await chat.press("✅ 提交", user_id=ATTACKER)
    # Another enterprise's credit code: nothing is filed until one of its members approves.
    assert "需由该企业现有成员同意" in last_text(replies) and "提交成功" not in all_text(replies)
    assert "本季度已填报过相同的项目" not in all_text(replies) and "更新已有项目" not in buttons(replies)
    assert await repo.get_entry(victim_entry.id) == victim_entry  # contact, phone, status, progress intact
    assert list(await repo.history(victim_entry.id)) == []
    attacker = await internal_id(repo, ATTACKER)
    assert list(await repo.entries_for_user(attacker)) == []
    assert await repo.membership(VICTIM_CODE, attacker) == "pending"
    draft = await repo.get_draft(attacker)
    assert draft is not None and draft.paused  # kept, not submitted


async def test_forged_buttons_on_another_users_entry_are_refused_and_leak_nothing(
    chat: OfflineChat, repo: SqlRepository
) -> None:
    await fill_to_summary(chat, VICTIM)
    await chat.press("✅ 提交", user_id=VICTIM)
    (victim_entry,) = await repo.entries_for_user(await internal_id(repo, VICTIM))
    # The attacker typed the victim's credit code: that once granted ownership, now a pending request.
    await fill_to_summary(chat, ATTACKER, FORGED)
    await chat.press("✅ 提交", user_id=ATTACKER)
    assert await repo.membership(VICTIM_CODE, await internal_id(repo, ATTACKER)) == "pending"

    vid = victim_entry.id
    for data in (f"e:hist:{vid}", f"e:upd:{vid}", f"e:st:{vid}:4", f"e:st:{vid}:k", f"e:skip:{vid}"):
        replies = await forge(chat, ATTACKER, data)
        assert texts(replies) == [NOT_YOURS], data
    replies = await chat.send("已终止", user_id=ATTACKER)  # no 更新进展 step was opened
    assert "已更新" not in all_text(replies)

    # f:upd:<victim's id> while the attacker's own duplicate offer is open
    await chat.send("/fill", user_id=ATTACKER)
    await chat.press("重新开始", user_id=ATTACKER)  # the paused draft with the victim's code goes
    await fill_to_summary(chat, ATTACKER, {**FORGED, "统一社会信用代码": ATTACKER_CODE}, start=False)
    assert "提交成功" in last_text(await chat.press("✅ 提交", user_id=ATTACKER))
    await fill_to_summary(chat, ATTACKER, {**FORGED, "统一社会信用代码": ATTACKER_CODE})
    offer = await chat.press("✅ 提交", user_id=ATTACKER)
    assert "本季度已填报过相同的项目" in last_text(offer)
    replies = await forge(chat, ATTACKER, f"f:upd:{vid}")
    assert texts(replies) == [NOT_YOURS]

    assert await repo.get_entry(vid) == victim_entry
    assert list(await repo.history(vid)) == []


# item 13: submit is one transaction, and idempotent -----------------------------------------------------


async def test_a_failure_inside_submit_keeps_the_draft_and_files_nothing_then_submit_works_once(
    repo: SqlRepository, policies: PolicyStore
) -> None:
    async with offline_chat(factory(repo, policies), raise_errors=False) as chat:
        summary = await fill_to_summary(chat, VICTIM)
        # The profile is written after the entry row: the failure comes between the two writes.
        with failing_statement(repo, "INSERT INTO PROFILES") as hits:
            replies = await chat.press("✅ 提交", user_id=VICTIM)
        assert hits and "出现了问题" in last_text(replies)
        assert list(await repo.entries_for_user(await internal_id(repo, VICTIM))) == []
        assert await repo.get_draft(await internal_id(repo, VICTIM)) is not None

        replies = await chat.press("✅ 提交", user_id=VICTIM, message_id=summary.message_id)
        assert "提交成功" in last_text(replies)
        assert (
            len(await repo.entries_for_user(await internal_id(repo, VICTIM))) == 1
            and await repo.get_draft(await internal_id(repo, VICTIM)) is None
        )

        replies = await chat.press("✅ 提交", user_id=VICTIM, message_id=summary.message_id)
        assert "提交成功" not in all_text(replies)
        assert len(await repo.entries_for_user(await internal_id(repo, VICTIM))) == 1


SPEC = FormSpec.load()
FIELDS = {
    "university": "中国石油大学（华东）",
    "platform_name": "山东省海洋工程装备重点实验室",
    "enterprise_name": "青岛海科智能装备有限公司",
    "credit_code": VICTIM_CODE,
    "project_name": "海洋装备防腐涂层中试验证",
    "status": "在建",
}
PROFILE = Profile(VICTIM, "青岛海科智能装备有限公司", VICTIM_CODE, "李娜", "13210876217")


@pytest.mark.parametrize("prefix", ["DELETE FROM DRAFTS", "INSERT INTO ENTRIES", "INSERT INTO PROFILES"])
async def test_submit_draft_is_all_or_nothing(repo: SqlRepository, prefix: str) -> None:
    await repo.save_draft(VICTIM, {"answers": FIELDS})
    with failing_statement(repo, prefix) as hits, pytest.raises(RuntimeError):
        await repo.submit_draft(VICTIM, "2026Q4", FIELDS, profile=PROFILE)
    assert hits
    assert list(await repo.entries_for_user(VICTIM)) == []
    assert await repo.get_draft(VICTIM) is not None and await repo.get_profile(VICTIM) is None

    entry = await repo.submit_draft(VICTIM, "2026Q4", FIELDS, profile=PROFILE)
    assert entry is not None and entry.quarter == "2026Q4"
    assert await repo.get_draft(VICTIM) is None and await repo.get_profile(VICTIM) == PROFILE
    assert await repo.submit_draft(VICTIM, "2026Q4", FIELDS) is None  # nothing left to submit
    assert len(await repo.entries_for_user(VICTIM)) == 1


@pytest.mark.parametrize("prefix", ["DELETE FROM DRAFTS", "INSERT INTO ENTRY_CHANGES"])
async def test_submit_draft_as_an_update_is_all_or_nothing(repo: SqlRepository, prefix: str) -> None:
    existing = await repo.create_entry(VICTIM, "2026Q4", FIELDS)
    await repo.save_draft(VICTIM, {"answers": FIELDS})
    changed = {**FIELDS, "status": "已完成"}
    with failing_statement(repo, prefix) as hits, pytest.raises(RuntimeError):
        await repo.submit_draft(VICTIM, "2026Q4", changed, update_id=existing.id)
    assert hits
    assert await repo.get_entry(existing.id) == existing and list(await repo.history(existing.id)) == []
    assert await repo.get_draft(VICTIM) is not None

    updated = await repo.submit_draft(VICTIM, "2026Q4", changed, update_id=existing.id)
    assert updated is not None and updated.id == existing.id and updated.status == "已完成"
    assert await repo.get_draft(VICTIM) is None
    assert [(c.field, c.old, c.new) for c in await repo.history(existing.id)] == [
        ("status", "在建", "已完成")
    ]


async def test_submit_draft_never_updates_another_users_entry(repo: SqlRepository) -> None:
    from storage.errors import NotFound

    theirs = await repo.create_entry(VICTIM, "2026Q4", FIELDS)
    await repo.save_draft(ATTACKER, {"answers": FIELDS})
    with pytest.raises(NotFound):
        await repo.submit_draft(ATTACKER, "2026Q4", {**FIELDS, "status": "已终止"}, update_id=theirs.id)
    assert await repo.get_entry(theirs.id) == theirs and await repo.get_draft(ATTACKER) is not None


ANSWERS = {
    **FIELDS,
    "platform_type": "实验室",
    "platform_contact": "王老师",
    "platform_phone": "0532-86981234",
    "enterprise_contact": "李娜",
    "enterprise_phone": "13210876217",
    "district": "中德生态园",
    "cooperation_forms": "技术研发",
    "project_content": "2025年4月与石油大学签约，共建防腐涂层中试线",
    "signed_on": "2025-04-18",
    "progress": "已完成中试样机调试",
}


async def test_a_second_process_with_a_stale_draft_cannot_submit_it_again(repo: SqlRepository) -> None:
    first = FormFlow(repo, SPEC, lambda: IN_WINDOW)
    second = FormFlow(repo, SPEC, lambda: IN_WINDOW)  # another worker on the same database
    await first.start(VICTIM)
    for _ in range(40):
        draft = await repo.get_draft(VICTIM)
        assert draft is not None
        session = FormSession.from_dict(SPEC, draft.state)
        if session.mode != "field":
            break
        await first.handle_text(VICTIM, ANSWERS[str(session.current)])
    assert await second.is_active(VICTIM)  # the second worker sees the draft too
    assert "提交成功" in (await first.handle_button(VICTIM, "f:submit"))[0].text
    replies = await second.handle_button(VICTIM, "f:submit")
    assert "已提交" in replies[0].text  # it reads the database: the draft is gone, nothing is filed
    assert len(await repo.entries_for_user(VICTIM)) == 1


# item 14: malformed buttons, over-long answers ----------------------------------------------------------

MALFORMED = [
    "e:hist:99999999999999999999999",  # beyond 64 bits
    "e:upd:9223372036854775808",
    "e:upd:12345678901",  # beyond PostgreSQL's 32-bit id
    "e:hist:-1",
    "e:hist:²",
    "e:hist:\ud800",  # a lone surrogate
    "f:upd:\udcff",
    "f:upd:99999999999999999999",
    "f:c:²:university",
    "f:c:99999999999999999999999:university",
    "f:c:0:\ud800",
    "f:edit:\udfff",
    "e:st:1:²",
    "f:" + "9" * 80,
]


async def test_malformed_button_data_is_refused_politely_and_stores_nothing(
    chat: OfflineChat, repo: SqlRepository
) -> None:
    await chat.send("/fill", user_id=VICTIM)  # a draft waiting at the first field (university)
    before = await repo.get_draft(await internal_id(repo, VICTIM))
    assert before is not None
    for data in MALFORMED:
        replies = await forge(chat, VICTIM, data)  # raise_errors: a traceback fails the test here
        polite = last_text(replies)
        assert polite in (EXPIRED, NOT_YOURS) or polite.startswith(STALE), data
        draft = await repo.get_draft(await internal_id(repo, VICTIM))
        assert draft is not None and draft.state == before.state, data
    assert list(await repo.entries_for_user(await internal_id(repo, VICTIM))) == []
    assert "第1/16项" in last_text(await chat.send("/fill", user_id=VICTIM))


async def test_malformed_button_data_during_a_progress_update_changes_nothing(
    chat: OfflineChat, repo: SqlRepository
) -> None:
    await fill_to_summary(chat, VICTIM)
    await chat.press("✅ 提交", user_id=VICTIM)
    (entry,) = await repo.entries_for_user(await internal_id(repo, VICTIM))
    await chat.send("我的项目", user_id=VICTIM)
    await chat.press(f"更新进展 #{entry.id}", user_id=VICTIM)
    for data in (f"e:st:{entry.id}:²", f"e:st:{entry.id}:99999999999999999999", f"e:st:{entry.id}:\ud800"):
        replies = await forge(chat, VICTIM, data)
        assert "失效" in last_text(replies) or "过期" in last_text(replies), data
    assert await repo.get_entry(entry.id) == entry


async def test_over_long_text_is_refused_and_the_pending_field_asked_again(
    chat: OfflineChat, repo: SqlRepository
) -> None:
    await chat.send("/fill", user_id=VICTIM)
    await chat.press("山东科技大学", user_id=VICTIM)
    replies = await chat.send("长" * 5000, user_id=VICTIM)
    assert TOO_LONG in all_text(replies)
    assert "第2/16项 · 科创平台名称" in last_text(replies)
    draft = await repo.get_draft(await internal_id(repo, VICTIM))
    assert draft is not None and "platform_name" not in draft.state["answers"]


async def test_over_long_progress_update_is_refused_and_asked_again(
    chat: OfflineChat, repo: SqlRepository
) -> None:
    await fill_to_summary(chat, VICTIM)
    await chat.press("✅ 提交", user_id=VICTIM)
    (entry,) = await repo.entries_for_user(await internal_id(repo, VICTIM))
    await chat.send("我的项目", user_id=VICTIM)
    await chat.press(f"更新进展 #{entry.id}", user_id=VICTIM)
    await chat.press("已完成", user_id=VICTIM)
    replies = await chat.send("进" * 5000, user_id=VICTIM)
    assert TOO_LONG in all_text(replies) and "请输入项目最新进展" in last_text(replies)
    replies = await chat.send("项目通过验收", user_id=VICTIM)
    assert "已更新" in last_text(replies)


# item 15: late filing goes to the next quarter's list ---------------------------------------------------

LATE_NOTICE = "本季度（2026年第四季度）清单已于2026年10月23日截止并报送高校，本条将记入2027年第一季度清单。"


async def file_on(repo: SqlRepository, policies: PolicyStore, today: dt.date) -> tuple[str, str]:
    """File one entry on `today`; the form's opening text and the success message."""
    async with offline_chat(factory(repo, policies, today)) as chat:
        opening = all_text(await chat.send("/fill", user_id=VICTIM))
        summary = await fill_to_summary(chat, VICTIM, start=False)
        done = last_text(await chat.press("✅ 提交", user_id=VICTIM, message_id=summary.message_id))
    return opening, done


async def test_after_the_extended_deadline_the_entry_goes_to_the_next_quarter_and_the_user_is_told(
    repo: SqlRepository, policies: PolicyStore
) -> None:
    opening, done = await file_on(repo, policies, dt.date(2026, 10, 26))
    assert LATE_NOTICE in opening and "（2027年第一季度）" in opening
    assert LATE_NOTICE in done and "已记入2027年第一季度" in done
    (entry,) = await repo.entries_for_user(await internal_id(repo, VICTIM))
    assert entry.quarter == "2027Q1"


async def test_on_the_extended_deadline_itself_the_entry_stays_in_this_quarter(
    repo: SqlRepository, policies: PolicyStore
) -> None:
    opening, done = await file_on(repo, policies, dt.date(2026, 10, 23))
    assert "截止并报送高校" not in opening + done and "已记入2026年第四季度" in done
    (entry,) = await repo.entries_for_user(await internal_id(repo, VICTIM))
    assert entry.quarter == "2026Q4"


async def test_a_published_later_deadline_keeps_this_quarter_open(
    repo: SqlRepository, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(Settings().policy_dir, data)
    with (data / "cycle.yaml").open("a", encoding="utf-8") as out:
        out.write(
            "\n  - id: deadline-2026q4\n    quarter: 2026Q4\n    kind: deadline\n    date: 2026-10-30\n"
            "    extension_days: 7\n    text: 2026年第四季度清单截止时间延至2026年10月30日。\n"
            "    source: letter-2025\n"
        )
    store = PolicyStore(data)
    store.load()
    _, done = await file_on(repo, store, dt.date(2026, 11, 2))
    assert "截止并报送高校" not in done and "已记入2026年第四季度" in done
    (entry,) = await repo.entries_for_user(await internal_id(repo, VICTIM))
    assert entry.quarter == "2026Q4"


@pytest.mark.parametrize(
    ("day", "quarter", "missed"),
    [
        (dt.date(2026, 10, 1), "2026Q4", None),
        (dt.date(2026, 10, 23), "2026Q4", None),
        (dt.date(2026, 10, 24), "2027Q1", dt.date(2026, 10, 23)),
        (dt.date(2026, 12, 31), "2027Q1", dt.date(2026, 10, 23)),
        (dt.date(2025, 4, 25), "2025Q2", None),  # the published 2025Q2 deadline 04-18 + 7 days
        (dt.date(2025, 4, 26), "2025Q3", dt.date(2025, 4, 25)),
    ],
)
def test_filing_quarter(day: dt.date, quarter: str, missed: dt.date | None) -> None:
    facts = (DatedFact("deadline-2025q2", "2025Q2", "deadline", dt.date(2025, 4, 18), 7),)
    filing = cycle.filing_quarter(day, facts)
    assert filing.quarter == quarter
    assert (filing.missed.extended_date if filing.missed else None) == missed


# item 16: the empty 我的项目 screen has the button it mentions -------------------------------------------


async def test_empty_my_projects_offers_the_fill_button_that_starts_the_form(chat: OfflineChat) -> None:
    replies = await chat.send("我的项目", user_id=VICTIM)
    assert "填报结对项目" in last_text(replies) and buttons(replies) == ["填报结对项目"]
    replies = await chat.press("填报结对项目", user_id=VICTIM)
    assert "第1/16项 · 驻区高校/科研机构" in last_text(replies)
    await chat.send("/cancel", user_id=VICTIM)
    await chat.send("/my", user_id=VICTIM)
    replies = await chat.press(
        "填报结对项目", user_id=VICTIM
    )  # a paused draft is offered back, as /fill does
    assert buttons(replies) == ["继续填写", "重新开始"]


async def test_two_workers_taking_turns_on_one_user_file_every_answer_in_its_field(
    repo: SqlRepository,
) -> None:
    """Issue 12: consecutive messages of one user reach different workers (a load balancer); each worker
    must continue from the database, not from what it saw last (a stale draft once put the platform
    name into the university)."""
    workers = [FormFlow(repo, SPEC, lambda: IN_WINDOW), FormFlow(repo, SPEC, lambda: IN_WINDOW)]
    await workers[0].start(VICTIM)
    for turn in range(40):
        draft = await repo.get_draft(VICTIM)
        assert draft is not None
        session = FormSession.from_dict(SPEC, draft.state)
        if session.mode != "field":
            break
        field = SPEC.get(str(session.current))
        assert field is not None
        replies = await workers[turn % 2].handle_text(VICTIM, ANSWERS[field.id])
        assert replies[0].text.startswith(f"已记录 {field.label}："), (field.id, replies[0].text)
    assert "提交成功" in (await workers[1].handle_button(VICTIM, "f:submit"))[0].text
    (entry,) = await repo.entries_for_user(VICTIM)
    for field_id in ("university", "platform_name", "platform_type", "project_name"):
        assert entry.fields[field_id] == ANSWERS[field_id], field_id
