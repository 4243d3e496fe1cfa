"""Who a user is across channels, and the web chat's stored messages.

A mixin of `SqlRepository` (it uses the repository's sessions), kept apart because it is the part
every channel adapter needs and nothing else does.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from policies.validators import clean_input
from storage.parts import RepositoryPart, utcnow
from storage.tables import ChatMessageRow, IdentityRow, KvRow, UserRow

HISTORY_PAGE = 200
IDENTITY_CACHE = 50_000  # (channel, external id) pairs remembered per process
IDENTITY_RECHECK = 2.0  # seconds between checks whether another worker moved an identity
IDENTITY_VERSION = ("identity", "version")  # kv (namespace, key) bumped whenever an identity moves


class IdentityStoreMixin(RepositoryPart):
    """`resolve_user`, `find_user`, `append_messages`, `messages_after` for SqlRepository.

    Every update of every channel starts with `resolve_user`, so a found identity is remembered in
    this process. Linking (`storage.membership`) re-points identities: it calls `forget_identity` here
    and bumps the `IDENTITY_VERSION` kv row, which every worker checks every few seconds.
    """

    _identity_cache: dict[tuple[str, str], int]

    async def _fresh_identities(self) -> dict[tuple[str, str], int]:
        """The cache, emptied when another worker re-pointed an identity (`/link`): the kv row
        `IDENTITY_VERSION` counts such moves and is read at most every `IDENTITY_RECHECK` seconds, so a
        moved identity may resolve to its old user in another worker for that long at most."""
        cache = self._identities()
        now = time.monotonic()
        if now - getattr(self, "_identity_checked", -IDENTITY_RECHECK) < IDENTITY_RECHECK:
            return cache
        self._identity_checked = now
        stmt = select(KvRow.value).where(
            KvRow.namespace == IDENTITY_VERSION[0], KvRow.key == IDENTITY_VERSION[1]
        )
        async with self._reading() as s:
            version = (await s.execute(stmt)).scalar_one_or_none()
        if version != getattr(self, "_identity_version", None):
            self._identity_version = version
            cache.clear()
        return cache

    async def resolve_user(self, channel: str, external_id: str, name: str = "") -> int:
        """The internal user id of (channel, external id), created on first sight. Safe under races:
        two workers creating the same identity end with one user."""
        cache = await self._fresh_identities()
        known = cache.get((channel, external_id))
        if known is not None:
            return known
        found = await self.find_user(channel, external_id)
        if found is not None:
            self.after_commit(lambda: self._remember(channel, external_id, found))
            return found
        try:
            async with self._transaction() as s:
                name = clean_input(name)[:200]
                user_id = (
                    await s.execute(
                        insert(UserRow).values(name=name, created_at=utcnow()).returning(UserRow.id)
                    )
                ).scalar_one()
                await s.execute(
                    insert(IdentityRow).values(
                        channel=channel, external_id=external_id, user_id=user_id, created_at=utcnow()
                    )
                )
            # Remembered once committed: a unit of work that rolls back leaves no user behind.
            self.after_commit(lambda: self._remember(channel, external_id, int(user_id)))
            return int(user_id)
        except IntegrityError:
            again = await self.find_user(channel, external_id)
            if again is None:
                raise
            return again

    def _identities(self) -> dict[tuple[str, str], int]:
        cache = getattr(self, "_identity_cache", None)
        if cache is None:
            cache = self._identity_cache = {}
        return cache

    def _remember(self, channel: str, external_id: str, user_id: int) -> None:
        cache = self._identities()
        if len(cache) >= IDENTITY_CACHE:
            cache.pop(next(iter(cache)))  # oldest first: dicts keep insertion order
        cache[(channel, external_id)] = user_id

    def forget_identity(self, channel: str, external_id: str) -> None:
        self._identities().pop((channel, external_id), None)

    async def find_user(self, channel: str, external_id: str) -> int | None:
        stmt = select(IdentityRow.user_id).where(
            IdentityRow.channel == channel, IdentityRow.external_id == external_id
        )
        async with self._reading() as s:
            value = (await s.execute(stmt)).scalar_one_or_none()
        return None if value is None else int(value)

    async def identities_of(self, user_id: int) -> list[tuple[str, str]]:
        stmt = select(IdentityRow.channel, IdentityRow.external_id).where(IdentityRow.user_id == user_id)
        async with self._reading() as s:
            return [(c, e) for c, e in (await s.execute(stmt)).all()]

    async def append_messages(self, user_id: int, payloads: Sequence[Mapping[str, Any]]) -> list[int]:
        """Store messages of a user's web conversation in order; returns their ids (increasing)."""
        ids: list[int] = []
        async with self._transaction() as s:
            for payload in payloads:
                row = ChatMessageRow(user_id=user_id, payload=dict(payload), created_at=utcnow())
                s.add(row)
                await s.flush()
                ids.append(int(row.id))
        return ids

    async def messages_after(
        self, user_id: int, after: int = 0, limit: int = HISTORY_PAGE
    ) -> list[tuple[int, dict[str, Any], dt.datetime]]:
        """This user's messages with id > `after`, oldest first; nobody else's."""
        stmt = (
            select(ChatMessageRow.id, ChatMessageRow.payload, ChatMessageRow.created_at)
            .where(ChatMessageRow.user_id == user_id, ChatMessageRow.id > after)
            .order_by(ChatMessageRow.id)
            .limit(limit)
        )
        async with self._reading() as s:
            return [(int(i), dict(p), at) for i, p, at in (await s.execute(stmt)).all()]

    async def last_message_id(self, user_id: int) -> int:
        stmt = (
            select(ChatMessageRow.id)
            .where(ChatMessageRow.user_id == user_id)
            .order_by(ChatMessageRow.id.desc())
            .limit(1)
        )
        async with self._reading() as s:
            value = (await s.execute(stmt)).scalar_one_or_none()
        return 0 if value is None else int(value)
