"""Only ADMIN_IDS may broadcast, export or reload; everyone else is refused, and it is logged."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from handlers.services import Services
from handlers.telegram.app import App, build_application
from policies.conversation.texts import NO_PERMISSION
from policies.ports import Repository
from policies.settings import Settings
from policies.store import PolicyStore
from tests.harness import documents, last_text, offline_chat

ADMIN, VISITOR = 900, 901


@pytest.fixture(scope="module")
def policies() -> PolicyStore:
    store = PolicyStore(Settings().policy_dir)
    store.load()
    return store


def factory(repo: Repository, policies: PolicyStore) -> Any:
    settings = Settings(admin_ids=frozenset({ADMIN}), today_override=dt.date(2026, 10, 12))
    svc = Services(settings=settings, repo=repo, policies=policies)

    def make(request: Any) -> App:
        return build_application(svc, request=request, schedule_reminders=False)

    return make


@pytest.mark.parametrize(
    "command", ["/broadcast", "/broadcast 明天开会", "/export", "/export 2026Q4", "/reload"]
)
async def test_visitor_is_refused_every_admin_command(
    repo: Repository, policies: PolicyStore, command: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="handlers.auth")
    async with offline_chat(factory(repo, policies), user_id=VISITOR) as chat:
        await chat.send("/start")
        replies = await chat.send(command)
        assert last_text(replies) == NO_PERMISSION
        assert documents(chat) == []
        # the refusal did not open a conversation: the next text is an ordinary question
        follow = await chat.send("高校理事会秘书处的咨询电话是多少？")
        assert "13210876217" in last_text(follow)
    assert any(str(VISITOR) in r.getMessage() for r in caplog.records)


async def test_forged_admin_buttons_are_refused(repo: Repository, policies: PolicyStore) -> None:
    async with offline_chat(factory(repo, policies), user_id=VISITOR) as chat:
        sent = await chat.send("/start")
        message_id = sent[-1].message_id
        for data in ("a:bc:ok:1", "a:exp:university:2026Q4:xlsx"):
            await chat.process(
                chat.fake.user_presses(VISITOR, message_id, data, enqueue=False, strict=False), VISITOR
            )
            assert chat.toasts == [NO_PERMISSION]
        assert documents(chat) == []
    assert await repo.get_broadcast(1) is None


async def test_admin_may_reload_and_export(repo: Repository, policies: PolicyStore) -> None:
    async with offline_chat(factory(repo, policies), user_id=ADMIN) as chat:
        replies = await chat.send("/reload")
        assert NO_PERMISSION not in last_text(replies)
        replies = await chat.send("/export")
        assert NO_PERMISSION not in last_text(replies) and replies[-1].buttons


async def test_reload_with_broken_yaml_keeps_answering_from_the_old_data(
    repo: Repository, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(Settings().policy_dir, data)
    store = PolicyStore(data)
    store.load()
    async with offline_chat(factory(repo, store), user_id=ADMIN) as chat:
        faq = data / "faq_union.yaml"
        faq.write_text(faq.read_text(encoding="utf-8").replace("answer:", "answr:", 1), encoding="utf-8")
        replies = await chat.send("/reload")
        assert last_text(replies).startswith("重新加载失败，继续使用原数据：")
        assert "faq_union.yaml" in last_text(replies)
        replies = await chat.send("创新联合体备案有效期多久？")
        assert "3年" in last_text(replies)
