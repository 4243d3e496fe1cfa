"""The log of questions the matcher declined or only suggested an answer to.

A mixin of `SqlRepository` (it uses the repository's sessions), like `storage.identities`. The asker
is stored as a keyed hash of the internal user id under a random salt kept in the kv store, so the
log groups one person's questions without saying who asked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from policies.records import UnansweredQuestion
from policies.settings import TIMEZONE
from policies.validators import clean_input
from storage.parts import RepositoryPart, utcnow
from storage.tables import UnansweredRow
from storage.xlsx import ColumnFormat, XlsxWriter

if TYPE_CHECKING:
    from policies.unanswered import UnansweredGroup

QUESTION_LIMIT = 500  # characters of a logged question
CANDIDATE_LIMIT = 3
DEFAULT_RETENTION_DAYS = 180  # policies.settings.DEFAULT_UNANSWERED_RETENTION_DAYS


class UnansweredStoreMixin(RepositoryPart):
    """`log_unanswered` and `unanswered_since` for SqlRepository."""

    kv_setdefault: Callable[[str, str, Any], Awaitable[Any]]  # provided by WebChatStoreMixin
    _asker_salt: bytes | None = None
    # Questions older than this are deleted whenever one is logged (one indexed DELETE; the
    # secretariat reviews a quarter at a time). Set from UNANSWERED_RETENTION_DAYS by bot.py.
    unanswered_retention: dt.timedelta = dt.timedelta(days=DEFAULT_RETENTION_DAYS)

    async def log_unanswered(
        self,
        user_id: int,
        question: str,
        band: str,
        score: float,
        candidates: Sequence[tuple[str, float]],
    ) -> None:
        """Record one declined or suggested question (the user id itself is never stored) and
        forget those older than `unanswered_retention`."""
        asker = await self._asker(user_id)
        now = utcnow()
        row = {
            "asked_at": now,
            "asker": asker,
            "question": clean_input(question)[:QUESTION_LIMIT],
            "band": band,
            "score": round(float(score), 2),
            "candidates": [[faq_id, round(float(s), 2)] for faq_id, s in candidates[:CANDIDATE_LIMIT]],
        }
        async with self._transaction() as s:
            await s.execute(insert(UnansweredRow).values(**row))
            await s.execute(
                delete(UnansweredRow).where(UnansweredRow.asked_at < now - self.unanswered_retention)
            )

    async def unanswered_since(self, since: dt.datetime | None = None) -> list[UnansweredQuestion]:
        """The logged questions asked at or after `since` (all when None), oldest first."""
        stmt = select(UnansweredRow).order_by(UnansweredRow.asked_at, UnansweredRow.id)
        if since is not None:
            stmt = stmt.where(UnansweredRow.asked_at >= since)
        async with self._reading() as s:
            rows = (await s.execute(stmt)).scalars().all()
            return [
                UnansweredQuestion(
                    asked_at=r.asked_at,
                    asker=r.asker,
                    question=r.question,
                    band=r.band,
                    score=float(r.score),
                    candidates=tuple((str(c[0]), float(c[1])) for c in r.candidates or ()),
                )
                for r in rows
            ]

    async def _asker(self, user_id: int) -> str:
        salt = self._asker_salt
        if salt is None:
            stored = str(await self.kv_setdefault("unanswered", "salt", secrets.token_hex(32)))
            salt = stored.encode()
            self.after_commit(lambda: setattr(self, "_asker_salt", salt))  # only a committed salt
        return hmac.new(salt, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]


UNANSWERED_COLUMNS = (
    ("次数", 8),
    ("最近的问法", 40),
    ("最近提问时间", 18),
    ("最接近的条目", 36),
    ("全部问法", 80),
)


def unanswered_rows(groups: Sequence[UnansweredGroup], topic: Callable[[str | None], str]) -> list[list[Any]]:
    """One row per group, as `bot.py unanswered --format xlsx` and the dashboard's download write it;
    `topic` names a group's closest FAQ entry."""
    return [
        [
            g.count,
            g.newest.question,
            g.newest.asked_at.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M"),
            topic(g.top_candidate),
            "\n".join(g.examples()),
        ]
        for g in groups
    ]


def write_unanswered(
    target: Path | IO[bytes], groups: Sequence[UnansweredGroup], topic: Callable[[str | None], str]
) -> None:
    """The grouped questions as one xlsx sheet (a path, or a binary stream for a download)."""
    with XlsxWriter(target) as book:  # type: ignore[arg-type]  # zipfile takes a stream as well
        sheet = book.add_sheet("未答问题", [ColumnFormat(h, w) for h, w in UNANSWERED_COLUMNS])
        sheet.append_rows(unanswered_rows(groups, topic))
        sheet.close()
