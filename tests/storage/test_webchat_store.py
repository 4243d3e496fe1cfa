"""The web chat's storage: files only for their owner, and one cookie secret however many workers race."""

from __future__ import annotations

import asyncio

from storage import SqlRepository


async def test_a_web_file_is_returned_only_to_its_owner(repo: SqlRepository) -> None:
    owner = await repo.resolve_user("web", "session-a")
    other = await repo.resolve_user("web", "session-b")
    file_id = await repo.put_web_file(owner, "2026Q4_台账.xlsx", "application/zip", b"PK\x03\x04")
    assert await repo.get_web_file(owner, file_id) == ("2026Q4_台账.xlsx", "application/zip", b"PK\x03\x04")
    assert await repo.get_web_file(other, file_id) is None
    assert await repo.get_web_file(owner, "0" * 32) is None
    assert file_id != await repo.put_web_file(owner, "again.csv", "text/csv", b"a,b")


async def test_racing_workers_agree_on_one_stored_value(repo: SqlRepository) -> None:
    values = await asyncio.gather(*(repo.kv_setdefault("web", "secret", f"candidate-{i}") for i in range(5)))
    assert len(set(values)) == 1
    assert await repo.kv_setdefault("web", "secret", "later") == values[0]
