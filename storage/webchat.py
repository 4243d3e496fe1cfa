"""What only the web chat stores: downloadable files and its cookie secret.

A mixin of `SqlRepository` (it uses the repository's sessions), like `storage.identities`.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from sqlalchemy import select

from storage.parts import RepositoryPart, utcnow
from storage.tables import KvRow, WebFileRow


class WebChatStoreMixin(RepositoryPart):
    """`put_web_file`, `get_web_file`, `kv_setdefault` for SqlRepository."""

    _insert: Any  # the dialect's INSERT (ON CONFLICT support), set by SqlRepository

    def _forgetting(self, key: tuple[Any, ...]) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError  # provided by SqlRepository

    async def put_web_file(self, user_id: int, name: str, mime: str, data: bytes) -> str:
        """Store a file for `user_id`; returns its random id (the download link's last part)."""
        file_id = secrets.token_hex(16)
        async with self._transaction() as s:
            s.add(
                WebFileRow(
                    id=file_id,
                    user_id=user_id,
                    name=name,
                    mime=mime,
                    data=data,
                    created_at=utcnow(),
                )
            )
        return file_id

    async def get_web_file(self, user_id: int, file_id: str) -> tuple[str, str, bytes] | None:
        """(name, mime, bytes) of the file when it exists and belongs to `user_id`; None otherwise, so
        another user's file and a missing one look the same."""
        stmt = select(WebFileRow.name, WebFileRow.mime, WebFileRow.data).where(
            WebFileRow.id == file_id, WebFileRow.user_id == user_id
        )
        async with self._reading() as s:
            row = (await s.execute(stmt)).one_or_none()
        return None if row is None else (str(row[0]), str(row[1]), bytes(row[2]))

    async def kv_setdefault(self, namespace: str, key: str, value: Any) -> Any:
        """The stored value of (namespace, key), storing `value` first if there is none. Two workers
        racing here both get the one value that was stored first."""
        now = utcnow()
        stmt = self._insert(KvRow).values(namespace=namespace, key=key, value=value, updated_at=now)
        with self._forgetting(("kv", namespace, key)):
            async with self._transaction() as s:
                await s.execute(stmt.on_conflict_do_nothing(index_elements=["namespace", "key"]))
        async with self._reading() as s:
            stored = (
                await s.execute(select(KvRow.value).where(KvRow.namespace == namespace, KvRow.key == key))
            ).scalar_one()
        return stored
