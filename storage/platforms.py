"""The platform catalogue in the database: `policies.ports.PlatformStore` as a mixin of `SqlRepository`.

Versioned by quarter: importing 2027Q1 adds new rows and never touches 2026Q4's, so an entry keeps the
platform version it was filed against. Re-importing the same quarter updates rows in place by `key`
(university and name), keeping their ids and the entries linked to them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from policies.platform_catalogue import platform_key
from policies.records import ImportCounts, Platform
from storage.parts import RepositoryPart, utcnow
from storage.tables import EntryRow, PlatformRow

_FIELDS = ("university", "name", "type", "introduction", "intentions", "services", "keywords",
           "contact_name", "contact_phone", "link", "sample")  # fmt: skip


def _platform(row: PlatformRow) -> Platform:
    return Platform(
        id=row.id,
        quarter=row.quarter,
        key=row.key,
        retired=row.retired_at is not None,
        **{f: getattr(row, f) for f in _FIELDS},
    )


class PlatformStoreMixin(RepositoryPart):
    """`import_platforms`, `current_platforms`, `get_platform`, `platforms_version`, `link_platform`."""

    _read: async_sessionmaker[AsyncSession]

    def _reading(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        """The unit's session inside a user's hold: a second pooled connection while the unit holds one
        could starve the pool (every update waiting for a second connection)."""
        raise NotImplementedError  # provided by SqlRepository

    async def platforms_version(self) -> str:
        stmt = select(func.count(PlatformRow.id), func.max(PlatformRow.id), func.max(PlatformRow.imported_at))
        async with self._reading() as s:
            count, top, at = (await s.execute(stmt)).one()
        return f"{count}:{top}:{at.isoformat() if at else ''}"

    async def current_platforms(self) -> Sequence[Platform]:
        latest = (
            select(PlatformRow.university, func.max(PlatformRow.quarter).label("quarter"))
            .group_by(PlatformRow.university)
            .subquery()
        )
        stmt = (
            select(PlatformRow)
            .join(
                latest,
                (PlatformRow.university == latest.c.university) & (PlatformRow.quarter == latest.c.quarter),
            )
            .where(PlatformRow.retired_at.is_(None))
            .order_by(PlatformRow.university, PlatformRow.id)
        )
        async with self._reading() as s:
            return [_platform(row) for row in await s.scalars(stmt)]

    async def platforms_of(self, quarter: str) -> Sequence[Platform]:
        stmt = select(PlatformRow).where(PlatformRow.quarter == quarter).order_by(PlatformRow.id)
        async with self._reading() as s:
            return [_platform(row) for row in await s.scalars(stmt)]

    async def get_platform(self, platform_id: int) -> Platform | None:
        if not 0 < platform_id <= 2**31 - 1:
            return None
        async with self._reading() as s:
            row = await s.get(PlatformRow, platform_id)
            return None if row is None else _platform(row)

    async def import_platforms(
        self, quarter: str, platforms: Sequence[Platform], *, universities: Sequence[str]
    ) -> ImportCounts:
        """See `policies.ports.PlatformStore.import_platforms`: all of it or nothing."""
        now = utcnow()
        counts = {"added": 0, "updated": 0, "removed": 0}
        async with self._transaction() as s:
            existing = {
                row.key: row
                for row in await s.scalars(
                    select(PlatformRow).where(
                        PlatformRow.quarter == quarter, PlatformRow.university.in_(list(universities))
                    )
                )
            }
            for platform in platforms:
                key = platform.key or platform_key(platform.university, platform.name)
                values: dict[str, Any] = {f: getattr(platform, f) for f in _FIELDS}
                row = existing.pop(key, None)
                if row is None:
                    s.add(PlatformRow(quarter=quarter, key=key, imported_at=now, **values))
                    counts["added"] += 1
                    continue
                if any(getattr(row, f) != v for f, v in values.items()):
                    counts["updated"] += 1
                for f, v in values.items():
                    setattr(row, f, v)
                row.imported_at = now
                row.retired_at = None  # listed again: offered again
            if existing:
                await s.execute(
                    delete(PlatformRow).where(PlatformRow.id.in_([r.id for r in existing.values()]))
                )
                counts["removed"] = len(existing)
            await s.flush()
            linked = await self._link_quarter(s, quarter)
        return ImportCounts(linked=linked, **counts)

    async def _link_quarter(self, s: AsyncSession, quarter: str) -> int:
        """Link `quarter`'s entries that name a platform of its catalogue and are not linked yet."""
        ids = {
            key: pid
            for key, pid in (
                await s.execute(select(PlatformRow.key, PlatformRow.id).where(PlatformRow.quarter == quarter))
            ).all()
        }
        rows = (
            await s.execute(
                select(EntryRow.id, EntryRow.university, EntryRow.platform_name).where(
                    EntryRow.quarter == quarter, EntryRow.platform_id.is_(None)
                )
            )
        ).all()
        linked = 0
        for entry_id, university, name in rows:
            pid = ids.get(platform_key(university, name))
            if pid is not None:
                await s.execute(update(EntryRow).where(EntryRow.id == entry_id).values(platform_id=pid))
                linked += 1
        return linked

    @staticmethod
    async def link_platform(s: AsyncSession, row: EntryRow) -> None:
        """Point an entry at the catalogue platform it names: that quarter's version, else the latest
        earlier one, else the newest; NULL when the catalogue does not have it."""
        key = platform_key(row.university, row.platform_name)
        stmt = select(PlatformRow.id, PlatformRow.quarter).where(PlatformRow.key == key)
        found = (await s.execute(stmt)).all()
        if not found:
            row.platform_id = None
            return
        earlier = [(q, pid) for pid, q in found if q <= row.quarter]
        row.platform_id = max(earlier)[1] if earlier else max((q, pid) for pid, q in found)[1]
