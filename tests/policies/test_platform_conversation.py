"""找平台 through the conversation core: the menu, free text, cards, paging and filters, “与该平台结对”
into the form, picking a platform in the form, and the one-tap quarterly "no change" update."""

from __future__ import annotations

import datetime as dt

from policies.conversation import Event
from policies.conversation import texts as t
from policies.ports import Store
from policies.records import F_PLATFORM_CONTACT, F_PLATFORM_NAME, F_PLATFORM_PHONE, F_PLATFORM_TYPE
from tests.platforms_support import by_name, load_sample
from tests.policies.test_conversation import CoreChat, actor, field_of, fill_to_summary, labels, make

CORROSION = "海洋腐蚀与防护检测中心"
COATING = "海洋装备防腐涂层中试验证平台"


async def chat_with_sample(repo: Store, today: dt.date | None = None) -> CoreChat:
    await load_sample(repo)
    services = make(repo) if today is None else make(repo, today)
    return CoreChat(services, await actor(repo))


async def test_menu_search_card_pair_and_submit_a_linked_entry(repo: Store) -> None:
    chat = await chat_with_sample(repo)
    await chat.send("/start")
    assert t.MENU_FIND in labels(chat.current)
    await chat.press(t.MENU_FIND)
    assert "请输入想找的技术方向或服务" in chat.last()
    await chat.send("防腐涂层中试")
    cards = chat.last()
    assert cards.startswith("找到 1 个相关平台")
    assert "【示例数据】" in cards  # the sample is marked wherever it shows
    assert f"① {COATING}【示例数据】\n   中国石油大学（华东） · 中试验证平台" in cards
    assert "提供：中试验证；涂层性能检测" in cards and "联系人：王老师 0532-80000101" in cards
    await chat.press("与该平台结对 ①")
    assert "已填入平台：海洋装备防腐涂层中试验证平台（示例数据）" in chat.last()
    assert field_of(chat.last().split("\n\n")[-1]) == "企业名称"  # 高校, 平台, 类型, 联系人, 电话 all filled
    await fill_to_summary(chat)
    summary = chat.last()
    assert f"科创平台名称：{COATING}" in summary and "平台联系人：王老师" in summary
    await chat.press("修改 平台联系人")  # the user can still change what the catalogue filled in
    await chat.send("赵老师")
    await chat.press("✅ 提交")
    assert "提交成功" in chat.last()
    [entry] = await repo.entries_for_user(chat.actor.user_id)
    platform = by_name(await repo.current_platforms(), COATING)
    assert entry.platform_id == platform.id
    assert entry.fields[F_PLATFORM_NAME] == COATING and entry.fields[F_PLATFORM_TYPE] == "中试验证平台"
    assert entry.fields[F_PLATFORM_CONTACT] == "赵老师" and entry.fields[F_PLATFORM_PHONE] == "0532-80000101"


async def test_free_text_platform_search_and_policy_questions_both_ways(repo: Store) -> None:
    chat = await chat_with_sample(repo)
    await chat.send("有没有做防腐涂层中试的平台")
    assert chat.last().startswith("找到 1 个相关平台") and COATING in chat.last()
    await chat.send("哪個平台能做海洋腐蝕檢測")  # Traditional
    assert chat.last().split("\n")[2].startswith(f"① {CORROSION}")
    await chat.send("海洋腐蚀检测")  # no platform wording, the FAQ has nothing: the catalogue answers
    assert chat.last().startswith(t.PF_FROM_FAQ) and CORROSION in chat.last()
    await chat.send("每季度第几周提交清单？")  # policy questions keep their FAQ answers
    assert "来源：" in chat.last() and "相关平台" not in chat.last()
    await chat.send("创新联合体需要几家企业？")
    assert "不少于3家" in chat.last()
    await chat.send("科创平台结对共建清单什么时候截止")
    assert "截止" in chat.last() and "相关平台" not in chat.last()


async def test_without_a_catalogue_nothing_changes_for_questions(repo: Store) -> None:
    chat = CoreChat(make(repo), await actor(repo))
    await chat.send("有没有做防腐涂层中试的平台")
    assert "相关平台" not in chat.last()
    await chat.send("找平台")
    assert chat.last() == t.PF_EMPTY_CATALOGUE


async def test_paging_and_filters_by_university_and_type(repo: Store) -> None:
    chat = await chat_with_sample(repo)
    await chat.send("/find 海洋")
    first = chat.last()
    count = int(first.removeprefix("找到 ").split(" ")[0])
    assert count > 6 and "第 1–3 个" in first
    await chat.press(f"更多（还有 {count - 3} 个）")
    assert "第 4–6 个" in chat.last()
    await chat.press(t.PF_BY_UNIVERSITY)
    assert chat.last() == t.PF_CHOOSE_UNIVERSITY
    choice = next(label for label in labels(chat.current) if label.startswith("中国海洋大学（"))
    await chat.press(choice)
    page = chat.last()
    assert "（中国海洋大学）" in page and "第 1–" in page
    assert all(line.split(" · ")[0].strip() == "中国海洋大学" for line in page.splitlines() if " · " in line)
    await chat.press(t.PF_BY_TYPE)
    await chat.press(next(label for label in labels(chat.current) if label.startswith("中试验证平台（")))
    page = chat.last()
    assert "（中国海洋大学，中试验证平台）" in page and "海洋药物中试验证平台" in page
    await chat.press(t.PF_CLEAR)
    assert chat.last().startswith(f"找到 {count} 个相关平台，第 1–3 个")


async def test_the_form_offers_the_universitys_platforms_after_the_university(repo: Store) -> None:
    chat = await chat_with_sample(repo)
    await chat.send("/fill")
    await chat.press("中国海洋大学")
    offered = labels(chat.current)
    assert offered[:4] == [f"{CORROSION}（示例数据）", "海洋药物中试验证平台（示例数据）",
                           "水产养殖装备实验室（示例数据）", "其他（输入名称）"]  # fmt: skip
    await chat.press(f"{CORROSION}（示例数据）")
    assert "已填入平台" in chat.last() and field_of(chat.last().split("\n\n")[-1]) == "企业名称"
    await chat.press("⬅️ 上一步")  # back to the platform step, offered again
    assert field_of(chat.last()) == "科创平台名称" and "其他（输入名称）" in labels(chat.current)
    await chat.press("其他（输入名称）")
    assert "请输入科创平台名称（其他）" in chat.last()
    await chat.send("海洋新材料联合实验室")  # not in the catalogue: typed, the rest asked as before
    assert field_of(chat.last().split("\n\n")[-1]) == "平台类型"


async def test_typing_a_catalogue_name_fills_the_rest(repo: Store) -> None:
    chat = await chat_with_sample(repo)
    await chat.send("/fill")
    await chat.press("中国海洋大学")
    await chat.send("海洋药物中试验证平台")
    assert "联系人 褚老师，0532-80000402" in chat.last()
    assert field_of(chat.last().split("\n\n")[-1]) == "企业名称"


async def test_pairing_continues_an_active_draft(repo: Store) -> None:
    chat = await chat_with_sample(repo)
    await chat.send("/fill")
    await chat.press("山东科技大学")
    await chat.send("/cancel")
    await chat.send("/find 海洋腐蚀检测")
    await chat.press("与该平台结对 ①")
    assert "已填入平台" in chat.last() and "您有一份未完成" not in chat.last()
    draft = await repo.get_draft(chat.actor.user_id)
    assert draft is not None and draft.state["answers"]["university"] == "中国海洋大学" and not draft.paused


async def test_quarterly_no_change_update_in_three_taps(repo: Store) -> None:
    q4 = await repo.create_entry(
        1,
        "2026Q4",
        {
            "university": "中国海洋大学",
            "platform_name": CORROSION,
            "project_name": "腐蚀检测",
            "status": "在建",
        },
    )
    chat = CoreChat(make(repo, dt.date(2027, 1, 6)), await actor(repo))
    assert chat.actor.user_id == 1
    await chat.send(t.MENU_MINE)  # 1
    await chat.press(f"更新进展 #{q4.id}")  # 2
    await chat.press("无变化（沿用上季度）")  # 3
    assert chat.last().startswith("✅ 已更新：腐蚀检测（2027年第一季度，状态：在建）")
    entries = await repo.entries_for_user(1)
    assert [(e.quarter, e.origin_id) for e in entries] == [("2026Q4", None), ("2027Q1", q4.id)]


async def test_stale_and_malformed_platform_buttons(repo: Store) -> None:
    chat = await chat_with_sample(repo)
    for data in ("p:more", "p:u:1", "p:bogus"):
        replies = await chat.services.conversation.handle(chat.actor, Event.button(data))
        assert replies[0].text == t.STALE_BUTTON
    replies = await chat.services.conversation.handle(chat.actor, Event.button("p:pair:99999"))
    assert replies[0].text == t.PF_STALE
    await chat.send("/find 海洋")
    replies = await chat.services.conversation.handle(chat.actor, Event.button("p:u:99"))
    assert replies[0].text == t.STALE_BUTTON
