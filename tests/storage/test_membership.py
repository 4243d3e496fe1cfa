"""Enterprise membership, invites and link codes in storage (`storage.membership`), on both databases."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select, update

import storage.identities
from policies.records import LinkRefused
from storage import SqlRepository, open_repository
from storage.db import downgrade, migrate
from storage.tables import EnterpriseInviteRow, LinkCodeRow

CODE = "91110000600037341L"
OTHER_CODE = "91370211MA3C8XY52P"
Q = "2026Q4"


def fields(code: str = CODE, project: str = "防腐涂层中试") -> dict[str, str]:
    return {
        "university": "中国石油大学（华东）",
        "platform_name": "海洋工程装备实验室",
        "enterprise_name": "青岛海科智能装备有限公司",
        "credit_code": code,
        "project_name": project,
        "status": "在建",
    }


async def test_the_first_user_of_a_code_is_active_later_ones_wait_for_a_decision(repo: SqlRepository) -> None:
    assert await repo.request_membership(CODE.lower(), 1, "海科") == "active"
    assert await repo.request_membership(f" {CODE} ", 2, "海科") == "pending"
    assert await repo.request_membership(CODE, 3, "海科") == "pending"
    assert await repo.request_membership(CODE, 1, "海科") == "active"  # asking again changes nothing
    assert [p.user_id for p in await repo.pending_members()] == [2, 3]
    assert [p.user_id for p in await repo.pending_members(credit_codes=[OTHER_CODE])] == []
    assert [p.user_id for p in await repo.pending_members(credit_codes=[CODE.lower()])] == [2, 3]

    assert await repo.approve_member(CODE, 2, "user:1")
    assert not await repo.approve_member(CODE, 2, "user:1")  # decided already
    assert await repo.reject_member(CODE, 3, "account:alice")
    assert not await repo.approve_member(CODE, 3, "user:1")  # rejected is not pending
    assert await repo.request_membership(CODE, 3, "海科") == "rejected"
    assert await repo.pending_members() == []
    members = {m.user_id: m for m in await repo.members_of(CODE)}
    assert {u: m.status for u, m in members.items()} == {1: "active", 2: "active", 3: "rejected"}
    assert (members[2].decided_by, members[3].decided_by) == ("user:1", "account:alice")
    assert list(await repo.enterprises_of(2)) == [CODE]
    assert list(await repo.enterprises_of(3)) == []


async def test_active_members_see_every_entry_of_their_enterprise_and_nobody_else_does(
    repo: SqlRepository,
) -> None:
    await repo.request_membership(CODE, 1, "海科")
    mine = await repo.create_entry(1, Q, fields())
    other = await repo.create_entry(9, Q, fields(OTHER_CODE))
    await repo.request_membership(CODE, 2, "海科")
    assert list(await repo.entries_for_user(2)) == []  # pending sees nothing
    assert await repo.find_duplicate(quarter=Q, visible_to=2, **_key()) is None
    await repo.approve_member(CODE, 2, "user:1")
    assert [e.id for e in await repo.entries_for_user(2)] == [mine.id]
    assert (await repo.find_duplicate(quarter=Q, visible_to=2, **_key())) == mine
    assert [e.id for e in await repo.entries_for_user(9)] == [other.id]


def _key() -> dict[str, str]:
    f = fields()
    return {k: f[k] for k in ("credit_code", "university", "platform_name", "project_name")}


async def test_invites_are_hashed_expire_and_run_out(repo: SqlRepository) -> None:
    code = await repo.create_invite(CODE, "海科", "cli", days=30, max_uses=2)
    assert len(code) >= 10 and code.replace("-", "").replace("_", "").isalnum()
    async with repo.engine.connect() as conn:
        stored = (await conn.execute(select(EnterpriseInviteRow.code_hash))).scalars().all()
    assert stored == [hashlib.sha256(code.encode()).hexdigest()]  # the plain code is nowhere

    await repo.request_membership(CODE, 5, "海科")  # the first member
    await repo.request_membership(CODE, 6, "海科")  # pending: the invite lets them in
    assert await repo.redeem_invite(code, 6) == CODE
    assert await repo.membership(CODE, 6) == "active"
    assert await repo.redeem_invite(code, 6) == CODE  # already in: does not use the invite up
    assert await repo.redeem_invite(code, 7) == CODE
    assert await repo.redeem_invite(code, 8) is None  # two uses
    assert await repo.redeem_invite("nonsense-code-123", 8) is None
    late = await repo.create_invite(CODE, "海科", "cli", days=1)
    async with repo._transaction() as s:
        await s.execute(
            update(EnterpriseInviteRow)
            .where(EnterpriseInviteRow.code_hash == hashlib.sha256(late.encode()).hexdigest())
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert await repo.redeem_invite(late, 8) is None
    assert await repo.membership(CODE, 8) is None


async def test_a_link_merges_the_typing_user_into_the_codes_maker(repo: SqlRepository) -> None:
    web = await repo.resolve_user("web", "sid-1", "")
    tg = await repo.resolve_user("telegram", "777", "李娜")
    await repo.request_membership(CODE, tg, "海科")
    entry = await repo.create_entry(tg, Q, fields())
    await repo.save_draft(tg, {"step": 3})
    await repo.request_membership(OTHER_CODE, 99, "别家")
    await repo.request_membership(OTHER_CODE, web, "别家")  # pending on the web side
    await repo.request_membership(OTHER_CODE, tg, "别家")  # also pending on Telegram

    code = await repo.create_link_code(web)
    assert len(code) == 8 and code.isdigit()
    assert await repo.redeem_link_code(code, web) is None  # one's own code
    assert await repo.redeem_link_code(code, tg) == web
    assert await repo.resolve_user("telegram", "777") == web  # this worker forgot the old mapping
    assert [e.id for e in await repo.entries_for_user(web)] == [entry.id]
    assert (await repo.get_draft(web)).state == {"step": 3}  # type: ignore[union-attr]
    assert await repo.membership(CODE, web) == "active"
    assert await repo.membership(OTHER_CODE, web) == "pending"
    assert [m.user_id for m in await repo.members_of(OTHER_CODE)] == [99, web]
    assert await repo.redeem_link_code(code, tg) is None  # used


async def test_linking_is_refused_when_both_have_a_draft_and_expired_codes_do_nothing(
    repo: SqlRepository,
) -> None:
    a, b, c = 11, 12, 13
    await repo.save_draft(a, {"mine": 1})
    await repo.save_draft(b, {"theirs": 2})
    code = await repo.create_link_code(a)
    with pytest.raises(LinkRefused):
        await repo.redeem_link_code(code, b)
    assert (await repo.get_draft(a)).state == {"mine": 1}  # type: ignore[union-attr]
    assert (await repo.get_draft(b)).state == {"theirs": 2}  # type: ignore[union-attr]
    late = await repo.create_link_code(c)
    async with repo._transaction() as s:
        await s.execute(
            update(LinkCodeRow).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert await repo.redeem_link_code(late, a) is None
    assert await repo.redeem_link_code("12345678", a) is None
    assert await repo.redeem_link_code("abc", a) is None


async def test_another_worker_drops_its_cached_identity_after_a_link(
    repo: SqlRepository, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_worker = await open_repository(db_url)
    try:
        tg = await other_worker.resolve_user("telegram", "555", "")
        web = await repo.resolve_user("web", "sid-9", "")
        assert await other_worker.resolve_user("telegram", "555") == tg  # cached there now
        await repo.redeem_link_code(await repo.create_link_code(web), tg)
        monkeypatch.setattr(storage.identities, "IDENTITY_RECHECK", 0.0)  # "a few seconds later"
        assert await other_worker.resolve_user("telegram", "555") == web
    finally:
        await other_worker.close()


async def test_the_migration_makes_earlier_filers_active_members(repo: SqlRepository) -> None:
    await repo.create_entry(1, Q, fields())
    await repo.create_entry(2, Q, fields(project="另一个项目"))
    await repo.create_entry(2, Q, fields(OTHER_CODE))
    await downgrade(repo.engine, "0009")
    await migrate(repo.engine)
    assert {m.user_id: m.status for m in await repo.members_of(CODE)} == {1: "active", 2: "active"}
    assert list(await repo.enterprises_of(2)) == sorted([CODE, OTHER_CODE])
    assert all(m.decided_by == "backfill" for m in await repo.members_of(CODE))
