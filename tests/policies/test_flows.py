from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import pytest
from stdnum.cn import uscc

from policies.flows import PAUSED, FormFlow, looks_like_question
from policies.form import FormSession, FormSpec
from policies.ports import Repository
from policies.replies import Reply

SPEC = FormSpec.load()
USER = 1001

TYPED = {
    "university": "中国石油大学（华东）",
    "platform_name": "山东省海洋工程装备重点实验室",
    "platform_type": "实验室",
    "platform_contact": "王老师",
    "platform_phone": "0532-86981234",
    "enterprise_name": "青岛海科智能装备有限公司",
    "credit_code": "91110000600037341L",
    "enterprise_contact": "李娜",
    "enterprise_phone": "13210876217",
    "district": "中德生态园",
    "project_name": "海洋装备防腐涂层中试验证",
    "cooperation_forms": "技术研发、中试验证",
    "project_content": "2025年4月与石油大学签约，共建防腐涂层中试线",
    "signed_on": "2025-04-18",
    "status": "在建",
    "progress": "已完成中试样机调试",
}


class Clock:
    def __init__(self, day: dt.date) -> None:
        self.day = day

    def __call__(self) -> dt.date:
        return self.day


@dataclass
class FakeAnswer:
    matched: bool
    text: str


def fake_ask(text: str) -> FakeAnswer:
    if "截止" in text:
        return FakeAnswer(True, "本季度清单请于第三周周五前提交。\n来源：致驻青岛西海岸新区企业的公开信")
    return FakeAnswer(False, "没有找到确切答案")


# Week 3 of 2026Q4, before its deadline (Friday 2026-10-16, extendable to 2026-10-23).
TODAY = dt.date(2026, 10, 14)


def make_flow(repo: Repository, day: dt.date = TODAY) -> FormFlow:
    return FormFlow(repo, SPEC, Clock(day), fake_ask)


def button(replies: list[Reply], label: str) -> str:
    for reply in replies:
        for row in reply.buttons:
            for b in row:
                if b.label == label or b.label.endswith(" " + label):
                    assert b.data is not None
                    return b.data
    raise AssertionError(f"no button {label!r} in {[r.text[:30] for r in replies]}")


async def session_of(repo: Repository, user_id: int) -> FormSession:
    draft = await repo.get_draft(user_id)
    assert draft is not None
    return FormSession.from_dict(SPEC, draft.state)


async def type_all(flow: FormFlow, user_id: int, **override: str) -> list[Reply]:
    """Answer every field by typing, until the summary."""
    typed = {**TYPED, **override}
    replies: list[Reply] = []
    for _ in range(40):
        session = await session_of(flow.repo, user_id)
        if session.mode != "field":
            return replies
        assert session.current is not None
        replies = await flow.handle_text(user_id, typed[session.current])
    raise AssertionError("the form did not reach the summary")


async def file_entry(flow: FormFlow, user_id: int = USER, **override: str) -> list[Reply]:
    replies = await flow.start(user_id)
    if "使用上次的企业信息" in replies[-1].text:
        replies = await flow.handle_button(user_id, "f:prof:n")
    await type_all(flow, user_id, **override)
    return await flow.handle_button(user_id, "f:submit")


async def test_happy_path_stores_entry_profile_and_drops_draft(repo: Repository) -> None:
    flow = make_flow(repo)
    first = await flow.start(USER)
    assert "2026年第四季度" in first[0].text and first[1].text.startswith("第1/16项")
    summary = await type_all(flow, USER, credit_code="9111 0000 6000 3734 1l")
    assert "7. 统一社会信用代码：91110000600037341L" in summary[-1].text
    done = await flow.handle_button(USER, "f:submit")
    assert "提交成功" in done[0].text and "2026年第四季度" in done[0].text
    assert "一个高校院所一张清单" in done[0].text
    (entry,) = await repo.entries_for_user(USER)
    assert entry.quarter == "2026Q4" and entry.university == "中国石油大学（华东）"
    assert entry.credit_code == "91110000600037341L"
    assert entry.fields["cooperation_forms"] == ["技术研发", "中试验证"]
    assert entry.fields["signed_on"] == "2025-04-18"
    assert await repo.get_draft(USER) is None
    assert not await flow.is_active(USER)
    profile = await repo.get_profile(USER)
    assert profile is not None and profile.contact_phone == "13210876217"


async def test_next_form_offers_the_remembered_enterprise(repo: Repository) -> None:
    flow = make_flow(repo)
    await file_entry(flow)
    offer = await flow.start(USER)
    assert "使用上次的企业信息：青岛海科智能装备有限公司" in offer[-1].text
    await flow.handle_button(USER, button(offer, "是，使用"))
    asked: list[str] = []
    for _ in range(40):
        session = await session_of(repo, USER)
        if session.mode != "field":
            break
        assert session.current is not None
        asked.append(session.current)
        await flow.handle_text(USER, {**TYPED, "project_name": "第二个项目"}[session.current])
    assert "credit_code" not in asked and "enterprise_name" not in asked and "university" in asked
    await flow.handle_button(USER, "f:submit")
    assert len(await repo.entries_for_user(USER)) == 2


async def test_duplicate_is_offered_as_update_with_history(repo: Repository) -> None:
    flow = make_flow(repo)
    await file_entry(flow)
    offer = await file_entry(flow, progress="小批量试制中", platform_name="山东省海洋工程装备重点实验室 ")
    assert "本季度已填报过相同的项目" in offer[0].text
    data = button(offer, "更新已有项目")
    (original,) = await repo.entries_for_user(USER)
    assert data == f"f:upd:{original.id}"
    forged = await flow.handle_button(USER, "f:upd:999")
    assert "已过期" in forged[0].text and button(forged, "更新已有项目") == data
    done = await flow.handle_button(USER, data)
    assert "已更新本季度已有项目" in done[0].text
    (entry,) = await repo.entries_for_user(USER)
    assert entry.fields["progress"] == "小批量试制中"
    changes = await repo.history(entry.id)
    assert [(c.field, c.old, c.new) for c in changes] == [("progress", "已完成中试样机调试", "小批量试制中")]
    assert await repo.get_draft(USER) is None


async def test_duplicate_can_still_be_created(repo: Repository) -> None:
    flow = make_flow(repo)
    await file_entry(flow)
    offer = await file_entry(flow)
    await flow.handle_button(USER, button(offer, "仍然新建"))
    assert len(await repo.entries_for_user(USER)) == 2


async def test_carry_forward_into_the_next_quarter_keeps_history(repo: Repository) -> None:
    flow = make_flow(repo, dt.date(2026, 7, 15))
    await file_entry(flow, signed_on="2026-07-01")
    (old,) = await repo.entries_for_user(USER)
    assert old.quarter == "2026Q3"

    later = make_flow(repo, TODAY)
    mine = await later.my_entries(USER)
    assert "【中国石油大学（华东）】" in mine[1].text and "2026年第三季度" in mine[1].text
    ask_status = await later.handle_button(USER, button(mine, f"更新进展 #{old.id}"))
    assert "请选择项目最新状态" in ask_status[-1].text
    assert await later.is_active(USER)
    ask_progress = await later.handle_button(USER, button(ask_status, "已完成"))
    assert "请输入项目最新进展" in ask_progress[0].text and "已完成中试样机调试" in ask_progress[0].text
    done = await later.handle_text(USER, "项目通过验收，进入量产")
    assert "已更新" in done[0].text and "原记录和修改历史均保留" in done[0].text
    assert not await later.is_active(USER)

    entries = await repo.entries_for_user(USER)
    new = next(e for e in entries if e.quarter == "2026Q4")
    assert new.origin_id == old.id and new.status == "已完成"
    assert (await repo.get_entry(old.id)).status == "在建"  # type: ignore[union-attr]
    history = await later.handle_button(USER, f"e:hist:{new.id}")
    assert "项目状态：在建 → 已完成" in history[0].text and "您" in history[0].text
    listing = await later.my_entries(USER)
    assert "已结转到下一季度" in listing[1].text
    assert f"e:upd:{old.id}" not in [b.data for r in listing for row in r.buttons for b in row]


async def test_update_asks_for_the_signing_date_when_status_needs_it(repo: Repository) -> None:
    flow = make_flow(repo)
    await file_entry(flow, signed_on="跳过", status="洽谈中", progress="跳过")
    (entry,) = await repo.entries_for_user(USER)
    assert "signed_on" not in entry.fields
    replies = await flow.handle_button(USER, f"e:upd:{entry.id}")
    replies = await flow.handle_button(USER, button(replies, "已签约"))
    assert "请补充签约日期" in replies[0].text
    replies = await flow.handle_text(USER, "2026-13-01")
    assert "不是有效日期" in replies[0].text
    await flow.handle_text(USER, "2026年10月2日")
    await flow.handle_button(USER, f"e:skip:{entry.id}")
    (updated,) = await repo.entries_for_user(USER)  # same quarter: updated in place
    assert updated.status == "已签约" and updated.fields["signed_on"] == "2026-10-02"


async def test_entries_of_others_are_refused(repo: Repository) -> None:
    flow = make_flow(repo)
    await file_entry(flow)
    (entry,) = await repo.entries_for_user(USER)
    for data in (f"e:upd:{entry.id}", f"e:hist:{entry.id}", "e:upd:999"):
        assert "只能查看和更新您本人或您所在企业" in (await flow.handle_button(2002, data))[0].text
    assert "按钮已失效" in (await flow.handle_button(2002, "e:hist:abc"))[0].text
    assert not await flow.is_active(2002)


async def test_cancel_pauses_and_resume_continues(repo: Repository) -> None:
    flow = make_flow(repo)
    await flow.start(USER)
    await flow.handle_text(USER, "山东科技大学")
    paused = await flow.handle_button(USER, "f:cancel")
    assert paused[0].text == PAUSED
    assert not await flow.is_active(USER)
    draft = await repo.get_draft(USER)
    assert draft is not None and draft.paused
    offer = await flow.start(USER)
    assert "未完成的填报（已填 1 项）" in offer[0].text
    resumed = await flow.handle_button(USER, button(offer, "继续填写"))
    assert "第2/16项 · 科创平台名称" in resumed[0].text
    assert await flow.is_active(USER)


async def test_start_command_pauses_an_active_draft_and_discard_deletes(repo: Repository) -> None:
    flow = make_flow(repo)
    await flow.start(USER)
    assert await flow.is_active(USER)
    offer = await flow.offer_resume(USER)
    assert not await flow.is_active(USER)
    await flow.handle_button(USER, button(offer, "放弃草稿"))
    assert await repo.get_draft(USER) is None
    assert await flow.offer_resume(USER) == []


async def test_a_new_flow_on_the_same_database_resumes_the_draft(repo: Repository) -> None:
    await make_flow(repo).start(USER)
    await make_flow(repo).handle_text(USER, "青岛理工大学")
    restarted = make_flow(repo)  # as after kill -9: nothing in memory
    assert await restarted.is_active(USER)
    replies = await restarted.handle_text(USER, "机器人协同创新中心")
    assert "已记录 科创平台名称：机器人协同创新中心" in replies[0].text
    assert "第3/16项 · 平台类型" in replies[0].text
    session = await session_of(repo, USER)
    assert session.answers["university"] == "青岛理工大学"


async def test_pending_entry_update_survives_a_restart(repo: Repository) -> None:
    flow = make_flow(repo)
    await file_entry(flow)
    (entry,) = await repo.entries_for_user(USER)
    await flow.handle_button(USER, f"e:upd:{entry.id}")
    await flow.handle_button(USER, f"e:st:{entry.id}:4")
    restarted = make_flow(repo)
    assert await restarted.is_active(USER)
    await restarted.handle_text(USER, "已验收")
    (updated,) = await repo.entries_for_user(USER)
    assert updated.status == "已完成" and updated.fields["progress"] == "已验收"


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("credit_code", "91110000600037341A", "统一社会信用代码校验位不正确"),
        ("enterprise_phone", "0532-86981234", "手机号码不正确"),
        ("platform_phone", "86981234", "座机号码请加区号"),
        ("signed_on", "2025-02-30", "不是有效日期"),
        ("signed_on", "2027-01-01", "晚于今天"),
    ],
)
async def test_invalid_answers_are_reasked_with_the_specific_message(
    repo: Repository, field: str, bad: str, message: str
) -> None:
    flow = make_flow(repo)
    await flow.start(USER)
    for _ in range(20):
        session = await session_of(repo, USER)
        if session.current == field:
            break
        assert session.current is not None
        await flow.handle_text(USER, TYPED[session.current])
    replies = await flow.handle_text(USER, bad)
    assert message in replies[0].text
    assert SPEC[field].prompt in replies[0].text  # asked again
    assert (await session_of(repo, USER)).current == field
    await flow.handle_text(USER, TYPED[field])
    assert (await session_of(repo, USER)).answers[field]


async def test_question_mid_form_is_answered_and_the_field_asked_again(repo: Repository) -> None:
    flow = make_flow(repo)
    await flow.start(USER)
    await flow.handle_text(USER, "山东科技大学")
    replies = await flow.handle_text(USER, "清单截止时间是哪天？")
    assert "第三周周五" in replies[0].text and "来源" in replies[0].text
    assert "第2/16项 · 科创平台名称" in replies[1].text
    session = await session_of(repo, USER)
    assert session.current == "platform_name" and "platform_name" not in session.answers
    # Question-like text the matcher is not sure about is an ordinary answer.
    await flow.handle_text(USER, "怎么样都行实验室")
    assert (await session_of(repo, USER)).answers["platform_name"] == "怎么样都行实验室"


async def test_oversize_text_is_refused_without_touching_the_draft(repo: Repository) -> None:
    flow = make_flow(repo)
    await flow.start(USER)
    before = (await session_of(repo, USER)).to_dict()
    replies = await flow.handle_text(USER, "长" * 5000)
    assert "4096" in replies[0].text
    assert (await session_of(repo, USER)).to_dict() == before


def test_question_detection() -> None:
    assert looks_like_question("截止时间是哪天？")
    assert looks_like_question("如何申请补贴")
    assert looks_like_question("可以延期吗")
    assert not looks_like_question("山东省海洋工程装备重点实验室")


def code(i: int) -> str:
    base = f"91370211{i:09d}"
    return base + uscc.calc_check_digit(base)


async def test_twenty_concurrent_users_lose_and_cross_nothing(repo: Repository) -> None:
    flow = make_flow(repo)
    users = range(5000, 5020)

    async def one(uid: int) -> None:
        await file_entry(
            flow,
            uid,
            enterprise_name=f"青岛测试企业{uid}有限公司",
            credit_code=code(uid),
            project_name=f"项目{uid}",
        )

    await asyncio.gather(*(one(uid) for uid in users))
    for uid in users:
        (entry,) = await repo.entries_for_user(uid)
        assert entry.project_name == f"项目{uid}" and entry.credit_code == code(uid)
        assert entry.enterprise_name == f"青岛测试企业{uid}有限公司"
        assert await repo.get_draft(uid) is None


async def test_two_quick_messages_from_one_user_are_both_kept(repo: Repository) -> None:
    flow = make_flow(repo)
    await flow.start(USER)
    await asyncio.gather(
        flow.handle_text(USER, "山东科技大学"), flow.handle_text(USER, "智能制造协同创新中心")
    )
    session = await session_of(repo, USER)
    assert session.answers == {"university": "山东科技大学", "platform_name": "智能制造协同创新中心"}
