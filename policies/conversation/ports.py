"""What the conversation core needs from the outside besides the Repository: reports (exports and the
榜单, written by `storage`) and a way to start delivering a broadcast (the channel that can push)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from policies.conversation.events import Actor
from policies.replies import OutgoingFile


@dataclass(frozen=True)
class ExportOutcome:
    """The files of one export (already bundled into one zip when there are several)."""

    files: Sequence[OutgoingFile] = field(default_factory=tuple)
    groups: int = 0
    rows: int = 0
    history_rows: int = 0


class Reports(Protocol):
    async def leaderboard_text(self, quarter: str) -> str: ...

    async def export(self, kind: str, quarter: str | None, fmt: str) -> ExportOutcome: ...


# Starts sending broadcast `broadcast_id` for `admin` in the background; returns False when this
# process has no channel that can push (the terminal chat), so the core says it was only queued.
BroadcastLauncher = Callable[[int, Actor], Awaitable[bool]]
