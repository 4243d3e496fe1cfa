"""What the dashboard stores and reads: accounts, server-side sessions, the login throttle, the append-only
audit log, and every entry query *through a scope* (`policies.scopes.Scope`).

A mixin of `SqlRepository`, like `storage.identities`. Scoping happens here, in SQL: the distinct
university (or district) spellings stored are matched against the account's scope in Python (the
normalised compare of `policies.scopes.key`), then the query keeps only those rows. A filter, an id or an
export parameter is applied *inside* that restriction, so no parameter can widen it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    RowMapping,
    delete,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from policies import scopes
from policies.records import Account, AuditEvent, DashboardSession, Entry, EntryChange, Subscriber
from policies.scopes import EntryQuery, Scope
from storage.errors import InvalidValue
from storage.parts import RepositoryPart, utcnow
from storage.tables import (
    DashboardAccountRow,
    DashboardAuditRow,
    DashboardSessionRow,
    EntryChangeRow,
    EntryRow,
    LoginAttemptRow,
    SubscriberRow,
)

_ENTRIES = EntryRow.__table__
_CHANGES = EntryChangeRow.__table__
MAX_ENTRY_ID = 2**31 - 1
AUDIT_FIELD_LIMIT = 2000


def _account(row: DashboardAccountRow) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        role=row.role,
        scope=row.scope,
        disabled=row.disabled,
        created_at=row.created_at,
        created_by=row.created_by,
        last_login_at=row.last_login_at,
    )


def _session(row: DashboardSessionRow) -> DashboardSession:
    return DashboardSession(
        token_hash=row.token_hash,
        account_id=row.account_id,
        csrf=row.csrf,
        address=row.address,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        reauth_at=row.reauth_at,
    )


def _audit(row: DashboardAuditRow) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        at=row.at,
        account=row.account,
        role=row.role,
        address=row.address,
        action=row.action,
        target=row.target,
        detail=row.detail,
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class Lapsed:
    """An enterprise that filed in the previous quarter but not (yet) in this one."""

    credit_code: str
    enterprise_name: str
    district: str
    universities: tuple[str, ...]
    user_ids: tuple[int, ...]


@dataclass(frozen=True)
class Facets:
    """The values the entries filters offer, within the scope."""

    quarters: list[str] = field(default_factory=list)
    universities: list[str] = field(default_factory=list)
    districts: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


_SORT_COLUMNS = {
    "id": EntryRow.id,
    "quarter": EntryRow.quarter,
    "university": EntryRow.university,
    "district": EntryRow.district,
    "enterprise_name": EntryRow.enterprise_name,
    "status": EntryRow.status,
    "updated_at": EntryRow.updated_at,
}


class DashboardStoreMixin(RepositoryPart):
    """Accounts, sessions, login throttle, audit, scoped entries for SqlRepository."""

    def _stream(self, stmt: Any) -> AsyncGenerator[RowMapping, None]:
        raise NotImplementedError  # provided by SqlRepository

    # accounts -------------------------------------------------------------------------------------

    async def add_account(
        self, name: str, password_hash: str, role: str, scope: str, created_by: str
    ) -> Account:
        """A new enabled account; InvalidValue when the name is taken or the role unknown."""
        if role not in scopes.ROLES:
            raise InvalidValue(f"unknown role {role!r}")
        row = DashboardAccountRow(
            name=name,
            password_hash=password_hash,
            role=role,
            scope=scope,
            disabled=False,
            created_at=utcnow(),
            created_by=created_by,
        )
        try:
            async with self._transaction() as s:
                s.add(row)
                await s.flush()
                return _account(row)
        except IntegrityError:
            raise InvalidValue(f"account {name!r} exists") from None

    async def get_account(self, name: str) -> Account | None:
        found = await self.account_with_hash(name)
        return None if found is None else found[0]

    async def account_with_hash(self, name: str) -> tuple[Account, str] | None:
        """The account and its password hash (login only)."""
        async with self._reading() as s:
            row = (
                await s.scalars(select(DashboardAccountRow).where(DashboardAccountRow.name == name))
            ).first()
            return None if row is None else (_account(row), row.password_hash)

    async def list_accounts(self) -> list[Account]:
        async with self._reading() as s:
            rows = await s.scalars(select(DashboardAccountRow).order_by(DashboardAccountRow.name))
            return [_account(row) for row in rows]

    async def set_account_disabled(self, name: str, disabled: bool) -> Account | None:
        """Disable (ending every session of the account at once) or enable; None for an unknown name."""
        async with self._transaction() as s:
            row = (
                await s.scalars(select(DashboardAccountRow).where(DashboardAccountRow.name == name))
            ).first()
            if row is None:
                return None
            row.disabled = disabled
            if disabled:
                await s.execute(delete(DashboardSessionRow).where(DashboardSessionRow.account_id == row.id))
            await s.flush()
            return _account(row)

    # sessions -------------------------------------------------------------------------------------

    async def create_dashboard_session(
        self, account_id: int, token_hash: str, csrf: str, address: str
    ) -> None:
        now = utcnow()
        async with self._transaction() as s:
            s.add(
                DashboardSessionRow(
                    token_hash=token_hash,
                    account_id=account_id,
                    csrf=csrf,
                    address=address[:64],
                    created_at=now,
                    last_seen_at=now,
                    reauth_at=now,
                )
            )
            await s.execute(
                update(DashboardAccountRow)
                .where(DashboardAccountRow.id == account_id)
                .values(last_login_at=now)
            )

    async def dashboard_session(self, token_hash: str) -> tuple[DashboardSession, Account] | None:
        """The session and its account, or None (unknown, ended, or the account disabled)."""
        stmt = (
            select(DashboardSessionRow, DashboardAccountRow)
            .join(DashboardAccountRow, DashboardAccountRow.id == DashboardSessionRow.account_id)
            .where(DashboardSessionRow.token_hash == token_hash, DashboardAccountRow.disabled.is_(False))
        )
        async with self._reading() as s:
            found = (await s.execute(stmt)).first()
            return None if found is None else (_session(found[0]), _account(found[1]))

    async def touch_dashboard_session(self, token_hash: str, *, reauth: bool = False) -> None:
        values: dict[str, Any] = {"last_seen_at": utcnow()}
        if reauth:
            values["reauth_at"] = values["last_seen_at"]
        async with self._transaction() as s:
            await s.execute(
                update(DashboardSessionRow)
                .where(DashboardSessionRow.token_hash == token_hash)
                .values(**values)
            )

    async def end_dashboard_session(self, token_hash: str) -> None:
        async with self._transaction() as s:
            await s.execute(delete(DashboardSessionRow).where(DashboardSessionRow.token_hash == token_hash))

    async def prune_dashboard_sessions(self, idle_before: dt.datetime) -> int:
        async with self._transaction() as s:
            result = await s.execute(
                delete(DashboardSessionRow).where(DashboardSessionRow.last_seen_at < idle_before)
            )
            return int(cast("CursorResult[Any]", result).rowcount)

    # the login throttle ---------------------------------------------------------------------------

    async def login_failures(
        self, keys: Sequence[str], since: dt.datetime
    ) -> dict[str, tuple[int, dt.datetime]]:
        """key -> (failures since `since`, the latest one's time), for keys with any."""
        stmt = (
            select(LoginAttemptRow.key, func.count(), func.max(LoginAttemptRow.at))
            .where(LoginAttemptRow.key.in_(list(keys)), LoginAttemptRow.at >= since)
            .group_by(LoginAttemptRow.key)
        )
        async with self._reading() as s:
            out: dict[str, tuple[int, dt.datetime]] = {}
            for key, count, last in (await s.execute(stmt)).all():
                if isinstance(last, str):  # SQLite's max() of a timestamp comes back as text
                    last = dt.datetime.fromisoformat(last)
                if last.tzinfo is None:
                    last = last.replace(tzinfo=dt.UTC)
                out[key] = (int(count), last)
            return out

    async def record_login_failure(self, keys: Sequence[str], older_than: dt.datetime | None = None) -> None:
        """One failure per key; rows older than `older_than` are dropped on the way (they count no more)."""
        now = utcnow()
        async with self._transaction() as s:
            if older_than is not None:
                await s.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < older_than))
            s.add_all(LoginAttemptRow(key=key[:200], at=now) for key in keys)

    async def clear_login_failures(self, keys: Sequence[str]) -> None:
        async with self._transaction() as s:
            await s.execute(delete(LoginAttemptRow).where(LoginAttemptRow.key.in_(list(keys))))

    # audit ----------------------------------------------------------------------------------------

    async def write_audit(
        self, *, account: str, role: str, address: str, action: str, target: str = "", detail: str = ""
    ) -> None:
        """Append one audit line (the only write the application makes to the log)."""
        row = DashboardAuditRow(
            at=utcnow(),
            account=account[:64],
            role=role[:16],
            address=address[:64],
            action=action[:64],
            target=target[:AUDIT_FIELD_LIMIT],
            detail=detail[:AUDIT_FIELD_LIMIT],
        )
        async with self._transaction() as s:
            s.add(row)

    async def audit_events(
        self,
        *,
        account: str = "",
        action: str = "",
        text: str = "",
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[AuditEvent], int]:
        """Newest first, filtered; with the total count for paging."""
        where: list[ColumnElement[bool]] = []
        if account:
            where.append(DashboardAuditRow.account == account)
        if action:
            where.append(DashboardAuditRow.action == action)
        if text:
            pattern = _like(text)
            where.append(
                or_(
                    func.lower(DashboardAuditRow.target).like(pattern, escape="\\"),
                    func.lower(DashboardAuditRow.detail).like(pattern, escape="\\"),
                )
            )
        if since is not None:
            where.append(DashboardAuditRow.at >= since)
        if until is not None:
            where.append(DashboardAuditRow.at < until)
        stmt = select(DashboardAuditRow).where(*where).order_by(DashboardAuditRow.id.desc())
        async with self._reading() as s:
            total = int(
                await s.scalar(select(func.count()).select_from(DashboardAuditRow).where(*where)) or 0
            )
            rows = await s.scalars(stmt.limit(limit).offset(offset))
            return [_audit(row) for row in rows], total

    async def audit_actions(self) -> list[str]:
        async with self._reading() as s:
            stmt = select(DashboardAuditRow.action).distinct().order_by(DashboardAuditRow.action)
            return list(await s.scalars(stmt))

    # entries through a scope ----------------------------------------------------------------------

    async def _spellings(self, s: AsyncSession, column: Any, wanted: str) -> list[str]:
        """The stored spellings of `column` equal to `wanted` in the normalised compare."""
        mine = scopes.key(wanted)
        if not mine:
            return []
        values = await s.scalars(select(column).distinct())
        return [v for v in values if v is not None and scopes.key(v) == mine]

    async def _scope_clause(self, s: AsyncSession, scope: Scope) -> ColumnElement[bool]:
        if scope.is_admin:
            return true()
        column = EntryRow.university if scope.role == scopes.UNIVERSITY else EntryRow.district
        wanted = scope.university if scope.role == scopes.UNIVERSITY else scope.district
        spellings = await self._spellings(s, column, wanted or "")
        return column.in_(spellings) if spellings else false()

    async def _query_clauses(
        self, s: AsyncSession, scope: Scope, query: EntryQuery
    ) -> list[ColumnElement[bool]]:
        where = [await self._scope_clause(s, scope)]
        if query.quarter:
            where.append(EntryRow.quarter == query.quarter)
        for column, value in ((EntryRow.university, query.university), (EntryRow.district, query.district)):
            if value:
                spellings = await self._spellings(s, column, value)
                where.append(column.in_(spellings) if spellings else false())
        if query.status:
            where.append(EntryRow.status == query.status)
        if query.text:
            pattern = _like(query.text)
            where.append(
                or_(
                    *(
                        func.lower(c).like(pattern, escape="\\")
                        for c in (
                            EntryRow.enterprise_name,
                            EntryRow.project_name,
                            EntryRow.platform_name,
                            EntryRow.credit_code,
                            EntryRow.university,
                        )
                    )
                )
            )
        return where

    async def entries_page(self, scope: Scope, query: EntryQuery) -> tuple[list[Entry], int]:
        """One page of the entries in `scope` matching `query`, and how many match in all."""
        from storage.repository import _entry

        async with self._reading() as s:
            where = await self._query_clauses(s, scope, query)
            total = int(await s.scalar(select(func.count()).select_from(EntryRow).where(*where)) or 0)
            column: Any = _SORT_COLUMNS.get(query.sort, EntryRow.id)
            order: list[Any] = (
                [column.desc(), EntryRow.id.desc()] if query.descending else [column.asc(), EntryRow.id.asc()]
            )
            stmt = (
                select(EntryRow)
                .where(*where)
                .order_by(*order)
                .limit(query.per_page)
                .offset((query.page - 1) * query.per_page)
            )
            return [_entry(row) for row in await s.scalars(stmt)], total

    async def scoped_entry(self, scope: Scope, entry_id: int) -> Entry | None:
        """The entry when it exists *and* is within `scope`; None otherwise (callers answer the same
        for both, so ids outside the scope reveal nothing)."""
        from storage.repository import _entry

        if not 0 < entry_id <= MAX_ENTRY_ID:
            return None
        async with self._reading() as s:
            clause = await self._scope_clause(s, scope)
            row = (await s.scalars(select(EntryRow).where(EntryRow.id == entry_id, clause))).first()
            return None if row is None else _entry(row)

    async def scoped_history(self, scope: Scope, entry_id: int) -> list[EntryChange] | None:
        """The entry's change history, None when the entry is outside `scope` or missing."""
        from storage.repository import _change

        if await self.scoped_entry(scope, entry_id) is None:
            return None
        stmt = select(EntryChangeRow).where(EntryChangeRow.entry_id == entry_id).order_by(EntryChangeRow.id)
        async with self._reading() as s:
            return [_change(row) for row in await s.scalars(stmt)]

    async def entry_facets(self, scope: Scope) -> Facets:
        async with self._reading() as s:
            clause = await self._scope_clause(s, scope)

            async def distinct(column: Any) -> list[str]:
                stmt = select(column).where(clause, column != "").distinct().order_by(column)
                return [v for v in await s.scalars(stmt) if v]

            quarters = sorted(await distinct(EntryRow.quarter), reverse=True)
            return Facets(
                quarters=quarters,
                universities=await distinct(EntryRow.university),
                districts=await distinct(EntryRow.district),
                statuses=await distinct(EntryRow.status),
            )

    async def entry_counts(
        self, scope: Scope, quarter: str
    ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """(university, entries) and (district, entries) of `quarter` within `scope`, most first."""
        async with self._reading() as s:
            clause = await self._scope_clause(s, scope)
            out = []
            for column in (EntryRow.university, EntryRow.district):
                stmt = (
                    select(column, func.count())
                    .where(clause, EntryRow.quarter == quarter)
                    .group_by(column)
                    .order_by(func.count().desc(), column)
                )
                out.append([(name or "（未填写）", int(n)) for name, n in (await s.execute(stmt)).all()])
            return out[0], out[1]

    async def set_platform_check(
        self, scope: Scope, entry_id: int, check: str | None, by: str, note: str = ""
    ) -> Entry | None:
        """A university account confirms or flags (or clears) an entry of its own list; None when the
        entry is outside its scope or the scope may not check."""
        from storage.repository import _entry

        if not scope.may_check_platforms or (check is not None and check not in scopes.PLATFORM_CHECKS):
            return None
        if not 0 < entry_id <= MAX_ENTRY_ID:
            return None
        async with self._transaction() as s:
            clause = await self._scope_clause(s, scope)
            row = (
                await s.scalars(select(EntryRow).where(EntryRow.id == entry_id, clause).with_for_update())
            ).first()
            if row is None:
                return None
            row.platform_check = check
            row.platform_check_by = by if check else None
            row.platform_check_at = utcnow() if check else None
            row.platform_check_note = (note or None) if check else None
            await s.flush()
            return _entry(row)

    async def lapsed_enterprises(self, scope: Scope, quarter: str, previous: str) -> list[Lapsed]:
        """Enterprises with entries (in scope) in `previous` but none in `quarter`, by name."""
        async with self._reading() as s:
            clause = await self._scope_clause(s, scope)
            filed_now = select(EntryRow.credit_code).where(clause, EntryRow.quarter == quarter)
            stmt = (
                select(
                    EntryRow.credit_code,
                    EntryRow.enterprise_name,
                    EntryRow.district,
                    EntryRow.university,
                    EntryRow.user_id,
                )
                .where(clause, EntryRow.quarter == previous, EntryRow.credit_code.not_in(filed_now))
                .order_by(EntryRow.credit_code, EntryRow.id)
            )
            grouped: dict[str, dict[str, Any]] = {}
            for code, name, district, university, user_id in (await s.execute(stmt)).all():
                item = grouped.setdefault(code, {"name": name, "district": district, "unis": {}, "users": {}})
                item["name"], item["district"] = name or item["name"], district or item["district"]
                item["unis"][university] = None
                item["users"][user_id] = None
            return sorted(
                (
                    Lapsed(code, v["name"], v["district"], tuple(v["unis"]), tuple(v["users"]))
                    for code, v in grouped.items()
                ),
                key=lambda lapsed: (lapsed.district, lapsed.enterprise_name),
            )

    async def never_filed_subscribers(self) -> list[Subscriber]:
        """Active subscribers who never filed an entry (the secretariat's reminder list)."""
        from storage.repository import _subscriber

        filed = select(EntryRow.user_id)
        stmt = (
            select(SubscriberRow)
            .where(
                SubscriberRow.subscribed.is_(True),
                SubscriberRow.blocked.is_(False),
                SubscriberRow.user_id.not_in(filed),
            )
            .order_by(SubscriberRow.created_at, SubscriberRow.user_id)
        )
        async with self._reading() as s:
            return [_subscriber(row) for row in await s.scalars(stmt)]

    # exports through a scope ----------------------------------------------------------------------

    async def iter_entries_in(
        self, scope: Scope, *, quarter: str | None = None
    ) -> AsyncGenerator[Entry, None]:
        """`iter_entries` restricted to `scope` (same order: university, enterprise, id)."""
        async with self._reading() as s:
            clause = await self._scope_clause(s, scope)
        t = _ENTRIES
        stmt = select(t).where(clause)
        if quarter is not None:
            stmt = stmt.where(t.c.quarter == quarter)
        stmt = stmt.order_by(t.c.university, t.c.enterprise_name, t.c.id)
        async for row in self._stream(stmt):
            yield Entry(**row)

    async def iter_history_in(self, scope: Scope) -> AsyncGenerator[EntryChange, None]:
        """`iter_history` of the entries within `scope`."""
        async with self._reading() as s:
            clause = await self._scope_clause(s, scope)
        c, e = _CHANGES, _ENTRIES
        stmt = (
            select(c.c.entry_id, c.c.quarter, c.c.changed_by, c.c.changed_at, c.c.field, c.c.old, c.c.new)
            .join(e, e.c.id == c.c.entry_id)
            .where(clause)
            .order_by(e.c.university, e.c.enterprise_name, e.c.id, c.c.id)
        )
        async for row in self._stream(stmt):
            yield EntryChange(**row)

    def scoped(self, scope: Scope) -> ScopedEntries:
        """A read-only view for `storage.exports.export` that streams only the entries within `scope`."""
        return ScopedEntries(self, scope)


class ScopedEntries:
    """What the exports read (`iter_entries`, `iter_history`), restricted to one scope."""

    def __init__(self, repo: DashboardStoreMixin, scope: Scope) -> None:
        self._repo, self._scope = repo, scope

    def iter_entries(self, *, quarter: str | None = None, **other: Any) -> AsyncIterator[Entry]:
        if any(v is not None for v in other.values()):  # only the exports' call is supported
            raise TypeError(f"ScopedEntries.iter_entries takes only quarter, not {sorted(other)}")
        return self._repo.iter_entries_in(self._scope, quarter=quarter)

    def iter_history(self) -> AsyncIterator[EntryChange]:
        return self._repo.iter_history_in(self._scope)
