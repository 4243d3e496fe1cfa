"""Enterprise membership in the conversation core, with no channel at all: the filing gate, 同意 / 拒绝
buttons delivered as one-recipient messages, /join and /link (storage on SQLite/PostgreSQL)."""

from __future__ import annotations

from policies.conversation import Event
from policies.ports import Store
from tests.forms import TYPED
from tests.policies.test_conversation import CoreChat, actor, fill_to_summary, labels, make

CODE = TYPED["统一社会信用代码"]


async def filed(repo: Store, external: str, *, inbox: str | None = "web") -> CoreChat:
    """A user who went through /start (subscribed when `inbox`), /fill and 提交."""
    chat = CoreChat(make(repo), await actor(repo, external, inbox=inbox))
    await chat.send("/start")
    await chat.send("/fill")
    await fill_to_summary(chat)
    await chat.press("✅ 提交")
    return chat


async def inbox_texts(repo: Store, user_id: int) -> list[tuple[str, list[str]]]:
    """What reached a web-inbox user outside their own turns: (text, button data) per message."""
    out = []
    for _mid, payload, _at in await repo.messages_after(user_id):
        data = [b["data"] for row in payload.get("buttons") or [] for b in row]
        out.append((str(payload["text"]), data))
    return out


async def test_the_request_reaches_each_member_once_and_only_members_decide(repo: Store) -> None:
    first = await filed(repo, "first")
    second = await filed(repo, "second")
    assert "需由该企业现有成员同意" in second.last() and "提交成功" not in second.last()
    (ask,) = await inbox_texts(repo, first.actor.user_id)
    text, data = ask
    assert text.startswith("李娜申请以青岛海科智能装备有限公司名义填报，是否同意？")
    yes, no = data
    assert await inbox_texts(repo, second.actor.user_id) == []

    again = await second.send("/fill")  # the kept draft, then 提交 again: still waiting, no second ask
    assert "未完成的填报" in again[-1].text
    await second.press("继续填写")
    await second.press("✅ 提交")
    assert "仍在等待" in second.last()
    assert len(await inbox_texts(repo, first.actor.user_id)) == 1

    outsider = CoreChat(make(repo), await actor(repo, "outsider"))
    refused = await outsider.services.conversation.handle(outsider.actor, Event.button(yes))
    assert refused[0].alert and "不是该企业的成员" in refused[0].text
    self_approve = await second.services.conversation.handle(second.actor, Event.button(yes))
    assert "不是该企业的成员" in self_approve[0].text
    assert await repo.membership(CODE, second.actor.user_id) == "pending"

    decided = await first.services.conversation.handle(first.actor, Event.button(yes))
    assert "已同意李娜" in decided[0].text
    late = await first.services.conversation.handle(first.actor, Event.button(no))
    assert "已处理过" in late[0].text
    (told,) = await inbox_texts(repo, second.actor.user_id)
    assert "已获同意" in told[0]
    mine = await second.send("/my")
    (entry,) = await repo.entries_for_user(first.actor.user_id)
    assert f"#{entry.id}" in mine[1].text  # the enterprise's entry, filed by the first member


async def test_join_and_link_say_clearly_what_went_wrong(repo: Store) -> None:
    chat = CoreChat(make(repo), await actor(repo, "u1"))
    assert "/join 邀请码" in (await chat.send("/join"))[-1].text
    assert "邀请码无效" in (await chat.send("/join 不是邀请码"))[-1].text
    assert "关联码无效" in (await chat.send("/link 1234"))[-1].text
    shown = (await chat.send("/link"))[-1].text
    code = shown.split("关联码：", 1)[1].split()[0]
    assert "确认关联" in (await chat.send(f"/link {code}"))[-1].text
    assert "关联码无效" in (await chat.press("确认关联"))[-1].text  # one's own code links nothing
    assert "/link" in (await chat.send("/help"))[0].text and "/join" in (await chat.send("/help"))[0].text
    assert labels(chat.current)  # the menu is still there
