"""The conversation core with no channel at all: events in, replies out (storage on SQLite/PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from handlers.services import Services
from policies.conversation import Actor, Event
from policies.conversation import texts as t
from policies.ports import Store
from policies.replies import Button, Reply
from policies.settings import Settings
from tests.forms import PRESSED, TYPED, field_label
from tests.harness import policy_store

TODAY = dt.date(2026, 10, 12)  # week 3 of 2026Q4
NEXT_QUARTER_DAY = dt.date(2027, 1, 6)  # week 1 of 2027Q1


class CoreChat:
    """One user talking straight to `Conversation.handle`; presses buttons of the last reply that had any."""

    def __init__(self, services: Services, actor: Actor) -> None:
        self.services = services
        self.actor = actor
        self.current: Reply | None = None
        self.log: list[Reply] = []

    async def _handle(self, event: Event) -> list[Reply]:
        replies = await self.services.conversation.handle(self.actor, event)
        for reply in replies:
            if reply.buttons:
                self.current = reply
        self.log.extend(replies)
        return replies

    async def send(self, text: str) -> list[Reply]:
        return await self._handle(Event.message(text))

    async def press(self, label: str) -> list[Reply]:
        assert self.current is not None, "no buttons to press"
        button = next((b for row in self.current.buttons for b in row if b.label == label), None)
        assert button is not None, f"no button {label!r} in {labels(self.current)}"
        if button.data is None:
            return await self.send(button.label)
        return await self._handle(Event.button(button.data))

    def last(self) -> str:
        return self.log[-1].text


def labels(reply: Reply | None) -> list[str]:
    return [] if reply is None else [b.label for row in reply.buttons for b in row]


def field_of(text: str) -> str:
    label = field_label(text)
    assert label is not None, f"not a field prompt: {text!r}"
    return label


async def fill_to_summary(chat: CoreChat) -> None:
    for _ in range(40):
        text = chat.last()
        if "请核对填报内容" in text:
            return
        if "使用上次的企业信息" in text:
            await chat.press(labels(chat.current)[0])
            continue
        name = field_of(text.split("\n\n")[-1])
        if name == "共建形式":
            await chat.press("☐ 技术研发")
            await chat.press("✅ 完成")
        elif name in PRESSED:
            await chat.press(PRESSED[name])
        else:
            await chat.send(TYPED[name])
    raise AssertionError("never reached the summary")


def make(repo: Store, today: dt.date = TODAY, *, admin: bool = False) -> Services:
    settings = Settings(today_override=today, admin_ids=frozenset({42} if admin else set()))
    return Services(settings=settings, repo=repo, policies=policy_store())


async def actor(repo: Store, external: str = "u1", **kw: object) -> Actor:
    user_id = await repo.resolve_user("test", external)
    return Actor(user_id=user_id, channel="test", external_id=external, **kw)  # type: ignore[arg-type]


async def test_full_entry_with_back_edit_question_and_submit(repo: Store) -> None:
    chat = CoreChat(make(repo), await actor(repo))
    await chat.send("/start")
    assert labels(chat.current) == [t.MENU_ASK, t.MENU_FILL, t.MENU_MINE, t.MENU_HELP, t.MENU_FIND]
    await chat.press(t.MENU_FILL)
    await chat.press("中国石油大学（华东）")
    await chat.send("海洋工程装备重点实验室")
    back = await chat.press("⬅️ 上一步")
    assert "第2/16项 · 科创平台名称" in back[-1].text
    replies = await chat.send(
        "本季度清单什么时候截止？"
    )  # a question mid-form is answered, the field re-asked
    assert "来源" in replies[0].text and "第2/16项 · 科创平台名称" in replies[-1].text
    await fill_to_summary(chat)
    await chat.press("修改 平台联系人")
    replies = await chat.send("张老师")
    assert "4. 平台联系人：张老师" in replies[-1].text
    replies = await chat.press("✅ 提交")
    assert "提交成功" in replies[-1].text
    (entry,) = await repo.entries_for_user(chat.actor.user_id)
    assert entry.fields["platform_contact"] == "张老师" and entry.quarter == "2026Q4"


async def test_cancel_resume_and_multi_select_edits_in_place(repo: Store) -> None:
    chat = CoreChat(make(repo), await actor(repo))
    await chat.send("/fill")
    await chat.press("山东科技大学")
    assert "已暂停" in (await chat.send("/cancel"))[-1].text
    answer = await chat.send("海洋腐蚀与防护中心")  # paused: a question now, not an answer
    assert "已记录" not in answer[-1].text
    resumed = await chat.send("/start")
    assert "未完成的填报" in resumed[-1].text
    await chat.press("继续填写")
    for name in ("科创平台名称", "平台类型", "平台联系人", "平台联系电话", "企业名称", "统一社会信用代码",
                 "企业联系人", "企业联系人手机", "所属功能区/镇街", "共建项目名称"):  # fmt: skip
        if name in PRESSED:
            await chat.press(PRESSED[name])
        else:
            await chat.send(TYPED[name])
    toggled = await chat.press("☐ 技术研发")
    assert len(toggled) == 1 and toggled[0].edit and "☑ 技术研发" in labels(toggled[0])


async def test_duplicate_is_offered_as_update_and_next_quarter_update_keeps_history(repo: Store) -> None:
    me = await actor(repo)
    first = CoreChat(make(repo), me)
    await first.send("/fill")
    await fill_to_summary(first)
    await first.press("✅ 提交")
    again = CoreChat(make(repo), me)
    await again.send("/fill")
    await again.press("重新开始") if "重新开始" in labels(again.current) else None
    await fill_to_summary(again)
    offer = await again.press("✅ 提交")
    assert "更新已有项目" in labels(offer[-1])
    await again.press("更新已有项目")
    assert len(await repo.entries_for_user(me.user_id)) == 1

    later = CoreChat(make(repo, NEXT_QUARTER_DAY), me)
    (entry,) = await repo.entries_for_user(me.user_id)
    await later.send("/my")
    await later.press(f"更新进展 #{entry.id}")
    await later.press("已完成")
    done = await later.send("项目通过验收")
    assert "已更新" in done[-1].text
    quarters = sorted(e.quarter for e in await repo.entries_for_user(me.user_id))
    assert quarters == ["2026Q4", "2027Q1"]


async def test_admin_broadcast_compose_preview_confirm_sends_once(repo: Store) -> None:
    launched: list[int] = []

    async def launcher(broadcast_id: int, admin: Actor) -> bool:
        launched.append(broadcast_id)
        return True

    services = make(repo, admin=True)
    services.conversation.set_launcher(launcher)
    for n in range(3):
        await repo.upsert_subscriber(1000 + n, 1000 + n, f"用户{n}")
    chat = CoreChat(services, await actor(repo, "42", is_admin=True))
    await chat.send("/fill")  # an open draft must not swallow the broadcast text
    assert (await chat.send("/broadcast"))[-1].text == t.BC_ASK_TEXT
    preview = await chat.send("第五周路演报名开始")
    assert (
        preview[-1].text.startswith("【群发预览】将发送给 3 位订阅者")
        and "第五周路演报名开始" in preview[-1].text
    )
    confirm_data = preview[-1].buttons[0][0].data
    started = await chat.press(t.BC_CONFIRM)
    assert started[-1].edit and "共 3 人" in started[-1].text
    again = await chat._handle(Event.button(confirm_data or ""))  # a second press: still one broadcast
    assert again[-1].text == t.BC_EXPIRED
    assert len(launched) == 1
    draft = await repo.get_draft(chat.actor.user_id)
    assert draft is not None and "第五周路演报名开始" not in str(draft.state)


async def test_non_admins_and_group_chats_are_refused_and_audited(repo: Store) -> None:
    services = make(repo, admin=True)
    visitor = CoreChat(services, await actor(repo, "7"))
    for command in ("/broadcast", "/export", "/reload"):
        assert (await visitor.send(command))[-1].text == t.NO_PERMISSION
    forged = await services.conversation.handle(visitor.actor, Event.button("a:exp:ledger:all:xlsx"))
    assert forged[-1].text == t.NO_PERMISSION and forged[-1].file is None
    admin = await actor(repo, "42", is_admin=True, private=False)
    in_group = CoreChat(services, admin)
    assert (await in_group.send("/export"))[-1].text == t.PRIVATE_ONLY
    assert (await in_group.send("/broadcast 通知"))[-1].text == t.PRIVATE_ONLY
    pressed = await services.conversation.handle(admin, Event.button("a:exp:ledger:all:xlsx"))
    assert pressed[-1].text == t.PRIVATE_ONLY and pressed[-1].file is None


@pytest.mark.parametrize("command", ["/menu", "/foo", "/start@other_bot_x extra"])
async def test_unknown_commands_get_the_menu(repo: Store, command: str) -> None:
    chat = CoreChat(make(repo), await actor(repo))
    replies = await chat.send(command)
    if command.startswith("/start"):
        assert "您好" in replies[0].text
    else:
        assert "没有 /" in replies[0].text and replies[-1] == t.MENU


@pytest.mark.parametrize(
    "data",
    [
        "",
        "x" * 65,
        "e:hist:99999999999999999999999",
        "f:c:\ud800",
        "zz:1",
        "a:exp:nothing",
        "q:missing-topic",
    ],
)
async def test_malformed_buttons_never_crash(repo: Store, data: str) -> None:
    services = make(repo)
    replies = await services.conversation.handle(await actor(repo), Event.button(data))
    assert replies and all(isinstance(r, Reply) for r in replies)


async def test_same_user_across_channels_shares_the_draft(repo: Store) -> None:
    services = make(repo)
    on_telegram = await actor(repo, "tg")
    on_web = replace(on_telegram, channel="web", external_id="session")  # the identity issue links them
    await services.conversation.handle(on_telegram, Event.message("/fill"))
    await services.conversation.handle(on_telegram, Event.button("f:c:0:university"))
    replies = await services.conversation.handle(on_web, Event.message("/fill"))
    assert "第2/16项" in replies[-1].text


def test_button_data_fits_telegram() -> None:
    assert len(Button("x", "a:exp:leaderboard:2026Q4:xlsx").data or "") <= 64


async def test_a_middle_band_question_is_suggested_with_the_runners_up_as_buttons(repo: Store) -> None:
    """Issue 10: “您是不是想问：「…」”, the best answer, and two other topics to tap instead."""
    chat = CoreChat(make(repo), await actor(repo))
    [reply] = await chat.send("合作平台")
    assert reply.text.startswith("您是不是想问：「") and "中试验证" in reply.text
    assert len(labels(reply)) == 2 and all(
        b.data and b.data.startswith("q:") for r in reply.buttons for b in r
    )
    [other] = await chat.press(labels(reply)[0])
    assert "来源：" in other.text and not other.text.startswith("您是不是想问")


async def test_a_question_for_a_phone_the_documents_lack_is_declined(repo: Store) -> None:
    chat = CoreChat(make(repo), await actor(repo))
    [reply] = await chat.send("开放共享平台的客服电话多少")
    assert reply.text.startswith("抱歉") and "13210876217" in reply.text and len(labels(reply)) == 3
