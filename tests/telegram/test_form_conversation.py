"""Whole conversations through the real Application (handlers/app.py) and the offline fake Bot API."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from telegram.request import BaseRequest

from handlers.services import Services
from handlers.telegram.app import App, build_application
from policies.ports import Repository
from policies.settings import Settings
from policies.store import PolicyStore
from tests import forms
from tests.forms import PRESSED, TYPED
from tests.harness import all_text, buttons, internal_id, last_text, offline_chat
from tests.offline import OfflineChat

TODAY = dt.date(2026, 10, 14)  # week 3 of 2026Q4: its list is still open
USER = 10001


@pytest.fixture(scope="module")
def policies() -> PolicyStore:
    store = PolicyStore(Settings().policy_dir)
    store.load()
    return store


def factory(repo: Repository, policies: PolicyStore) -> object:
    svc = Services(settings=Settings(today_override=TODAY), repo=repo, policies=policies)

    def build(request: BaseRequest) -> App:
        return build_application(svc, request=request, schedule_reminders=False)

    return build


@pytest.fixture
async def chat(repo: Repository, policies: PolicyStore) -> AsyncIterator[OfflineChat]:
    async with offline_chat(factory(repo, policies)) as c:  # type: ignore[arg-type]
        yield c


def field_label(text: str) -> str:
    label = forms.field_label(text.split("\n\n")[-1])
    assert label is not None, f"not a field prompt: {text!r}"
    return label


async def fill_to_summary(chat: OfflineChat) -> None:
    """Answer each prompt the way a user would: buttons for choices, typing for the rest."""
    for _ in range(40):
        text = last_text(chat)
        if text.startswith("请核对填报内容") or "\n\n请核对填报内容" in text:
            return
        label = field_label(text.split("\n\n")[-1])
        if label == "共建形式":
            await chat.press("☐ 技术研发")
            await chat.press("☐ 中试验证")
            await chat.press("✅ 完成")
        elif label in PRESSED:
            await chat.press(PRESSED[label])
        else:
            await chat.send(TYPED[label])
    raise AssertionError("never reached the summary")


async def test_fill_edit_submit_then_update_progress_and_history(chat: OfflineChat, repo: Repository) -> None:
    await chat.send("/start")
    replies = await chat.press("填报结对项目")  # the reply-keyboard menu button
    assert "第1/16项 · 驻区高校/科研机构" in last_text(replies)
    assert len(replies) == 2  # intro + first question; the label is not also answered as a question
    await fill_to_summary(chat)
    assert "12. 共建形式：技术研发、中试验证" in last_text(chat)

    await chat.press("修改 科创平台名称")
    replies = await chat.send("海洋腐蚀与防护中心")
    assert "2. 科创平台名称：海洋腐蚀与防护中心" in last_text(replies)
    replies = await chat.press("✅ 提交")
    assert "提交成功" in last_text(replies) and "2026年第四季度" in last_text(replies)
    (entry,) = await repo.entries_for_user(await internal_id(repo, USER))
    assert entry.platform_name == "海洋腐蚀与防护中心" and entry.quarter == "2026Q4"

    replies = await chat.send("/my")
    assert "【中国石油大学（华东）】" in all_text(replies)
    await chat.press(f"更新进展 #{entry.id}")
    await chat.press("已完成")
    replies = await chat.send("项目通过验收")
    assert "已更新" in last_text(replies)
    replies = await chat.send("我的项目")
    await chat.press(f"查看历史 #{entry.id}")
    assert "项目状态：在建 → 已完成" in last_text(chat)
    assert len(chat.fake.callback_answers) >= 10  # every press was answered


async def test_multi_select_toggles_edit_the_same_message(chat: OfflineChat, repo: Repository) -> None:
    await chat.send("/fill")
    await chat.press("山东科技大学")
    for label in ("科创平台名称", "平台类型", "平台联系人", "平台联系电话", "企业名称", "统一社会信用代码"):
        if label in PRESSED:
            await chat.press(PRESSED[label])
        else:
            await chat.send(TYPED[label])
    for label in ("企业联系人", "企业联系人手机"):
        await chat.send(TYPED[label])
    await chat.press("中德生态园")
    replies = await chat.send(TYPED["共建项目名称"])
    prompt_id = replies[-1].message_id
    replies = await chat.press("☐ 订单班")
    assert [m.message_id for m in replies] == [prompt_id] and replies[0].edited
    assert "☑ 订单班" in buttons(replies)
    await chat.press("☐ 其他")
    replies = await chat.press("✅ 完成")
    assert "请输入共建形式（其他）" in last_text(replies)
    replies = await chat.send("共建联合实验室")
    assert "已记录 共建形式：订单班、共建联合实验室" in last_text(replies)


async def test_invalid_answers_are_reasked(chat: OfflineChat) -> None:
    await chat.send("/fill")
    await chat.press("青岛理工大学")
    replies = await chat.send("a")
    assert "科创平台名称至少 2 字" in last_text(replies)
    await chat.send(TYPED["科创平台名称"])
    await chat.press("实验室")
    await chat.send("王老师")
    replies = await chat.send("86981234")
    assert "座机号码请加区号" in last_text(replies) and "平台联系电话" in last_text(replies)


async def test_question_mid_form_and_media_hint(chat: OfflineChat, repo: Repository) -> None:
    await chat.send("/fill")
    await chat.press("山东科技大学")
    replies = await chat.send("本季度清单什么时候截止？")
    assert "来源" in all_text(replies)
    assert "第2/16项 · 科创平台名称" in last_text(replies)
    replies = await chat.send_photo()
    assert "请输入文字，当前需要填写：科创平台名称" in last_text(replies)
    replies = await chat.send("帮助")  # a menu label is never taken as the answer
    assert "/fill" in all_text(replies) and "已记录" not in all_text(replies)
    draft = await repo.get_draft(await internal_id(repo, USER))
    assert draft is not None and "platform_name" not in draft.state["answers"]


async def test_cancel_then_questions_then_resume(chat: OfflineChat) -> None:
    await chat.send("/fill")
    await chat.press("中国海洋大学")
    replies = await chat.press("取消")
    assert "已暂停，草稿已保存，发送 /start 可继续填写" in last_text(replies)
    replies = await chat.send("海洋腐蚀与防护中心")  # paused: free text is a question, not an answer
    assert "已记录" not in all_text(replies)
    replies = await chat.send_photo()
    assert "请输入文字，当前需要填写" not in all_text(replies)
    replies = await chat.send("/start")
    assert "未完成的填报（已填 1 项）" in last_text(replies)
    replies = await chat.press("继续填写")
    assert "第2/16项 · 科创平台名称" in last_text(replies)
    replies = await chat.send("/cancel")
    assert "已暂停" in last_text(replies)
    replies = await chat.send("/fill")
    assert buttons(replies) == ["继续填写", "重新开始"]
    replies = await chat.press("重新开始")
    assert "第1/16项" in last_text(replies)


async def test_a_restarted_bot_resumes_the_draft(repo: Repository, policies: PolicyStore) -> None:
    async with offline_chat(factory(repo, policies)) as first:  # type: ignore[arg-type]
        await first.send("/fill")
        await first.press("青岛黄海学院")
        await first.send("智能网联汽车测试中心")
    async with offline_chat(factory(repo, policies)) as second:  # type: ignore[arg-type]
        replies = await second.send("中心")
        assert "已记录 平台类型：中心" in last_text(replies)
        assert "第4/16项 · 平台联系人" in last_text(replies)


async def test_two_users_fill_side_by_side(chat: OfflineChat, repo: Repository) -> None:
    await chat.send("/fill", user_id=1)
    await chat.send("/fill", user_id=2)
    await chat.press("山东科技大学", user_id=1)
    await chat.press("青岛滨海学院", user_id=2)
    await chat.send("一号平台", user_id=1)
    await chat.send("二号平台", user_id=2)
    one, two = await repo.get_draft(1), await repo.get_draft(2)
    assert one is not None and two is not None
    assert one.state["answers"] == {"university": "山东科技大学", "platform_name": "一号平台"}
    assert two.state["answers"] == {"university": "青岛滨海学院", "platform_name": "二号平台"}
