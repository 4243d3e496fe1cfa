"""What the dashboard's 群发与提醒, 榜单 and 平台目录 pages read and write, as a mixin of `SqlRepository`.

* broadcasts: the past ones with their delivery counts, and this quarter's reminders by dedupe key;
* the catalogue as the leaderboard sees it (platform id -> `CataloguePlatform`), and how many entries
  name each platform;
* a university's own catalogue maintained between imports: add, edit, retire. Rows are validated by the
  importer's own rules before they get here (`policies.platform_catalogue.check_rows`); edits go to the
  university's current catalogue version (its latest quarter, what 找平台 offers), like a re-import of
  that quarter, and link that quarter's entries that now name a catalogue platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from policies.leaderboard import CataloguePlatform
from policies.platform_catalogue import platform_key
from policies.records import Broadcast, BroadcastTotals, Platform
from policies.scopes import Scope
from storage.errors import InvalidValue, NotFound
from storage.parts import RepositoryPart, utcnow
from storage.platforms import _platform as _platform_of
from storage.tables import BroadcastRow, EntryRow, PlatformRow

MAX_ID = 2**31 - 1
_EDITABLE = ("name", "type", "introduction", "intentions", "services", "keywords",
             "contact_name", "contact_phone", "link")  # fmt: skip


Delivery = BroadcastTotals  # the dashboard's name for a broadcast's progress


class DuplicatePlatform(InvalidValue):
    """The university's catalogue already has a platform of that name."""


class DashboardPagesMixin(RepositoryPart):
    """Reads and writes of the dashboard pages (see the module docstring)."""

    async def _totals(self, s: AsyncSession, broadcast_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        raise NotImplementedError  # provided by SqlRepository

    async def _link_quarter(self, s: AsyncSession, quarter: str) -> int:
        raise NotImplementedError  # provided by PlatformStoreMixin

    async def _scope_clause(self, s: AsyncSession, scope: Scope) -> ColumnElement[bool]:
        raise NotImplementedError  # provided by DashboardStoreMixin

    # -- broadcasts --------------------------------------------------------------------------------------
    async def recent_broadcasts(
        self, limit: int = 50, *, kinds: Sequence[str] = ("broadcast", "reminder")
    ) -> list[Broadcast]:
        """The newest broadcasts and reminders first, with their delivery counts (not the one-to-one
        membership messages, which share the outbox)."""
        stmt = (
            select(BroadcastRow)
            .where(BroadcastRow.kind.in_(list(kinds)))
            .order_by(BroadcastRow.id.desc())
            .limit(limit)
        )
        async with self._reading() as s:
            rows = list(await s.scalars(stmt))
            totals = await self._totals(s, [r.id for r in rows])
        return [_broadcast(r, totals[r.id]) for r in rows]

    async def reminder_broadcasts(self, quarter: str) -> dict[str, Broadcast]:
        """`quarter`'s reminders that went out, by dedupe key ("week2:2026Q4")."""
        stmt = select(BroadcastRow).where(
            BroadcastRow.kind == "reminder", BroadcastRow.dedupe_key.like(f"%:{quarter}")
        )
        async with self._reading() as s:
            rows = list(await s.scalars(stmt))
            totals = await self._totals(s, [r.id for r in rows])
        return {str(r.dedupe_key): _broadcast(r, totals[r.id]) for r in rows}

    async def broadcast_by_key(self, dedupe_key: str) -> Broadcast | None:
        """The broadcast created with `dedupe_key` (a confirmed dashboard preview), if any."""
        async with self._reading() as s:
            row = await s.scalar(select(BroadcastRow).where(BroadcastRow.dedupe_key == dedupe_key))
            if row is None:
                return None
            return _broadcast(row, (await self._totals(s, [row.id]))[row.id])

    # -- a district's enterprises (成员与审核) ---------------------------------------------------------------
    async def credit_codes_in(self, scope: Scope) -> set[str]:
        """The credit codes of the enterprises with entries within `scope` (a district's enterprises)."""
        async with self._reading() as s:
            clause = await self._scope_clause(s, scope)
            return set(await s.scalars(select(EntryRow.credit_code).where(clause).distinct()))

    async def filed_outside(self, scope: Scope, credit_code: str) -> bool:
        """Whether the enterprise has entries outside `scope` (it is registered in another district)."""
        async with self._reading() as s:
            clause = await self._scope_clause(s, scope)
            stmt = select(EntryRow.id).where(EntryRow.credit_code == credit_code, ~clause).limit(1)
            return (await s.scalar(stmt)) is not None

    # -- the catalogue as the leaderboard and the entries see it ------------------------------------------
    async def catalogue_platforms(self) -> dict[int, CataloguePlatform]:
        """Every catalogue row (all quarters, retired too): linked entries count for its platform."""
        stmt = select(
            PlatformRow.id, PlatformRow.key, PlatformRow.university, PlatformRow.name, PlatformRow.quarter
        )
        async with self._reading() as s:
            rows = sorted((await s.execute(stmt)).all(), key=lambda r: (r.quarter, r.id))
        # the newest version names the platform (a renamed platform shows its new name for old entries too)
        newest = {r.key: (r.university, r.name) for r in rows}
        return {r.id: CataloguePlatform(r.key, *newest[r.key]) for r in rows}

    async def entry_quarters(self) -> list[str]:
        """Quarters that have entries, oldest first."""
        async with self._reading() as s:
            return sorted(await s.scalars(select(EntryRow.quarter).distinct()))

    async def entries_per_platform(self, keys: Sequence[str]) -> dict[str, int]:
        """How many entries (all quarters) are linked to each platform `key`."""
        if not keys:
            return {}
        stmt = (
            select(PlatformRow.key, func.count(EntryRow.id))
            .join(EntryRow, EntryRow.platform_id == PlatformRow.id)
            .where(PlatformRow.key.in_(list(keys)))
            .group_by(PlatformRow.key)
        )
        async with self._reading() as s:
            return {key: count for key, count in (await s.execute(stmt)).all()}

    # -- a university's own catalogue ----------------------------------------------------------------------
    async def catalogue_of(self, mine: Callable[[str], bool] | None) -> list[Platform]:
        """The current version (latest quarter per university) of the catalogues of the universities
        `mine` accepts (None: every university's), retired platforms included, retired last."""
        latest = select(PlatformRow.university, func.max(PlatformRow.quarter).label("quarter")).group_by(
            PlatformRow.university
        )
        async with self._reading() as s:
            current = {u: q for u, q in (await s.execute(latest)).all()}
            pairs = [(u, q) for u, q in current.items() if mine is None or mine(u)]
            found: list[Platform] = []
            for university, quarter in sorted(pairs):
                stmt = (
                    select(PlatformRow)
                    .where(PlatformRow.university == university, PlatformRow.quarter == quarter)
                    .order_by(PlatformRow.retired_at.is_not(None), PlatformRow.id)
                )
                found.extend(_platform_of(row) for row in await s.scalars(stmt))
        return found

    async def catalogue_quarter(self, university: str, fallback: str) -> str:
        """The quarter a platform added for `university` joins: its catalogue's current version, else
        `fallback` (the current quarter) for a university without a catalogue yet."""
        stmt = select(func.max(PlatformRow.quarter)).where(PlatformRow.university == university)
        async with self._reading() as s:
            return await s.scalar(stmt) or fallback

    async def add_platform(self, platform: Platform) -> Platform:
        """Add a checked platform to `platform.quarter`'s catalogue. DuplicatePlatform when one of that
        university and name is there already."""
        key = platform_key(platform.university, platform.name)
        values = {f: getattr(platform, f) for f in ("university", *_EDITABLE)}
        try:
            async with self._transaction() as s:
                if await s.scalar(
                    select(PlatformRow.id).where(
                        PlatformRow.quarter == platform.quarter, PlatformRow.key == key
                    )
                ):
                    raise DuplicatePlatform("该平台已在目录中")
                row = PlatformRow(
                    quarter=platform.quarter, key=key, imported_at=utcnow(), sample=False, **values
                )
                s.add(row)
                await s.flush()
                await self._link_quarter(s, platform.quarter)
                return _platform_of(row)
        except IntegrityError:  # a concurrent add of the same platform
            raise DuplicatePlatform("该平台已在目录中") from None

    async def update_platform(self, platform_id: int, changes: Platform) -> Platform:
        """Overwrite the editable fields of one catalogue row (its university stays)."""
        if not 0 < platform_id <= MAX_ID:
            raise NotFound(platform_id)
        key = platform_key(changes.university, changes.name)
        try:
            async with self._transaction() as s:
                row = await s.get(PlatformRow, platform_id, with_for_update=True)
                if row is None:
                    raise NotFound(platform_id)
                if key != row.key and await s.scalar(
                    select(PlatformRow.id).where(PlatformRow.quarter == row.quarter, PlatformRow.key == key)
                ):
                    raise DuplicatePlatform("该平台已在目录中")
                for f in _EDITABLE:
                    setattr(row, f, getattr(changes, f))
                row.key = key
                row.imported_at = utcnow()  # the search index reloads on a new version
                await s.flush()
                await self._link_quarter(s, row.quarter)
                return _platform_of(row)
        except IntegrityError:
            raise DuplicatePlatform("该平台已在目录中") from None

    async def retire_platform(self, platform_id: int, *, retired: bool = True) -> Platform:
        """Retire (or bring back) one catalogue row: entries stay linked, 找平台 no longer offers it."""
        if not 0 < platform_id <= MAX_ID:
            raise NotFound(platform_id)
        async with self._transaction() as s:
            row = await s.get(PlatformRow, platform_id, with_for_update=True)
            if row is None:
                raise NotFound(platform_id)
            now = utcnow()
            row.retired_at = now if retired else None
            row.imported_at = now
            await s.flush()
            return _platform_of(row)

    async def platform_rows(self, ids: Sequence[int]) -> Mapping[int, Platform]:
        """Catalogue rows by id (for scope checks of a posted id)."""
        wanted = [i for i in ids if 0 < i <= MAX_ID]
        if not wanted:
            return {}
        async with self._reading() as s:
            rows = await s.scalars(select(PlatformRow).where(PlatformRow.id.in_(wanted)))
            return {row.id: _platform_of(row) for row in rows}


def _broadcast(row: BroadcastRow, totals: Mapping[str, int]) -> Broadcast:
    from storage.repository import _broadcast as as_record  # the repository imports this module

    return as_record(row, totals)
