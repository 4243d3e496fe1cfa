"""Many users at once, two senders at once, and a process killed mid-way lose and cross nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from storage import SqlRepository, open_repository

ROOT = Path(__file__).resolve().parents[2]
USERS = 20
STEPS = 6


def _fields(uid: int, n: int) -> dict[str, Any]:
    return {
        "university": f"大学{uid % 3}",
        "platform_name": f"平台{uid}",
        "enterprise_name": f"企业{uid}",
        "credit_code": f"91370200MA3C{uid:05d}{n}",
        "project_name": f"用户{uid}的项目{n}",
        "status": "在建",
        "owner_marker": uid,
    }


async def _one_user(repo: SqlRepository, uid: int) -> None:
    """What a user does while filling the form twice: a draft save per answer, then submit."""
    for n in range(2):
        for step in range(STEPS):
            await repo.save_draft(uid, {"user": uid, "round": n, "step": step, "answers": _fields(uid, n)})
            draft = await repo.get_draft(uid)
            assert draft is not None and draft.state["user"] == uid and draft.state["step"] == step
        await repo.create_entry(uid, "2026Q4", _fields(uid, n))
        await repo.delete_draft(uid)
    entry = (await repo.entries_for_user(uid))[0]
    await repo.update_entry(entry.id, uid, {"progress": f"进展{uid}"})


async def _assert_nothing_lost_or_crossed(repo: SqlRepository) -> None:
    for uid in range(USERS):
        entries = await repo.entries_for_user(uid)
        assert [e.fields["owner_marker"] for e in entries] == [uid, uid]
        assert [e.project_name for e in entries] == [f"用户{uid}的项目0", f"用户{uid}的项目1"]
        assert await repo.get_draft(uid) is None
        (change,) = await repo.history(entries[0].id)
        assert (change.changed_by, change.new) == (uid, f"进展{uid}")
    assert await repo.filed_users("2026Q4") == set(range(USERS))
    assert len([e async for e in repo.iter_entries()]) == USERS * 2


async def test_twenty_users_at_once_lose_and_cross_nothing(repo: SqlRepository) -> None:
    await asyncio.gather(*(_one_user(repo, uid) for uid in range(USERS)))
    await _assert_nothing_lost_or_crossed(repo)


async def test_two_processes_writing_the_same_database(repo: SqlRepository, db_url: str) -> None:
    other = await open_repository(db_url)
    try:
        await asyncio.gather(*(_one_user(repo if uid % 2 else other, uid) for uid in range(USERS)))
        await _assert_nothing_lost_or_crossed(other)
    finally:
        await other.close()


async def test_concurrent_claims_never_share_a_row(repo: SqlRepository) -> None:
    for uid in range(60):
        await repo.upsert_subscriber(uid, uid, "")
    b = await repo.create_broadcast("通知", 0)
    assert b is not None

    async def sender() -> list[int]:
        got: list[int] = []
        while batch := await repo.claim_outbox(b.id, 7):
            got.extend(item.id for item in batch)
            for item in batch:
                await repo.finish_outbox(item.id, "sent", message_id=item.id)
        return got

    results = await asyncio.gather(sender(), sender(), sender())
    claimed = [i for r in results for i in r]
    assert len(claimed) == len(set(claimed)) == 60
    final = await repo.get_broadcast(b.id)
    assert final is not None and final.totals["sent"] == 60


async def test_two_sender_processes_with_a_lease_never_share_a_row(db_url: str) -> None:
    a = await open_repository(db_url, inflight_lease=60)
    b = await open_repository(db_url, inflight_lease=60)
    try:
        for uid in range(40):
            await a.upsert_subscriber(uid, uid, "")
        bc = await a.create_broadcast("通知", 0)
        assert bc is not None
        first, second = await asyncio.gather(a.claim_outbox(bc.id, 25), b.claim_outbox(bc.id, 25))
        ids_a, ids_b = {i.id for i in first}, {i.id for i in second}
        assert ids_a.isdisjoint(ids_b) and len(ids_a | ids_b) == 40
    finally:
        await a.close()
        await b.close()


async def test_concurrent_carry_forward_of_one_entry_makes_one_new_entry(repo: SqlRepository) -> None:
    old = await repo.create_entry(1, "2026Q3", _fields(1, 0))
    results = await asyncio.gather(
        *(repo.carry_forward(old.id, "2026Q4", 1, {"progress": f"第{i}次"}) for i in range(6))
    )
    assert len({e.id for e in results}) == 1
    assert len(await repo.entries_for_user(1)) == 2
    assert len(await repo.history(results[0].id)) >= 1


async def test_concurrent_reminders_with_one_dedupe_key_go_once(repo: SqlRepository) -> None:
    await repo.upsert_subscriber(1, 1, "")
    made = await asyncio.gather(
        *(repo.create_broadcast("提醒", 0, kind="reminder", dedupe_key="w3:2026Q4") for _ in range(5))
    )
    assert len([b for b in made if b is not None]) == 1


_CHILD = """
import asyncio, sys
from storage import open_repository

async def main():
    repo = await open_repository(sys.argv[1])
    await repo.save_draft(42, {"step": 5, "answers": {"project_name": "断电也不丢"}})
    print("saved", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_a_saved_draft_survives_the_process_being_killed(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kill.sqlite3'}"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CHILD,
        url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
        assert line.strip() == b"saved"
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    repo = await open_repository(url)
    try:
        draft = await repo.get_draft(42)
        assert draft is not None and draft.state["answers"] == {"project_name": "断电也不丢"}
    finally:
        await repo.close()
