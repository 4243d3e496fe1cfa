"""The base of the repository's parts (the `*StoreMixin` classes `SqlRepository` is made of).

Each part is kept in its own module because one kind of caller needs it; this base declares, once, the
session helpers `SqlRepository` provides to all of them, so each part type-checks on its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession


def utcnow() -> dt.datetime:
    """Now, as the aware UTC datetime every timestamp column stores."""
    return dt.datetime.now(dt.UTC)


class RepositoryPart:
    """What every part may use of `SqlRepository` (which defines these for real)."""

    def _reading(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        raise NotImplementedError  # provided by SqlRepository

    def _transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        raise NotImplementedError  # provided by SqlRepository

    def after_commit(self, callback: Callable[[], object]) -> None:
        raise NotImplementedError  # provided by SqlRepository
