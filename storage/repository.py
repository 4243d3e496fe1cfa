"""`SqlRepository`: `policies.ports.Repository` on SQLAlchemy 2 async (SQLite or PostgreSQL).

Every public method runs in its own transaction and commits before it returns, and returns the
plain records of `policies.records` (never ORM objects), so callers can hold them across awaits.

Broadcast delivery (the outbox). Rows go pending -> sending -> sent | failed | blocked.
`claim_outbox` marks rows `sending` and stamps them with this repository's `owner` token (one per
process). It also takes back rows left in `sending` by a *different* owner whose claim is at
least `inflight_lease` seconds old: that is how a fresh process resumes what a crashed one was
sending. Telegram has no idempotency key, so such a row may already have been delivered before
the crash and is sent again: delivery is at-least-once for that in-flight window (at most one
claim batch per crash), exactly-once otherwise. Two senders never share a row (PostgreSQL:
SELECT ... FOR UPDATE SKIP LOCKED; SQLite: one writer at a time).

On PostgreSQL every worker sends: an owner is *alive* while it holds its presence lock (a session
advisory lock on a connection kept for the process's life, taken before its first claim and freed by
the server when the process dies), and only a dead owner's `sending` rows are taken back - at once,
whatever `inflight_lease` says. So N workers share one broadcast without re-sending each other's
in-flight rows. `reset_inflight` returns `sending` rows to `pending` explicitly (operator tools).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import datetime as dt
import json
import logging
import re
import unicodedata
import uuid
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    RowMapping,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from policies import records as r
from policies.records import Broadcast, Draft, Entry, EntryChange, OutboxItem, Profile, Subscriber
from storage.dashboard import DashboardStoreMixin
from storage.dashboard_pages import DashboardPagesMixin
from storage.db import WRITE_OPTION, schema_problem, side_engine
from storage.errors import InvalidValue, NotFound
from storage.identities import IdentityStoreMixin
from storage.membership import MembershipStoreMixin
from storage.parts import utcnow
from storage.platforms import PlatformStoreMixin
from storage.ratebudget import RateBudget
from storage.tables import (
    OUTBOX_STATUSES,
    AuditRow,
    BroadcastRow,
    ChatMessageRow,
    DraftRow,
    EntryChangeRow,
    EntryRow,
    KvRow,
    OutboxRow,
    ProfileRow,
    SubscriberRow,
    TelegramUpdateRow,
)
from storage.unanswered import UnansweredStoreMixin
from storage.webchat import WebChatStoreMixin

log = logging.getLogger(__name__)

FINAL_STATUSES = ("sent", "failed", "blocked")
WEB_CHANNEL = "web"  # recipients served in-app when the broadcast is created
OPEN_STATUSES = ("pending", "sending")
LIST_SEPARATOR = "、"
_STREAM_BATCH = 500
MAX_ENTRY_ID = 2**31 - 1  # entries.id is a 32-bit INTEGER on PostgreSQL; larger ids cannot exist
_IN_CHUNK = 5000  # stay far below SQLite's bound-parameter limit
_ENTRIES = EntryRow.__table__
_CHANGES = EntryChangeRow.__table__


_SPACE_BY_CJK = re.compile(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])")


def normalize_name(value: str) -> str:
    """Compare form of a name: NFKC (full-width -> half-width), casefolded, outer whitespace
    stripped, inner runs collapsed to one space and dropped next to Chinese characters (which
    are not written with spaces): ' Ｑｉｎｇｄａｏ  Univ ' == 'qingdao univ', '青岛 大学' == '青岛大学'."""
    collapsed = " ".join(unicodedata.normalize("NFKC", value).casefold().split())
    return _SPACE_BY_CJK.sub("", collapsed)


def normalize_credit_code(value: str) -> str:
    """Unified social credit codes compare upper-cased, without any whitespace."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def as_text(value: Any) -> str | None:
    """How a field value is written into history: lists joined with '、'."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _json_safe(value: Any, what: str) -> Any:
    """A JSON round trip: refuses what JSON cannot hold, turns tuples into lists."""
    try:
        return json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"{what} is not JSON-serialisable: {exc}") from None


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    return "" if value is None else (as_text(value) or "").strip()


def _key_columns(fields: Mapping[str, Any]) -> dict[str, str]:
    return {
        "university": _text(fields, r.F_UNIVERSITY),
        "credit_code": normalize_credit_code(_text(fields, r.F_CREDIT_CODE)),
        "enterprise_name": _text(fields, r.F_ENTERPRISE_NAME),
        "platform_name": _text(fields, r.F_PLATFORM_NAME),
        "project_name": _text(fields, r.F_PROJECT_NAME),
        "status": _text(fields, r.F_STATUS),
        "district": _text(fields, r.F_DISTRICT),
    }


def _apply(fields: dict[str, Any], changes: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Apply `changes` to `fields` in place; None removes a field. Returns (field, old, new)."""
    diff: list[tuple[str, Any, Any]] = []
    for name, raw in changes.items():
        old = fields.get(name)
        if raw is None:
            if name in fields:
                del fields[name]
                diff.append((name, old, None))
            continue
        new = _json_safe(raw, f"field {name!r}")
        if old != new:
            fields[name] = new
            diff.append((name, old, new))
    return diff


def _new_entry_row(user_id: int, quarter: str, fields: Mapping[str, Any], origin_id: int | None) -> EntryRow:
    clean = _json_safe(dict(fields), "entry fields")
    now = utcnow()
    return EntryRow(
        user_id=user_id,
        quarter=quarter,
        fields=clean,
        origin_id=origin_id,
        created_at=now,
        updated_at=now,
        **_key_columns(clean),
    )


# ORM row -> record ------------------------------------------------------------------------------


def _entry(row: EntryRow) -> Entry:
    return Entry(
        id=row.id,
        user_id=row.user_id,
        quarter=row.quarter,
        university=row.university,
        enterprise_name=row.enterprise_name,
        credit_code=row.credit_code,
        platform_name=row.platform_name,
        project_name=row.project_name,
        status=row.status,
        fields=dict(row.fields),
        created_at=row.created_at,
        updated_at=row.updated_at,
        origin_id=row.origin_id,
        platform_id=row.platform_id,
        district=row.district,
        platform_check=row.platform_check,
        platform_check_by=row.platform_check_by,
        platform_check_at=row.platform_check_at,
        platform_check_note=row.platform_check_note,
    )


def _change(row: EntryChangeRow) -> EntryChange:
    return EntryChange(
        entry_id=row.entry_id,
        quarter=row.quarter,
        changed_by=row.changed_by,
        changed_at=row.changed_at,
        field=row.field,
        old=row.old,
        new=row.new,
    )


def _subscriber(row: SubscriberRow) -> Subscriber:
    return Subscriber(
        user_id=row.user_id,
        chat_id=row.chat_id,
        name=row.name,
        subscribed=row.subscribed,
        blocked=row.blocked,
        created_at=row.created_at,
        channel=row.channel,
    )


def _outbox(row: OutboxRow) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        broadcast_id=row.broadcast_id,
        user_id=row.user_id,
        chat_id=row.chat_id,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        message_id=row.message_id,
    )


def _broadcast(row: BroadcastRow, totals: Mapping[str, int]) -> Broadcast:
    return Broadcast(
        id=row.id,
        text=row.text,
        created_by=row.created_by,
        created_at=row.created_at,
        kind=row.kind,
        dedupe_key=row.dedupe_key,
        totals={status: totals.get(status, 0) for status in OUTBOX_STATUSES},
        buttons=tuple(tuple((str(label), str(data)) for label, data in line) for line in row.buttons or ()),
    )


USER_LOCK = 0  # lock namespaces: internal user ids
TELEGRAM_LOCK = 1  # Telegram user ids (a webhook update is locked before its user is resolved)
SENDER_LOCK = 2  # the one process doing housekeeping (see `lead`)
PRESENCE_LOCK = 3  # held by each live outbox owner (see `claim_outbox`)
_LOCK_SPACE = 2**52  # Telegram ids stay below 2**52, so (namespace, id) is one distinct bigint


@dataclass
class _Unit:
    """One transaction shared by every repository call of a task (see `SqlRepository.user_lock`)."""

    session: AsyncSession
    after_commit: list[Callable[[], object]] = field(default_factory=list)


def _chunks(items: Sequence[int], size: int = _IN_CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Memo:
    """Reads of drafts and key-value state remembered while one user's lock is held, so routing an event
    (is a form active? which field? a pending update?) reads each once. Any write forgets them all;
    closing at the end of the hold makes sure nothing outlives it."""

    def __init__(self) -> None:
        self._values: dict[tuple[Any, ...], Any] = {}
        self._open = True

    def get(self, key: tuple[Any, ...]) -> tuple[bool, Any]:
        if self._open and key in self._values:
            return True, self._values[key]
        return False, None

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        if self._open:
            self._values[key] = value

    def clear(self) -> None:
        self._values.clear()

    def close(self) -> None:
        self._open = False
        self._values.clear()


class SqlRepository(
    IdentityStoreMixin,
    MembershipStoreMixin,
    WebChatStoreMixin,
    PlatformStoreMixin,
    UnansweredStoreMixin,
    DashboardStoreMixin,
    DashboardPagesMixin,
):
    """The Repository over one AsyncEngine. Create it with `storage.open_repository(url)`."""

    def __init__(self, engine: AsyncEngine, *, inflight_lease: float = 0.0) -> None:
        self._engine = engine
        self._read = async_sessionmaker(engine, expire_on_commit=False)
        self._write = async_sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        self._pg = engine.dialect.name == "postgresql"
        self._insert = pg_insert if self._pg else sqlite_insert
        # SQLite has one writer at a time. Queueing this process's writers on a lock, rather than in
        # SQLite's busy handler (which sleeps in growing steps), keeps tail latency low under load.
        self._write_lock = None if self._pg else asyncio.Lock()
        self.inflight_lease = dt.timedelta(seconds=inflight_lease)
        self.owner = uuid.uuid4().hex  # stamps claimed outbox rows, see the module docstring
        self._unit: ContextVar[_Unit | None] = ContextVar(f"pairing_unit_{id(self)}", default=None)
        self._memo: ContextVar[_Memo | None] = ContextVar(f"pairing_memo_{id(self)}", default=None)
        # SQLite has one process (bot.py refuses a second): drafts and key-value state can be remembered
        # between events, forgotten around every write of them. PostgreSQL workers share nothing.
        self._cache: dict[tuple[Any, ...], Any] | None = None if self._pg else {}
        self._held: ContextVar[frozenset[tuple[int, int]]] = ContextVar(
            f"pairing_locks_{id(self)}", default=frozenset()
        )
        self._leader: AsyncConnection | None = None
        self._presence: AsyncConnection | None = None
        self._side: AsyncEngine | None = None  # kept connections, outside the pool (storage.db.side_engine)
        self._presence_guard = asyncio.Lock()
        self._user_locks: weakref.WeakValueDictionary[tuple[int, int], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # per-user serialisation and units of work ----------------------------------------------------------

    @contextlib.contextmanager
    def _forgetting(self, key: tuple[Any, ...]) -> Iterator[None]:
        """Around a write of `key`: forget it before, and after (a read racing the write may have
        remembered the old value)."""
        if self._cache is not None:
            self._cache.pop(key, None)
        try:
            yield
        finally:
            if self._cache is not None:
                self._cache.pop(key, None)

    def _recall(self, key: tuple[Any, ...]) -> tuple[bool, Any]:
        memo = self._memo.get()
        if self._cache is not None and key in self._cache:
            return True, self._cache[key]
        return memo.get(key) if memo is not None else (False, None)

    def _keep(self, key: tuple[Any, ...], value: Any) -> None:
        if self._cache is not None:
            self._cache[key] = value
        memo = self._memo.get()
        if memo is not None:
            memo.put(key, value)

    def user_lock(self, user_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold internal user `user_id`'s lock, see `lock`."""
        return self.lock(USER_LOCK, user_id)

    @contextlib.asynccontextmanager
    async def lock(self, namespace: int, user_id: int) -> AsyncIterator[None]:
        """Hold `user_id`'s lock (ids of `namespace`: USER_LOCK, TELEGRAM_LOCK): one holder at a time
        in this process (first come, first served) and, on PostgreSQL, in every process on the
        database (`pg_advisory_xact_lock`).

        On PostgreSQL the lock lives in a transaction that every repository call inside the block
        shares (a unit of work): the block's writes commit together when it ends, or not at all when
        it raises, and the lock is released by that commit (or by the server when the worker dies).
        Re-entrant: a block inside another holder's block of the same task just joins it. On SQLite
        (one process) only the in-process lock is taken and every call commits on its own."""
        key = (namespace, user_id)
        held = self._held.get()
        if key in held:
            yield
            return
        lock = self._user_locks.get(key)
        if lock is None:
            lock = self._user_locks[key] = asyncio.Lock()
        async with lock:
            token = self._held.set(held | {key})
            memo = _Memo() if self._memo.get() is None else None
            memo_token = self._memo.set(memo) if memo is not None else None
            try:
                if not self._pg:
                    yield
                elif (unit := self._unit.get()) is not None:
                    await self._advisory_lock(unit.session, key)
                    yield
                else:
                    async with self._unit_of_work() as unit:
                        await self._advisory_lock(unit.session, key)
                        yield
            finally:
                if memo is not None and memo_token is not None:
                    memo.close()  # a task started inside the hold keeps the context: it must not reuse reads
                    self._memo.reset(memo_token)
                self._held.reset(token)

    @staticmethod
    async def _advisory_lock(session: AsyncSession, key: tuple[int, int]) -> None:
        namespace, ident = key
        lock_id = namespace * _LOCK_SPACE + ident % _LOCK_SPACE
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})

    @contextlib.asynccontextmanager
    async def _unit_of_work(self) -> AsyncIterator[_Unit]:
        async with self._write() as session, session.begin():
            unit = _Unit(session)
            token = self._unit.set(unit)
            try:
                yield unit
            finally:
                self._unit.reset(token)
        for callback in unit.after_commit:  # outside the unit: a task started here does not join it
            callback()

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Call `callback` once the current unit of work has committed (now when there is none): a
        broadcast's sender must not look for its rows before they are visible to other sessions."""
        unit = self._unit.get()
        if unit is None:
            callback()
        else:
            unit.after_commit.append(callback)

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        """A session to read with: the unit's (which sees its own uncommitted writes), or a fresh one."""
        unit = self._unit.get()
        if unit is None:
            async with self._read() as s:
                yield s
            return
        unit.session.expunge_all()  # rows changed by Core statements must be read again, not remembered
        yield unit.session

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, committed on exit (BEGIN IMMEDIATE on SQLite); inside a unit of work a
        savepoint of the unit, so a caught error (a lost insert race) leaves the unit usable."""
        memo = self._memo.get()
        if memo is not None:
            memo.clear()  # any write: reads remembered during this hold may be stale
        unit = self._unit.get()
        if unit is not None:
            unit.session.expunge_all()
            async with unit.session.begin_nested():
                yield unit.session
            return
        if self._write_lock is None:
            async with self._write.begin() as session:
                yield session
            return
        async with self._write_lock, self._write.begin() as session:
            yield session

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def readiness(self) -> str | None:
        """None when the database answers and its schema is current; otherwise the problem."""
        return await schema_problem(self._engine)

    def telegram_lock(self, telegram_user_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """The lock of a Telegram account (taken before its internal user is known), see `lock`."""
        return self.lock(TELEGRAM_LOCK, telegram_user_id)

    async def lead(self) -> bool:
        """Whether this process leads the housekeeping (pruning processed updates and idle rate-budget
        chats), which one worker is enough for. Takes the role when it is free (a PostgreSQL session
        advisory lock, kept on one connection for the process's life; the server frees it when the
        process dies, and the next worker to ask takes over). SQLite serves one process, which leads."""
        if not self._pg:
            return True
        if self._leader is not None:
            try:
                await self._leader.exec_driver_sql("SELECT 1")
                await self._leader.commit()
                return True
            except Exception:  # the connection broke: so did the lock
                log.warning("Lost the housekeeping lead with its database connection")
                await self._drop_leader()
        conn = await self._side_engine().connect()
        try:
            lock_id = SENDER_LOCK * _LOCK_SPACE
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:id)"), {"id": lock_id}))
            await conn.commit()  # a session lock outlives the transaction; no transaction stays open
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._leader = conn
        log.info("This process now leads the housekeeping (pruning)")
        return True

    def _side_engine(self) -> AsyncEngine:
        if self._side is None:
            self._side = side_engine(self._engine)
        return self._side

    def rate_budget(self, bot_id: int, **options: Any) -> RateBudget | None:
        """The Telegram rate budget all workers share (PostgreSQL); None on SQLite, whose one process
        paces itself. `options`: see `storage.ratebudget.RateBudget`."""
        return RateBudget(self._side_engine(), bot_id, **options) if self._pg else None

    async def _drop_leader(self) -> None:
        conn, self._leader = self._leader, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()  # closing returns it to the pool still holding the lock

    def _presence_key(self, owner: str) -> int:
        return PRESENCE_LOCK * _LOCK_SPACE + int(owner[:13], 16)  # 13 hex digits: 52 bits

    async def _announce(self) -> None:
        """Take this owner's presence lock (PostgreSQL) before it claims rows, once per connection (one
        task at a time: a second session asking for the same lock would wait for the first forever)."""
        if not self._pg:
            return
        async with self._presence_guard:
            await self._announce_once()

    async def _announce_once(self) -> None:
        if self._presence is not None:
            try:
                await self._presence.exec_driver_sql("SELECT 1")
                return
            except Exception:  # the connection broke (and the lock with it): take it again
                log.warning("Lost the outbox presence lock with its connection; taking it again")
                conn, self._presence = self._presence, None
                with contextlib.suppress(Exception):
                    await conn.invalidate()
        side = await self._side_engine().connect()
        conn = await side.execution_options(isolation_level="AUTOCOMMIT")
        try:
            await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": self._presence_key(self.owner)})
        except BaseException:
            await conn.close()
            raise
        self._presence = conn

    async def _live_owners(self, s: AsyncSession) -> list[str]:
        """Owner-token prefixes (13 hex digits) of the processes holding a presence lock now."""
        rows = await s.execute(
            text(
                "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
                "WHERE locktype = 'advisory' AND objsubid = 1 AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
        low = PRESENCE_LOCK * _LOCK_SPACE
        return [f"{key - low:013x}" for (key,) in rows if low <= key < low + _LOCK_SPACE]

    async def release_claimed(self) -> int:
        """Graceful shutdown: this process's outbox rows in `sending` go back to pending now, so the
        next sender need not wait for them (a request already sent may be sent again)."""
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.status == "sending", OutboxRow.claimed_by == self.owner)
            .values(status="pending", claimed_by=None, claimed_at=None, updated_at=utcnow())
        )
        async with self._transaction() as s:
            return int(cast("CursorResult[Any]", await s.execute(stmt)).rowcount)

    async def close(self) -> None:
        """Give up the lead and the presence lock and dispose of the engines' connections."""
        await self._drop_leader()
        conn, self._presence = self._presence, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
        if self._side is not None:
            await self._side.dispose()
        await self._engine.dispose()

    # profiles ---------------------------------------------------------------------------------------

    async def get_profile(self, user_id: int) -> Profile | None:
        async with self._reading() as s:
            row = await s.get(ProfileRow, user_id)
            if row is None:
                return None
            return Profile(
                user_id=row.user_id,
                enterprise_name=row.enterprise_name,
                credit_code=row.credit_code,
                contact_name=row.contact_name,
                contact_phone=row.contact_phone,
                district=row.district,
            )

    async def save_profile(self, profile: Profile) -> None:
        async with self._transaction() as s:
            await s.execute(self._profile_upsert(profile))

    def _profile_upsert(self, profile: Profile) -> Any:
        values = {
            "enterprise_name": profile.enterprise_name,
            "credit_code": profile.credit_code.strip(),
            "contact_name": profile.contact_name,
            "contact_phone": profile.contact_phone,
            "district": profile.district,
            "updated_at": utcnow(),
        }
        stmt = self._insert(ProfileRow).values(user_id=profile.user_id, **values)
        return stmt.on_conflict_do_update(index_elements=["user_id"], set_=values)

    # drafts -----------------------------------------------------------------------------------------

    async def get_draft(self, user_id: int) -> Draft | None:
        found, draft = self._recall(("draft", user_id))
        if found:
            return None if draft is None else dataclasses.replace(draft, state=copy.deepcopy(draft.state))
        async with self._reading() as s:
            row = await s.get(DraftRow, user_id)
            draft = None
            if row is not None:
                draft = Draft(
                    user_id=row.user_id, state=dict(row.state), paused=row.paused, updated_at=row.updated_at
                )
        self._keep(("draft", user_id), None if draft is None else copy.deepcopy(draft))
        return draft

    async def save_draft(self, user_id: int, state: Mapping[str, Any], *, paused: bool = False) -> None:
        values = {"state": _json_safe(dict(state), "draft state"), "paused": paused, "updated_at": utcnow()}
        stmt = self._insert(DraftRow).values(user_id=user_id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["user_id"], set_=values)
        with self._forgetting(("draft", user_id)):
            async with self._transaction() as s:
                await s.execute(stmt)
        if self._cache is not None and self._unit.get() is None:  # committed: remember what was written
            when = values["updated_at"]
            saved = Draft(user_id=user_id, state=values["state"], paused=paused, updated_at=when)
            self._cache[("draft", user_id)] = copy.deepcopy(saved)

    async def delete_draft(self, user_id: int) -> None:
        with self._forgetting(("draft", user_id)):
            async with self._transaction() as s:
                await s.execute(delete(DraftRow).where(DraftRow.user_id == user_id))

    # entries ----------------------------------------------------------------------------------------

    async def create_entry(
        self, user_id: int, quarter: str, fields: Mapping[str, Any], *, origin_id: int | None = None
    ) -> Entry:
        row = _new_entry_row(user_id, quarter, fields, origin_id)
        async with self._transaction() as s:
            await self.link_platform(s, row)
            s.add(row)
            await s.flush()
            return _entry(row)

    async def submit_draft(
        self,
        user_id: int,
        quarter: str,
        fields: Mapping[str, Any],
        *,
        update_id: int | None = None,
        profile: Profile | None = None,
    ) -> Entry | None:
        """File the user's draft and close it in one transaction, so a crash leaves either the draft
        or the entry, never both. See `policies.ports.Repository.submit_draft`."""
        with self._forgetting(("draft", user_id)):
            return await self._submit_draft(user_id, quarter, fields, update_id=update_id, profile=profile)

    async def _submit_draft(
        self,
        user_id: int,
        quarter: str,
        fields: Mapping[str, Any],
        *,
        update_id: int | None,
        profile: Profile | None,
    ) -> Entry | None:
        new_row = None if update_id is not None else _new_entry_row(user_id, quarter, fields, None)
        async with self._transaction() as s:
            closed = cast(
                "CursorResult[Any]", await s.execute(delete(DraftRow).where(DraftRow.user_id == user_id))
            )
            if closed.rowcount == 0:
                return None  # submitted before (a second press, or another process): file nothing
            if new_row is not None:
                s.add(new_row)
                await s.flush()
                row = new_row
            else:
                row = await self._locked_entry(s, cast("int", update_id), visible_to=user_id)
                self._change_in_place(s, row, user_id, fields)
            await self.link_platform(s, row)
            if profile is not None:
                await s.execute(self._profile_upsert(profile))
            await s.flush()
            return _entry(row)

    async def get_entry(self, entry_id: int) -> Entry | None:
        if not 0 < entry_id <= MAX_ENTRY_ID:
            return None
        async with self._reading() as s:
            row = await s.get(EntryRow, entry_id)
            return None if row is None else _entry(row)

    async def find_duplicate(
        self,
        *,
        quarter: str,
        credit_code: str,
        university: str,
        platform_name: str,
        project_name: str,
        filed_by: int | None = None,
        visible_to: int | None = None,
    ) -> Entry | None:
        """Same enterprise + university + platform + project in one quarter (normalised compare),
        among the entries `filed_by` filed / user `visible_to` may see, when given."""
        wanted = (normalize_name(university), normalize_name(platform_name), normalize_name(project_name))
        stmt = (
            select(EntryRow)
            .where(EntryRow.quarter == quarter, EntryRow.credit_code == normalize_credit_code(credit_code))
            .order_by(EntryRow.id)
        )
        if filed_by is not None:
            stmt = stmt.where(EntryRow.user_id == filed_by)
        if visible_to is not None:
            stmt = stmt.where(self._visible(visible_to))
        async with self._reading() as s:
            for row in await s.scalars(stmt):
                have = (
                    normalize_name(row.university),
                    normalize_name(row.platform_name),
                    normalize_name(row.project_name),
                )
                if have == wanted:
                    return _entry(row)
        return None

    async def update_entry(self, entry_id: int, changed_by: int, changes: Mapping[str, Any]) -> Entry:
        """Apply field changes in place and record one EntryChange per changed field."""
        async with self._transaction() as s:
            row = await self._locked_entry(s, entry_id)
            self._change_in_place(s, row, changed_by, changes)
            await self.link_platform(s, row)
            return _entry(row)

    async def carry_forward(
        self, entry_id: int, quarter: str, changed_by: int, changes: Mapping[str, Any]
    ) -> Entry:
        """Update an entry for `quarter`: in place if it is already that quarter's (or was carried
        into it before), otherwise a new entry (origin_id = the old one) with history."""
        for attempt in (1, 2):
            try:
                async with self._transaction() as s:
                    source = await self._locked_entry(s, entry_id)
                    target: EntryRow | None
                    if source.quarter == quarter:
                        target = source
                    else:
                        found = await s.scalars(
                            select(EntryRow)
                            .where(EntryRow.origin_id == source.id, EntryRow.quarter == quarter)
                            .with_for_update()
                        )
                        target = found.first()
                    if target is not None:
                        self._change_in_place(s, target, changed_by, changes)
                        await self.link_platform(s, target)
                        return _entry(target)
                    fields = dict(source.fields)
                    diff = _apply(fields, changes)
                    now = utcnow()
                    target = EntryRow(
                        user_id=source.user_id,
                        quarter=quarter,
                        fields=fields,
                        origin_id=source.id,
                        created_at=now,
                        updated_at=now,
                        **_key_columns(fields),
                    )
                    await self.link_platform(s, target)
                    s.add(target)
                    await s.flush()
                    self._record(s, target, changed_by, diff, now)
                    return _entry(target)
            except IntegrityError:
                # A concurrent carry-forward of the same origin won the unique (origin_id, quarter).
                if attempt == 2:
                    raise
                log.info("carry_forward of entry %s into %s raced; updating the winner", entry_id, quarter)
        raise AssertionError("unreachable")

    async def _locked_entry(
        self, s: AsyncSession, entry_id: int, *, visible_to: int | None = None
    ) -> EntryRow:
        """The entry row, locked for update; NotFound when it does not exist (or user `visible_to` may not
        see it: neither filed it nor is an active member of its enterprise)."""
        stmt = select(EntryRow).where(EntryRow.id == entry_id)
        owner = visible_to
        if visible_to is not None:
            stmt = stmt.where(self._visible(visible_to))
        row = None
        if 0 < entry_id <= MAX_ENTRY_ID:
            row = (await s.scalars(stmt.with_for_update())).first()
        if row is None:
            raise NotFound(f"entry {entry_id} does not exist" + ("" if owner is None else f" for {owner}"))
        return row

    def _change_in_place(
        self, s: AsyncSession, row: EntryRow, changed_by: int, changes: Mapping[str, Any]
    ) -> None:
        fields = dict(row.fields)
        diff = _apply(fields, changes)
        if not diff:
            return
        now = utcnow()
        row.fields = fields
        for column, value in _key_columns(fields).items():
            setattr(row, column, value)
        row.updated_at = now
        self._record(s, row, changed_by, diff, now)

    @staticmethod
    def _record(
        s: AsyncSession, row: EntryRow, changed_by: int, diff: list[tuple[str, Any, Any]], now: dt.datetime
    ) -> None:
        s.add_all(
            EntryChangeRow(
                entry_id=row.id,
                quarter=row.quarter,
                changed_by=changed_by,
                changed_at=now,
                field=name,
                old=as_text(old),
                new=as_text(new),
            )
            for name, old, new in diff
        )

    async def entries_for_user(self, user_id: int) -> Sequence[Entry]:
        """Every entry this user may see: those they filed and all of each enterprise they are an active
        member of (`storage.membership`)."""
        stmt = select(EntryRow).where(self._visible(user_id)).order_by(EntryRow.quarter, EntryRow.id)
        async with self._reading() as s:
            return [_entry(row) for row in await s.scalars(stmt)]

    async def iter_entries(
        self, *, quarter: str | None = None, university: str | None = None, credit_code: str | None = None
    ) -> AsyncGenerator[Entry, None]:
        """Stream entries ordered by university, enterprise, id. Close it when leaving early
        (`contextlib.aclosing`), or the connection stays checked out until garbage collection."""
        t = _ENTRIES
        stmt = select(t)
        if quarter is not None:
            stmt = stmt.where(t.c.quarter == quarter)
        if university is not None:
            stmt = stmt.where(t.c.university == university.strip())
        if credit_code is not None:
            stmt = stmt.where(t.c.credit_code == normalize_credit_code(credit_code))
        stmt = stmt.order_by(t.c.university, t.c.enterprise_name, t.c.id)
        async for row in self._stream(stmt):
            yield Entry(**row)

    async def _stream(self, stmt: Any) -> AsyncGenerator[RowMapping, None]:
        """Rows as mappings, fetched in batches on a server-side cursor. Core, not ORM: twice as
        fast for exports, and nothing accumulates in an identity map."""
        stmt = stmt.execution_options(yield_per=_STREAM_BATCH)
        unit = self._unit.get()
        if unit is not None:  # a second connection while holding the unit's could starve the pool
            result = await unit.session.stream(stmt)
            async for batch in result.mappings().partitions():
                for row in batch:
                    yield row
            return
        async with self._engine.connect() as conn:
            result = await conn.stream(stmt)
            async for batch in result.mappings().partitions():
                for row in batch:
                    yield row

    async def history(self, entry_id: int) -> Sequence[EntryChange]:
        if not 0 < entry_id <= MAX_ENTRY_ID:
            return []
        stmt = select(EntryChangeRow).where(EntryChangeRow.entry_id == entry_id).order_by(EntryChangeRow.id)
        async with self._reading() as s:
            return [_change(row) for row in await s.scalars(stmt)]

    async def iter_history(self) -> AsyncGenerator[EntryChange, None]:
        """Every change ever recorded, ordered by the entry's university, enterprise, entry id, then
        in the order the changes were made."""
        c, e = _CHANGES, _ENTRIES
        stmt = (
            select(c.c.entry_id, c.c.quarter, c.c.changed_by, c.c.changed_at, c.c.field, c.c.old, c.c.new)
            .join(e, e.c.id == c.c.entry_id)
            .order_by(e.c.university, e.c.enterprise_name, e.c.id, c.c.id)
        )
        async for row in self._stream(stmt):
            yield EntryChange(**row)

    # subscribers ------------------------------------------------------------------------------------

    async def upsert_subscriber(
        self, user_id: int, chat_id: int, name: str, channel: str = "telegram"
    ) -> Subscriber:
        """Subscribe (again) on /start; clears `blocked`. The latest channel is where broadcasts go."""
        now = utcnow()
        values = {
            "chat_id": chat_id,
            "channel": channel,
            "name": name,
            "subscribed": True,
            "blocked": False,
            "updated_at": now,
        }
        stmt = self._insert(SubscriberRow).values(user_id=user_id, created_at=now, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["user_id"], set_=values)
        async with self._transaction() as s:
            await s.execute(stmt)
            row = (await s.scalars(select(SubscriberRow).where(SubscriberRow.user_id == user_id))).one()
            return _subscriber(row)

    async def unsubscribe(self, user_id: int) -> None:
        await self._set_subscriber(user_id, subscribed=False)

    async def mark_blocked(self, user_id: int) -> None:
        await self._set_subscriber(user_id, blocked=True)

    async def _set_subscriber(self, user_id: int, **values: bool) -> None:
        stmt = (
            update(SubscriberRow)
            .where(SubscriberRow.user_id == user_id)
            .values(updated_at=utcnow(), **values)
        )
        async with self._transaction() as s:
            await s.execute(stmt)

    async def active_subscribers(self) -> Sequence[Subscriber]:
        stmt = (
            select(SubscriberRow)
            .where(SubscriberRow.subscribed.is_(True), SubscriberRow.blocked.is_(False))
            .order_by(SubscriberRow.user_id)
        )
        async with self._reading() as s:
            return [_subscriber(row) for row in await s.scalars(stmt)]

    async def filed_users(self, quarter: str) -> set[int]:
        """Users with at least one entry in `quarter` (deadline reminders skip them)."""
        stmt = select(EntryRow.user_id).where(EntryRow.quarter == quarter).distinct()
        async with self._reading() as s:
            return set(await s.scalars(stmt))

    # broadcasts and the outbox ----------------------------------------------------------------------

    async def create_broadcast(
        self,
        text: str,
        created_by: int,
        user_ids: Sequence[int] | None = None,
        *,
        kind: str = "broadcast",
        dedupe_key: str | None = None,
        buttons: Sequence[Sequence[tuple[str, str]]] = (),
    ) -> Broadcast | None:
        """Create the broadcast and one pending outbox row per recipient in one transaction.

        Recipients default to every active subscriber; explicit `user_ids` are taken as given
        (duplicates dropped), chat id from the subscriber row or, for strangers, the user id
        (a private chat's id). With `dedupe_key` already used, returns None.

        Recipients on the web channel are served in the same transaction: the text is written into
        their chat history and their rows are `sent`, so they get it exactly once, with no sender.
        """
        now = utcnow()
        try:
            async with self._transaction() as s:
                if dedupe_key is not None and await s.scalar(
                    select(BroadcastRow.id).where(BroadcastRow.dedupe_key == dedupe_key)
                ):
                    return None
                recipients = await self._recipients(s, user_ids)
                row = BroadcastRow(
                    text=text,
                    created_by=created_by,
                    created_at=now,
                    kind=kind,
                    dedupe_key=dedupe_key,
                    buttons=[[list(b) for b in line] for line in buttons] or None,
                )
                s.add(row)
                await s.flush()
                if recipients:
                    await s.execute(
                        insert(OutboxRow),
                        [
                            {
                                "broadcast_id": row.id,
                                "user_id": uid,
                                "chat_id": chat,
                                "channel": channel,
                                "status": "sent" if channel == WEB_CHANNEL else "pending",
                                "attempts": 1 if channel == WEB_CHANNEL else 0,
                                "updated_at": now,
                            }
                            for uid, chat, channel in recipients
                        ],
                    )
                in_app = [uid for uid, _chat, channel in recipients if channel == WEB_CHANNEL]
                await self._write_to_history(s, in_app, text, kind, now, buttons)
                totals = {"pending": len(recipients) - len(in_app), "sent": len(in_app)}
                return _broadcast(row, {k: v for k, v in totals.items() if v})
        except IntegrityError:
            if dedupe_key is None:
                raise
            log.info("broadcast with dedupe key %s already exists (concurrent create)", dedupe_key)
            return None

    async def _recipients(
        self, s: AsyncSession, user_ids: Sequence[int] | None
    ) -> list[tuple[int, int, str]]:
        """(user id, chat id, channel) of each recipient."""
        if user_ids is None:
            stmt = (
                select(SubscriberRow.user_id, SubscriberRow.chat_id, SubscriberRow.channel)
                .where(SubscriberRow.subscribed.is_(True), SubscriberRow.blocked.is_(False))
                .order_by(SubscriberRow.user_id)
            )
            return [(uid, chat, channel) for uid, chat, channel in (await s.execute(stmt)).all()]
        wanted = list(dict.fromkeys(int(u) for u in user_ids))
        known: dict[int, tuple[int, str]] = {}
        for chunk in _chunks(wanted):
            stmt = select(SubscriberRow.user_id, SubscriberRow.chat_id, SubscriberRow.channel).where(
                SubscriberRow.user_id.in_(chunk)
            )
            known.update((uid, (chat, channel)) for uid, chat, channel in (await s.execute(stmt)).all())
        out = []
        for uid in wanted:
            chat, channel = known.get(uid, (uid, "telegram"))
            out.append((uid, chat, channel))
        return out

    async def _write_to_history(
        self,
        s: AsyncSession,
        user_ids: Sequence[int],
        text: str,
        kind: str,
        now: dt.datetime,
        buttons: Sequence[Sequence[tuple[str, str]]] = (),
    ) -> None:
        """A broadcast or reminder as a bot message in each web user's chat history."""
        if user_ids:
            payload: dict[str, Any] = {"v": 1, "from": "bot", "text": text, "kind": kind}
            if buttons:
                payload["buttons"] = [
                    [{"label": label, "data": data} for label, data in line] for line in buttons
                ]
            await s.execute(
                insert(ChatMessageRow),
                [{"user_id": uid, "payload": payload, "created_at": now} for uid in user_ids],
            )

    async def _totals(self, s: AsyncSession, broadcast_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        totals: dict[int, dict[str, int]] = {bid: {} for bid in broadcast_ids}
        for chunk in _chunks(list(broadcast_ids)):
            stmt = (
                select(OutboxRow.broadcast_id, OutboxRow.status, func.count())
                .where(OutboxRow.broadcast_id.in_(chunk))
                .group_by(OutboxRow.broadcast_id, OutboxRow.status)
            )
            for bid, status, count in (await s.execute(stmt)).all():
                totals[bid][status] = count
        return totals

    async def get_broadcast(self, broadcast_id: int) -> Broadcast | None:
        async with self._reading() as s:
            row = await s.get(BroadcastRow, broadcast_id)
            if row is None:
                return None
            return _broadcast(row, (await self._totals(s, [row.id]))[row.id])

    async def unfinished_broadcasts(self) -> Sequence[Broadcast]:
        """Broadcasts with rows still pending or sending, oldest first."""
        open_rows = exists().where(
            OutboxRow.broadcast_id == BroadcastRow.id, OutboxRow.status.in_(OPEN_STATUSES)
        )
        async with self._reading() as s:
            rows = list(await s.scalars(select(BroadcastRow).where(open_rows).order_by(BroadcastRow.id)))
            totals = await self._totals(s, [row.id for row in rows])
            return [_broadcast(row, totals[row.id]) for row in rows]

    async def claim_outbox(self, broadcast_id: int, limit: int) -> Sequence[OutboxItem]:
        """Up to `limit` pending rows, plus rows another (crashed) owner left in `sending`, oldest
        first, marked `sending` by this owner before return. See the module docstring."""
        if limit <= 0:
            return []
        await self._announce()
        now = utcnow()
        async with self._transaction() as s:
            others = or_(OutboxRow.claimed_by.is_(None), OutboxRow.claimed_by != self.owner)
            if self._pg:  # a live owner's rows are its own, a dead owner's are taken back at once
                live = await self._live_owners(s)
                abandoned = and_(
                    OutboxRow.status == "sending",
                    others,
                    or_(
                        OutboxRow.claimed_by.is_(None),
                        func.substr(OutboxRow.claimed_by, 1, 13).not_in(live),
                    ),
                )
            else:
                abandoned = and_(
                    OutboxRow.status == "sending",
                    others,
                    or_(OutboxRow.claimed_at.is_(None), OutboxRow.claimed_at <= now - self.inflight_lease),
                )
            pick = (
                select(OutboxRow.id)
                .where(OutboxRow.broadcast_id == broadcast_id, or_(OutboxRow.status == "pending", abandoned))
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            if self._pg:
                pick = pick.with_for_update(skip_locked=True)
            ids = list(await s.scalars(pick))
            if not ids:
                return []
            await s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids))
                .values(status="sending", claimed_by=self.owner, claimed_at=now, updated_at=now)
            )
            rows = await s.scalars(
                select(OutboxRow).where(OutboxRow.id.in_(ids)).order_by(OutboxRow.id),
                execution_options={"populate_existing": True},
            )
            return [_outbox(row) for row in rows]

    async def finish_outbox(
        self, item_id: int, status: str, *, error: str | None = None, message_id: int | None = None
    ) -> None:
        """Record the final outcome (sent | failed | blocked) of one attempt (attempts += 1)."""
        if status not in FINAL_STATUSES:
            raise InvalidValue(f"outbox status must be one of {FINAL_STATUSES}, not {status!r}")
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(
                status=status,
                attempts=OutboxRow.attempts + 1,
                last_error=error,
                message_id=message_id,
                claimed_by=None,
                updated_at=utcnow(),
            )
        )
        await self._update_outbox(stmt, item_id)

    async def release_outbox(self, item_id: int, error: str) -> None:
        """Back to pending after a retryable failure (attempts += 1)."""
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(
                status="pending",
                attempts=OutboxRow.attempts + 1,
                last_error=error,
                claimed_by=None,
                claimed_at=None,
                updated_at=utcnow(),
            )
        )
        await self._update_outbox(stmt, item_id)

    async def _update_outbox(self, stmt: Any, item_id: int) -> None:
        async with self._transaction() as s:
            result = cast("CursorResult[Any]", await s.execute(stmt))
            if result.rowcount == 0:
                raise NotFound(f"outbox row {item_id} does not exist")

    async def reset_inflight(self, broadcast_id: int | None = None) -> int:
        """Put `sending` rows (of one broadcast, or all) back to pending; returns how many.

        Extra to the Protocol: `claim_outbox` already resumes a crashed owner's rows, this is for
        an operator who knows no sender is running. Same at-least-once caveat.
        """
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.status == "sending")
            .values(status="pending", claimed_by=None, claimed_at=None, updated_at=utcnow())
        )
        if broadcast_id is not None:
            stmt = stmt.where(OutboxRow.broadcast_id == broadcast_id)
        async with self._transaction() as s:
            result = cast("CursorResult[Any]", await s.execute(stmt))
            return int(result.rowcount)

    async def outbox_items(self, broadcast_id: int) -> Sequence[OutboxItem]:
        """Every outbox row of a broadcast, by id (reports and tests). Extra to the Protocol."""
        stmt = select(OutboxRow).where(OutboxRow.broadcast_id == broadcast_id).order_by(OutboxRow.id)
        async with self._reading() as s:
            return [_outbox(row) for row in await s.scalars(stmt)]

    # key-value store for PTB persistence ---------------------------------------------------------------

    async def kv_get_all(self, namespace: str) -> dict[str, Any]:
        stmt = select(KvRow.key, KvRow.value).where(KvRow.namespace == namespace)
        async with self._reading() as s:
            return {key: value for key, value in (await s.execute(stmt)).all()}

    async def kv_get(self, namespace: str, key: str) -> Any | None:
        found, value = self._recall(("kv", namespace, key))
        if found:
            return copy.deepcopy(value)
        stmt = select(KvRow.value).where(KvRow.namespace == namespace, KvRow.key == key)
        async with self._reading() as s:
            value = (await s.execute(stmt)).scalar_one_or_none()
        self._keep(("kv", namespace, key), copy.deepcopy(value))
        return value

    async def kv_put(self, namespace: str, key: str, value: Any) -> None:
        values = {"value": _json_safe(value, f"{namespace} value"), "updated_at": utcnow()}
        stmt = self._insert(KvRow).values(namespace=namespace, key=key, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["namespace", "key"], set_=values)
        with self._forgetting(("kv", namespace, key)):
            async with self._transaction() as s:
                await s.execute(stmt)

    async def kv_delete(self, namespace: str, key: str) -> None:
        with self._forgetting(("kv", namespace, key)):
            async with self._transaction() as s:
                await s.execute(delete(KvRow).where(KvRow.namespace == namespace, KvRow.key == key))

    # Telegram updates already processed ----------------------------------------------------------------

    async def update_processed(self, update_id: int) -> bool:
        """Whether update `update_id`'s effects were committed (a redelivery must do nothing)."""
        stmt = select(TelegramUpdateRow.update_id).where(TelegramUpdateRow.update_id == update_id)
        async with self._reading() as s:
            return (await s.execute(stmt)).first() is not None

    async def record_update(self, update_id: int) -> None:
        """Mark update `update_id` processed: in the unit of work of its effects, when there is one."""
        stmt = self._insert(TelegramUpdateRow).values(update_id=update_id, processed_at=utcnow())
        async with self._transaction() as s:
            await s.execute(stmt.on_conflict_do_nothing(index_elements=["update_id"]))

    async def prune_updates(self, older_than: dt.timedelta = dt.timedelta(days=2)) -> int:
        """Forget processed updates older than `older_than` (Telegram retries for at most a day)."""
        stmt = delete(TelegramUpdateRow).where(TelegramUpdateRow.processed_at < utcnow() - older_than)
        async with self._transaction() as s:
            return int(cast("CursorResult[Any]", await s.execute(stmt)).rowcount)

    # audit ------------------------------------------------------------------------------------------

    async def audit(self, user_id: int, action: str, allowed: bool, detail: str = "") -> None:
        async with self._transaction() as s:
            s.add(AuditRow(at=utcnow(), user_id=user_id, action=action, allowed=allowed, detail=detail))
