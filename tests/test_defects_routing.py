"""Issue-7 routing defects, through the fully wired Telegram application (every handler registered)."""

from __future__ import annotations

import datetime as dt

from policies.conversation import texts as t
from policies.ports import Store
from policies.settings import Settings
from tests.harness import buttons, documents, last_text, offline_chat, texts, wired_app

ADMIN = 4242
GROUP = 777_000  # a group chat the admin writes from
TODAY = dt.date(2026, 10, 12)


def app(repo: Store):  # type: ignore[no-untyped-def]
    return wired_app(repo, Settings(admin_ids=frozenset({ADMIN}), today_override=TODAY))


async def test_broadcast_in_two_messages_previews_even_with_a_draft_open(repo: Store) -> None:
    """Item 1: the form's text handler used to swallow the text after /broadcast."""
    await repo.upsert_subscriber(1, 1, "企业甲")
    async with offline_chat(app(repo), user_id=ADMIN) as chat:
        await chat.send("/fill")  # an open draft
        assert last_text(await chat.send("/broadcast")) == t.BC_ASK_TEXT
        preview = await chat.send("第五周路演报名开始")
        assert last_text(preview).startswith("【群发预览】将发送给 1 位订阅者")
        assert buttons(preview) == [t.BC_CONFIRM, t.BC_CANCEL]
        draft = await repo.get_draft(await repo.find_user("telegram", str(ADMIN)) or 0)
        assert draft is not None and "第五周路演报名开始" not in str(draft.state)


async def test_export_and_broadcast_in_a_group_chat_are_refused(repo: Store) -> None:
    """Item 8: an admin's /export in a group posted the whole ledger to the group."""
    await repo.create_entry(1, "2026Q4", {"university": "中国石油大学（华东）", "project_name": "联合研发"})
    async with offline_chat(app(repo), user_id=ADMIN) as chat:
        for command in ("/export", "/broadcast 明天开会", "/broadcast"):
            update = chat.fake.user_says(ADMIN, command, enqueue=False)
            update["message"]["chat"] = {"id": GROUP, "type": "group", "title": "结对共建工作群"}
            replies = await chat.process(update, GROUP)
            assert texts(replies) == [t.PRIVATE_ONLY]
        assert documents(chat.history(GROUP)) == []


async def test_unknown_command_gets_the_menu(repo: Store) -> None:
    """Item 16: /menu used to get no reply at all."""
    async with offline_chat(app(repo)) as chat:
        replies = await chat.send("/menu")
        assert "没有 /menu 这个命令" in texts(replies)[0]
        assert buttons(replies) == [t.MENU_ASK, t.MENU_FILL, t.MENU_MINE, t.MENU_HELP, t.MENU_FIND]


async def test_a_broken_name_or_text_never_reaches_the_database(repo: Store) -> None:
    """Lone surrogates and NULs (a broken client's JSON escapes) are cleaned before anything is stored."""
    async with offline_chat(app(repo), user_id=31337, name="\u200b李\x00娜") as chat:
        replies = await chat.send("/start")
        assert "您好，李娜" in texts(replies)[0]
        replies = await chat.send("\ud800补贴\x00多少？")
        assert replies and "Traceback" not in texts(replies)[-1]
    (subscriber,) = await repo.active_subscribers()
    assert subscriber.name == "李娜"
