"""/start, the menu, /help and free-text questions through the real Application (offline Bot API)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from handlers.services import Services
from handlers.telegram.app import App, build_application
from handlers.telegram.context import services_of
from policies.conversation import texts as t
from policies.ports import Repository
from policies.settings import Settings
from policies.store import PolicyStore
from tests.harness import all_text, buttons, last_text, offline_chat, texts
from tests.offline import OfflineChat

TODAY = dt.date(2026, 10, 5)  # week 2 of 2026Q4; the deadline is Friday 2026-10-16


@pytest.fixture(scope="module")
def policies() -> PolicyStore:
    store = PolicyStore(Settings().policy_dir)
    store.load()
    return store


def factory(repo: Repository, policies: PolicyStore, **build: Any) -> Any:
    svc = Services(settings=Settings(today_override=TODAY), repo=repo, policies=policies)

    def make(request: Any) -> App:
        return build_application(svc, request=request, schedule_reminders=False, **build)

    return make


@pytest.fixture
async def chat(repo: Repository, policies: PolicyStore) -> AsyncIterator[OfflineChat]:
    async with offline_chat(factory(repo, policies)) as c:
        yield c


async def test_start_greets_subscribes_and_shows_the_menu(chat: OfflineChat, repo: Repository) -> None:
    replies = await chat.send("/start", name="王经理")
    assert "您好，王经理" in all_text(replies)
    assert buttons(replies) == ["问政策", "填报结对项目", "我的项目", "帮助", "找平台"]
    internal = await repo.find_user("telegram", str(chat.user_id))  # type: ignore[attr-defined]
    assert [(s.user_id, s.chat_id) for s in await repo.active_subscribers()] == [(internal, chat.user_id)]


async def test_menu_buttons_answer_once_not_also_as_a_question(chat: OfflineChat) -> None:
    await chat.send("/start")
    replies = await chat.press("问政策")
    assert len(replies) == 1 and "请直接输入您的问题" in replies[0].text
    replies = await chat.press("帮助")
    assert "/fill" in replies[0].text and "抱歉" not in all_text(replies)


async def test_question_is_answered_with_facts_and_source(chat: OfflineChat) -> None:
    replies = await chat.send("科技成果转化贷款贴息比例是多少？")
    text = last_text(replies)
    assert "40%" in text and "50万" in text
    assert text.splitlines()[-1].startswith("来源：") and "鲁科字〔2026〕10号" in text


async def test_traditional_script_question_is_understood(chat: OfflineChat) -> None:
    replies = await chat.send("創新聯合體需要幾家企業？")
    assert "3家" in last_text(replies) and "青科字〔2025〕5号" in last_text(replies)


async def test_deadline_question_gets_this_quarters_date(chat: OfflineChat) -> None:
    replies = await chat.send("这个季度清单什么时候截止？")
    assert "2026年10月16日" in last_text(replies)


async def test_off_topic_is_declined_with_topics_and_the_secretariat_phone(chat: OfflineChat) -> None:
    replies = await chat.send("今天青岛天气怎么样？")
    text = last_text(replies)
    assert "没有找到确切的答案" in text and "13210876217" in text
    topics = buttons(replies)
    assert len(topics) == 3
    answer = await chat.press(topics[0])
    assert last_text(answer).splitlines()[-1].startswith("来源：")


async def test_photo_outside_a_form_gets_a_polite_hint(chat: OfflineChat) -> None:
    replies = await chat.send_photo()
    assert t.NOT_TEXT in all_text(replies)


async def test_huge_message_is_refused_without_work(chat: OfflineChat) -> None:
    replies = await chat.send("截止时间" * 2_500_000)  # 10 MB of text
    assert last_text(replies) == t.TOO_LONG.format(limit=4096)


async def test_a_crashing_handler_tells_the_user_nothing_was_lost(
    repo: Repository, policies: PolicyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(actor: Any, event: Any) -> Any:
        raise RuntimeError("simulated bug")

    async with offline_chat(factory(repo, policies), raise_errors=False) as chat:
        monkeypatch.setattr(services_of(chat.app).conversation, "handle", boom)
        replies = await chat.send("你好")
    assert texts(replies) == [t.INTERNAL_ERROR]


async def test_myid_tells_the_user_their_telegram_id(chat: OfflineChat) -> None:
    replies = await chat.send("/myid")
    assert last_text(replies) == f"您的用户 ID：{chat.user_id}（Telegram）"
