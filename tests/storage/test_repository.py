"""SqlRepository behaviour on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt
from contextlib import aclosing
from typing import Any

import pytest

from policies.records import Draft, Entry, Profile
from storage import InvalidValue, NotFound, SqlRepository, open_repository

Q1, Q2 = "2026Q3", "2026Q4"
CODE = "91370200MA3C12345X"


def fields(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "university": "青岛大学",
        "platform_name": "海洋材料工程研究中心",
        "platform_type": "工程研究中心",
        "enterprise_name": "青岛海晟科技有限公司",
        "credit_code": CODE,
        "enterprise_contact": "王经理",
        "enterprise_phone": "13800000000",
        "district": "崂山区",
        "project_name": "海洋防腐涂层联合研发",
        "signed_on": "2026-07-15",
        "status": "已签约",
        "progress": "完成小试",
        "cooperation": ["技术开发", "人才培养"],
    }
    base.update(over)
    return base


# profiles and drafts ----------------------------------------------------------------------------------


async def test_profile_is_saved_replaced_and_read_back(repo: SqlRepository) -> None:
    assert await repo.get_profile(7) is None
    first = Profile(7, "青岛海晟科技有限公司", CODE, "王经理", "13800000000", "崂山区")
    await repo.save_profile(first)
    assert await repo.get_profile(7) == first
    second = Profile(7, "青岛海晟科技有限公司", CODE, "李经理", "13900000000")
    await repo.save_profile(second)
    assert await repo.get_profile(7) == second


async def test_draft_round_trip_pause_and_delete(repo: SqlRepository) -> None:
    assert await repo.get_draft(5) is None
    state = {"step": 3, "answers": {"university": "青岛大学", "cooperation": ["技术开发"]}}
    await repo.save_draft(5, state)
    draft = await repo.get_draft(5)
    assert isinstance(draft, Draft)
    assert draft.state == state and draft.paused is False
    assert draft.updated_at.tzinfo is not None
    await repo.save_draft(5, {**state, "step": 4}, paused=True)
    draft = await repo.get_draft(5)
    assert draft is not None and draft.state["step"] == 4 and draft.paused is True
    await repo.delete_draft(5)
    assert await repo.get_draft(5) is None
    await repo.delete_draft(5)  # deleting nothing is fine


async def test_draft_that_is_not_json_is_refused_clearly(repo: SqlRepository) -> None:
    with pytest.raises(InvalidValue, match="draft state"):
        await repo.save_draft(5, {"when": dt.date(2026, 1, 1)})
    assert await repo.get_draft(5) is None


# entries ----------------------------------------------------------------------------------------------


async def test_create_and_get_entry_fills_key_columns(repo: SqlRepository) -> None:
    entry = await repo.create_entry(11, Q1, fields(credit_code=" 91370200ma3c12345x "))
    assert isinstance(entry, Entry)
    assert (entry.user_id, entry.quarter, entry.university, entry.status) == (11, Q1, "青岛大学", "已签约")
    assert entry.credit_code == CODE
    assert entry.fields["cooperation"] == ["技术开发", "人才培养"]
    assert entry.origin_id is None
    assert await repo.get_entry(entry.id) == entry
    assert await repo.get_entry(entry.id + 1000) is None


@pytest.mark.parametrize(
    ("university", "platform", "project", "code"),
    [
        ("青岛大学", "海洋材料工程研究中心", "海洋防腐涂层联合研发", CODE),
        ("  青岛大学 ", "海洋材料  工程研究中心", "海洋防腐涂层联合研发\t", CODE.lower()),
        ("青岛大学", "海洋材料工程研究中心", "海洋防腐涂层联合研发", f" {CODE[:9]} {CODE[9:]} "),
        ("青岛大学", "ＡＢＣ Lab", "Project  X", CODE),  # full-width and case differences
    ],
)
async def test_find_duplicate_ignores_spacing_case_and_width(
    repo: SqlRepository, university: str, platform: str, project: str, code: str
) -> None:
    stored = fields()
    if platform == "ＡＢＣ Lab":
        stored.update(platform_name="abc  LAB", project_name="project x")
    entry = await repo.create_entry(1, Q1, stored)
    found = await repo.find_duplicate(
        quarter=Q1, credit_code=code, university=university, platform_name=platform, project_name=project
    )
    assert found is not None and found.id == entry.id


async def test_find_duplicate_keeps_quarters_universities_and_projects_apart(repo: SqlRepository) -> None:
    await repo.create_entry(1, Q1, fields())
    base: dict[str, Any] = {
        "credit_code": CODE,
        "university": "青岛大学",
        "platform_name": "海洋材料工程研究中心",
        "project_name": "海洋防腐涂层联合研发",
    }
    assert await repo.find_duplicate(quarter=Q2, **base) is None
    assert await repo.find_duplicate(quarter=Q1, **{**base, "university": "中国海洋大学"}) is None
    assert await repo.find_duplicate(quarter=Q1, **{**base, "project_name": "另一个项目"}) is None
    assert await repo.find_duplicate(quarter=Q1, **{**base, "credit_code": "91370200MA3C99999Y"}) is None


async def test_find_duplicate_filed_by_offers_only_that_users_entries(repo: SqlRepository) -> None:
    theirs = await repo.create_entry(1, Q1, fields())
    key: dict[str, Any] = {
        "credit_code": CODE,
        "university": "青岛大学",
        "platform_name": "海洋材料工程研究中心",
        "project_name": "海洋防腐涂层联合研发",
    }
    assert await repo.find_duplicate(quarter=Q1, filed_by=2, **key) is None
    mine = await repo.create_entry(2, Q1, fields())
    assert (await repo.find_duplicate(quarter=Q1, filed_by=2, **key)) == mine
    assert (await repo.find_duplicate(quarter=Q1, **key)) == theirs


@pytest.mark.parametrize("entry_id", [0, -1, 2**31, 2**63, 10**30])
async def test_ids_no_entry_can_have_are_simply_not_found(repo: SqlRepository, entry_id: int) -> None:
    await repo.create_entry(1, Q1, fields())
    assert await repo.get_entry(entry_id) is None
    assert list(await repo.history(entry_id)) == []
    with pytest.raises(NotFound):
        await repo.update_entry(entry_id, 1, {"status": "在建"})


async def test_update_entry_records_one_change_per_changed_field(repo: SqlRepository) -> None:
    entry = await repo.create_entry(1, Q1, fields())
    updated = await repo.update_entry(
        entry.id,
        99,
        {"progress": "完成中试", "status": "在建", "cooperation": ["技术开发"], "district": "崂山区"},
    )
    assert updated.status == "在建" and updated.fields["progress"] == "完成中试"
    assert updated.updated_at >= entry.updated_at and updated.created_at == entry.created_at
    changes = await repo.history(entry.id)
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("progress", "完成小试", "完成中试"),
        ("status", "已签约", "在建"),
        ("cooperation", "技术开发、人才培养", "技术开发"),
    ]
    assert all(c.changed_by == 99 and c.quarter == Q1 for c in changes)
    # A second update appends; nothing is overwritten.
    await repo.update_entry(entry.id, 98, {"progress": "完成验收"})
    again = await repo.history(entry.id)
    assert again[:3] == changes
    assert (again[3].field, again[3].old, again[3].new, again[3].changed_by) == (
        "progress",
        "完成中试",
        "完成验收",
        98,
    )


async def test_update_entry_without_real_changes_records_nothing(repo: SqlRepository) -> None:
    entry = await repo.create_entry(1, Q1, fields())
    same = await repo.update_entry(entry.id, 1, {"status": "已签约"})
    assert same == entry
    assert await repo.history(entry.id) == []


async def test_update_entry_none_removes_a_field_and_unknown_id_fails(repo: SqlRepository) -> None:
    entry = await repo.create_entry(1, Q1, fields())
    updated = await repo.update_entry(entry.id, 1, {"progress": None})
    assert "progress" not in updated.fields
    assert [(c.field, c.old, c.new) for c in await repo.history(entry.id)] == [("progress", "完成小试", None)]
    with pytest.raises(NotFound):
        await repo.update_entry(entry.id + 100, 1, {"status": "在建"})


async def test_carry_forward_creates_a_new_quarter_entry_and_keeps_the_old(repo: SqlRepository) -> None:
    old = await repo.create_entry(1, Q1, fields())
    new = await repo.carry_forward(old.id, Q2, 1, {"progress": "完成中试", "status": "在建"})
    assert new.id != old.id and new.quarter == Q2 and new.origin_id == old.id and new.user_id == 1
    assert new.fields["project_name"] == old.fields["project_name"]
    assert new.fields["progress"] == "完成中试"
    assert await repo.get_entry(old.id) == old  # the earlier quarter's list is never touched
    changes = await repo.history(new.id)
    assert [(c.field, c.old, c.new, c.quarter) for c in changes] == [
        ("progress", "完成小试", "完成中试", Q2),
        ("status", "已签约", "在建", Q2),
    ]
    assert await repo.history(old.id) == []


async def test_carry_forward_twice_updates_the_same_new_entry(repo: SqlRepository) -> None:
    old = await repo.create_entry(1, Q1, fields())
    first = await repo.carry_forward(old.id, Q2, 1, {"progress": "完成中试"})
    second = await repo.carry_forward(old.id, Q2, 1, {"progress": "完成验收"})
    assert second.id == first.id and second.fields["progress"] == "完成验收"
    assert [e.id for e in await repo.entries_for_user(1)] == [old.id, first.id]
    assert [(c.old, c.new) for c in await repo.history(first.id)] == [
        ("完成小试", "完成中试"),
        ("完成中试", "完成验收"),
    ]


async def test_carry_forward_within_the_same_quarter_updates_in_place(repo: SqlRepository) -> None:
    entry = await repo.create_entry(1, Q2, fields())
    same = await repo.carry_forward(entry.id, Q2, 3, {"status": "已完成"})
    assert same.id == entry.id and same.status == "已完成" and same.origin_id is None
    assert [(c.field, c.changed_by) for c in await repo.history(entry.id)] == [("status", 3)]


async def test_entries_for_user_and_filed_users(repo: SqlRepository) -> None:
    a = await repo.create_entry(1, Q1, fields())
    b = await repo.create_entry(1, Q2, fields(project_name="第二个项目"))
    await repo.create_entry(2, Q2, fields(project_name="别人的项目"))
    assert [e.id for e in await repo.entries_for_user(1)] == [a.id, b.id]
    assert await repo.entries_for_user(3) == []
    assert await repo.filed_users(Q2) == {1, 2}
    assert await repo.filed_users(Q1) == {1}
    assert await repo.filed_users("2027Q1") == set()


async def test_iter_entries_streams_in_university_enterprise_id_order_with_filters(
    repo: SqlRepository,
) -> None:
    made = [
        await repo.create_entry(1, Q1, fields(university="青岛科技大学", enterprise_name="B公司")),
        await repo.create_entry(2, Q1, fields(university="中国海洋大学", enterprise_name="Z公司")),
        await repo.create_entry(3, Q1, fields(university="青岛科技大学", enterprise_name="A公司")),
        await repo.create_entry(4, Q2, fields(university="中国海洋大学", enterprise_name="A公司")),
        await repo.create_entry(
            5, Q1, fields(university="青岛科技大学", enterprise_name="A公司", credit_code="X1")
        ),
    ]
    everything = [e async for e in repo.iter_entries()]
    expected = sorted(made, key=lambda e: (e.university, e.enterprise_name, e.id))
    assert [e.id for e in everything] == [e.id for e in expected]
    q1 = [e.id async for e in repo.iter_entries(quarter=Q1, university="青岛科技大学")]
    assert q1 == [made[2].id, made[4].id, made[0].id]
    assert [e.id async for e in repo.iter_entries(credit_code="x1")] == [made[4].id]


async def test_iter_entries_can_be_left_early(repo: SqlRepository) -> None:
    for i in range(30):
        await repo.create_entry(i, Q1, fields(project_name=f"项目{i}"))
    async with aclosing(repo.iter_entries()) as stream:
        async for _ in stream:
            break
    assert len(await repo.entries_for_user(3)) == 1  # the connection went back to the pool


async def test_iter_history_streams_every_change_grouped_by_entry(repo: SqlRepository) -> None:
    b = await repo.create_entry(1, Q1, fields(university="青岛科技大学"))
    a = await repo.create_entry(2, Q1, fields(university="中国海洋大学"))
    await repo.update_entry(b.id, 1, {"progress": "b1"})
    await repo.update_entry(a.id, 2, {"progress": "a1"})
    await repo.update_entry(b.id, 1, {"progress": "b2"})
    got = [(c.entry_id, c.new) async for c in repo.iter_history()]
    assert got == [(a.id, "a1"), (b.id, "b1"), (b.id, "b2")]


# subscribers ------------------------------------------------------------------------------------------


async def test_subscribe_unsubscribe_block_and_resubscribe(repo: SqlRepository) -> None:
    sub = await repo.upsert_subscriber(1, 1001, "张三")
    assert (sub.user_id, sub.chat_id, sub.name, sub.active) == (1, 1001, "张三", True)
    await repo.upsert_subscriber(2, 1002, "李四")
    await repo.upsert_subscriber(3, 1003, "王五")
    await repo.unsubscribe(2)
    await repo.mark_blocked(3)
    assert [s.user_id for s in await repo.active_subscribers()] == [1]
    again = await repo.upsert_subscriber(3, 2003, "王五五")
    assert again.active and again.chat_id == 2003 and again.name == "王五五"
    assert again.created_at == (await repo.upsert_subscriber(3, 2003, "王五五")).created_at
    assert [s.user_id for s in await repo.active_subscribers()] == [1, 3]
    await repo.unsubscribe(404)  # unknown users are ignored
    await repo.mark_blocked(404)


# broadcasts and outbox --------------------------------------------------------------------------------


async def _subscribe(repo: SqlRepository, n: int) -> None:
    for uid in range(1, n + 1):
        await repo.upsert_subscriber(uid, 10_000 + uid, f"用户{uid}")


async def test_create_broadcast_queues_one_row_per_active_subscriber(repo: SqlRepository) -> None:
    await _subscribe(repo, 4)
    await repo.mark_blocked(4)
    b = await repo.create_broadcast("通知：第三周填报", created_by=900)
    assert b is not None and b.kind == "broadcast" and b.text == "通知：第三周填报"
    assert b.totals["pending"] == 3 and b.totals["sent"] == 0
    assert await repo.get_broadcast(b.id) == b
    assert await repo.get_broadcast(b.id + 50) is None
    items = await repo.outbox_items(b.id)
    assert [(i.user_id, i.chat_id, i.status) for i in items] == [
        (1, 10_001, "pending"),
        (2, 10_002, "pending"),
        (3, 10_003, "pending"),
    ]


async def test_create_broadcast_to_explicit_users(repo: SqlRepository) -> None:
    await _subscribe(repo, 2)
    b = await repo.create_broadcast("提醒", 900, [2, 77, 2], kind="reminder")
    assert b is not None and b.kind == "reminder"
    items = await repo.outbox_items(b.id)
    assert [(i.user_id, i.chat_id) for i in items] == [(2, 10_002), (77, 77)]
    empty = await repo.create_broadcast("无人", 900, [])
    assert empty is not None and sum(empty.totals.values()) == 0
    assert empty.id not in {x.id for x in await repo.unfinished_broadcasts()}


async def test_dedupe_key_makes_a_reminder_go_once(repo: SqlRepository) -> None:
    await _subscribe(repo, 2)
    first = await repo.create_broadcast("第三周提醒", 0, kind="reminder", dedupe_key="week3:2026Q4")
    assert first is not None and first.dedupe_key == "week3:2026Q4"
    assert await repo.create_broadcast("第三周提醒", 0, kind="reminder", dedupe_key="week3:2026Q4") is None
    other = await repo.create_broadcast("第三周提醒", 0, kind="reminder", dedupe_key="week3:2027Q1")
    assert other is not None
    assert len(await repo.outbox_items(first.id)) == 2


async def test_claim_finish_release_and_totals(repo: SqlRepository) -> None:
    await _subscribe(repo, 5)
    b = await repo.create_broadcast("通知", 0)
    assert b is not None
    claimed = await repo.claim_outbox(b.id, 3)
    assert [i.user_id for i in claimed] == [1, 2, 3] and {i.status for i in claimed} == {"sending"}
    await repo.finish_outbox(claimed[0].id, "sent", message_id=555)
    await repo.finish_outbox(claimed[1].id, "blocked", error="Forbidden: bot was blocked by the user")
    await repo.release_outbox(claimed[2].id, "RetryAfter 3")
    totals = (await repo.get_broadcast(b.id)).totals  # type: ignore[union-attr]
    assert totals == {"pending": 3, "sending": 0, "sent": 1, "failed": 0, "blocked": 1}
    items = {i.user_id: i for i in await repo.outbox_items(b.id)}
    assert (items[1].status, items[1].message_id, items[1].attempts) == ("sent", 555, 1)
    assert items[2].last_error == "Forbidden: bot was blocked by the user"
    assert (items[3].status, items[3].attempts, items[3].last_error) == ("pending", 1, "RetryAfter 3")
    # The released row comes back with the rest; the same owner never gets its own in-flight rows.
    rest = await repo.claim_outbox(b.id, 10)
    assert [i.user_id for i in rest] == [3, 4, 5]
    assert await repo.claim_outbox(b.id, 10) == []
    assert [x.id for x in await repo.unfinished_broadcasts()] == [b.id]
    for item in rest:
        await repo.finish_outbox(item.id, "failed" if item.user_id == 5 else "sent", error=None)
    assert await repo.unfinished_broadcasts() == []
    assert (await repo.get_broadcast(b.id)).totals["failed"] == 1  # type: ignore[union-attr]


async def test_finish_and_release_refuse_bad_input(repo: SqlRepository) -> None:
    await _subscribe(repo, 1)
    b = await repo.create_broadcast("通知", 0)
    assert b is not None
    (item,) = await repo.claim_outbox(b.id, 5)
    with pytest.raises(InvalidValue):
        await repo.finish_outbox(item.id, "pending")
    with pytest.raises(NotFound):
        await repo.finish_outbox(item.id + 99, "sent")
    with pytest.raises(NotFound):
        await repo.release_outbox(item.id + 99, "x")
    assert await repo.claim_outbox(b.id, 0) == []


async def test_fresh_process_resumes_rows_a_crash_left_in_sending(repo: SqlRepository, db_url: str) -> None:
    await _subscribe(repo, 4)
    b = await repo.create_broadcast("通知", 0)
    assert b is not None
    crashed = await repo.claim_outbox(b.id, 2)  # ... and the process dies before finishing them:
    await repo.close()  # on PostgreSQL its presence lock goes with it (a live owner's rows are kept)
    fresh = await open_repository(db_url)
    try:
        assert [x.id for x in await fresh.unfinished_broadcasts()] == [b.id]
        resumed = await fresh.claim_outbox(b.id, 10)
        assert [i.user_id for i in resumed] == [1, 2, 3, 4]
        assert {i.id for i in crashed} <= {i.id for i in resumed}
    finally:
        await fresh.close()


async def test_inflight_lease_protects_a_live_sender_in_another_process(
    repo: SqlRepository, db_url: str
) -> None:
    await _subscribe(repo, 4)
    b = await repo.create_broadcast("通知", 0)
    assert b is not None
    mine = await repo.claim_outbox(b.id, 2)
    other = await open_repository(db_url, inflight_lease=60)
    try:
        theirs = await other.claim_outbox(b.id, 10)
        assert {i.id for i in mine}.isdisjoint(i.id for i in theirs)
        assert [i.user_id for i in theirs] == [3, 4]
    finally:
        await other.close()


async def test_reset_inflight_returns_sending_rows_to_pending(repo: SqlRepository) -> None:
    await _subscribe(repo, 3)
    b = await repo.create_broadcast("通知", 0)
    assert b is not None
    await repo.claim_outbox(b.id, 2)
    assert await repo.reset_inflight(b.id) == 2
    assert [i.status for i in await repo.outbox_items(b.id)] == ["pending"] * 3
    assert [i.user_id for i in await repo.claim_outbox(b.id, 5)] == [1, 2, 3]


# kv and audit -----------------------------------------------------------------------------------------


async def test_kv_namespaces_put_replace_delete(repo: SqlRepository) -> None:
    await repo.kv_put("user_data", "1", {"a": [1, 2], "名字": "张三"})
    await repo.kv_put("user_data", "2", {"b": None})
    await repo.kv_put("chat_data", "1", {"c": 1})
    await repo.kv_put("user_data", "1", {"a": [3]})
    assert await repo.kv_get_all("user_data") == {"1": {"a": [3]}, "2": {"b": None}}
    await repo.kv_delete("user_data", "2")
    await repo.kv_delete("user_data", "nope")
    assert await repo.kv_get_all("user_data") == {"1": {"a": [3]}}
    assert await repo.kv_get_all("chat_data") == {"1": {"c": 1}}
    assert await repo.kv_get_all("bot_data") == {}
    with pytest.raises(InvalidValue):
        await repo.kv_put("user_data", "3", {"x": object()})


async def test_audit_is_written(repo: SqlRepository) -> None:
    from sqlalchemy import select

    from storage.tables import AuditRow

    await repo.audit(5, "broadcast", False, "not an admin")
    await repo.audit(6, "export", True)
    async with repo.engine.connect() as conn:
        rows = (await conn.execute(select(AuditRow.user_id, AuditRow.action, AuditRow.allowed))).all()
    assert sorted(rows) == [(5, "broadcast", False), (6, "export", True)]


async def test_big_telegram_ids_survive(repo: SqlRepository) -> None:
    big = 7_654_321_098
    await repo.upsert_subscriber(big, -1_001_234_567_890, "群")
    entry = await repo.create_entry(big, Q1, fields())
    assert (await repo.active_subscribers())[0].chat_id == -1_001_234_567_890
    assert (await repo.get_entry(entry.id)).user_id == big  # type: ignore[union-attr]


def test_sql_repository_implements_every_protocol_method_with_its_signature() -> None:
    import inspect

    from policies.ports import Repository

    def as_repository(r: SqlRepository) -> Repository:  # mypy checks the structural match
        return r

    wanted = {name for name in vars(Repository) if not name.startswith("_")}
    for name in sorted(wanted):
        ours = inspect.signature(getattr(SqlRepository, name))
        theirs = inspect.signature(getattr(Repository, name))
        assert list(ours.parameters) == list(theirs.parameters), name
