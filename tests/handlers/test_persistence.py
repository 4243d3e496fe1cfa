"""SqlPersistence keeps PTB's data across restarts (a new instance on the same database)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from telegram.ext import ApplicationBuilder, PersistenceInput

from handlers.persistence import SqlPersistence
from storage import SqlRepository


class CountingRepo:
    """The real repository, counting kv writes."""

    def __init__(self, repo: SqlRepository) -> None:
        self.repo = repo
        self.puts = 0

    async def kv_put(self, namespace: str, key: str, value: Any) -> None:
        self.puts += 1
        await self.repo.kv_put(namespace, key, value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo, name)


async def test_user_chat_bot_data_survive_a_restart(repo: SqlRepository) -> None:
    before = SqlPersistence(repo)
    await before.update_user_data(7, {"menu": "main", "recent": ["q1", "q2"]})
    await before.update_user_data(8, {})
    await before.update_chat_data(-100123, {"lang": "zh"})
    await before.update_bot_data({"reloaded": 3})
    after = SqlPersistence(repo)
    assert await after.get_user_data() == {7: {"menu": "main", "recent": ["q1", "q2"]}, 8: {}}
    assert await after.get_chat_data() == {-100123: {"lang": "zh"}}
    assert await after.get_bot_data() == {"reloaded": 3}


async def test_conversations_survive_a_restart_per_handler(repo: SqlRepository) -> None:
    before = SqlPersistence(repo)
    await before.update_conversation("form", (7, 7), 3)
    await before.update_conversation("form", (8, 8), "ASK_UNIVERSITY")
    await before.update_conversation("entries", (7, 7), 1)
    await before.update_conversation("form", (8, 8), None)  # ended
    after = SqlPersistence(repo)
    assert await after.get_conversations("form") == {(7, 7): 3}
    assert await after.get_conversations("entries") == {(7, 7): 1}
    assert await after.get_conversations("other") == {}


async def test_callback_data_round_trip(repo: SqlRepository) -> None:
    before = SqlPersistence(repo)
    assert await before.get_callback_data() is None
    data = ([("uuid-1", 1_700_000_000.5, {"btn": "f:done"})], {"cq-1": "uuid-1"})
    await before.update_callback_data(data)
    assert await SqlPersistence(repo).get_callback_data() == data


async def test_values_that_are_not_json_are_skipped_not_fatal(
    repo: SqlRepository, caplog: pytest.LogCaptureFixture
) -> None:
    persistence = SqlPersistence(repo)
    with caplog.at_level(logging.WARNING, logger="handlers.persistence"):
        await persistence.update_user_data(7, {"ok": 1, "job": object(), "nan": float("nan")})
        await persistence.update_conversation("form", (7, 7), object())
        await persistence.update_bot_data({"when": {1, 2}})
    assert await SqlPersistence(repo).get_user_data() == {7: {"ok": 1}}
    assert await SqlPersistence(repo).get_conversations("form") == {}
    assert await SqlPersistence(repo).get_bot_data() == {}
    assert "job" in caplog.text and "nan" in caplog.text and "conversations" in caplog.text


async def test_drop_user_and_chat_data(repo: SqlRepository) -> None:
    persistence = SqlPersistence(repo)
    await persistence.update_user_data(7, {"a": 1})
    await persistence.update_chat_data(7, {"b": 2})
    await persistence.drop_user_data(7)
    await persistence.drop_chat_data(7)
    fresh = SqlPersistence(repo)
    assert await fresh.get_user_data() == {}
    assert await fresh.get_chat_data() == {}


async def test_unchanged_data_is_not_written_again(repo: SqlRepository) -> None:
    counting = CountingRepo(repo)
    persistence = SqlPersistence(counting)  # type: ignore[arg-type]
    await persistence.update_user_data(7, {"a": 1})
    await persistence.update_user_data(7, {"a": 1})
    assert counting.puts == 1
    await persistence.update_user_data(7, {"a": 2})
    assert counting.puts == 2
    restarted = SqlPersistence(counting)  # type: ignore[arg-type]
    await restarted.get_user_data()
    await restarted.update_user_data(7, {"a": 2})
    assert counting.puts == 2


async def test_refresh_and_flush_leave_memory_alone(repo: SqlRepository) -> None:
    persistence = SqlPersistence(repo)
    data = {"a": 1}
    await persistence.refresh_user_data(1, data)
    await persistence.refresh_chat_data(1, data)
    await persistence.refresh_bot_data(data)
    await persistence.flush()
    assert data == {"a": 1}


async def test_application_accepts_it_with_a_short_interval(repo: SqlRepository) -> None:
    persistence = SqlPersistence(repo, store_data=PersistenceInput(callback_data=False))
    app = ApplicationBuilder().token("123456:TEST").persistence(persistence).build()
    assert app.persistence is persistence
    assert persistence.update_interval == 5
