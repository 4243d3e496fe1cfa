"""`policies.conversation.ports.Reports` on the database: the 榜单 text and exports as in-memory files."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import cast

from policies.conversation.ports import ExportOutcome
from policies.leaderboard import render_leaderboard
from policies.ports import Repository
from policies.replies import OutgoingFile
from storage.exports import ExportFormat, ExportKind, bundle, collect_leaderboard, export, quarter_label

LEADERBOARD_TTL = 300.0  # seconds a rendered 榜单 is reused (it is public; keep repeated calls cheap)
KIND_NAMES = {"university": "按高校", "enterprise": "按企业", "ledger": "台账", "leaderboard": "榜单"}
MIME = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv",
    ".zip": "application/zip",
}


class SqlReports:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._boards: dict[str, tuple[float, str]] = {}

    async def leaderboard_text(self, quarter: str) -> str:
        hit = self._boards.get(quarter)
        if hit is not None and time.monotonic() - hit[0] < LEADERBOARD_TTL:
            return hit[1]
        text = render_leaderboard(await collect_leaderboard(self.repo, quarter), quarter)
        self._boards[quarter] = (time.monotonic(), text)
        return text

    async def export(self, kind: str, quarter: str | None, fmt: str) -> ExportOutcome:
        """Export into a temporary directory, read the result (one zip when several files), clean up."""
        work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="pairing-export-"))
        try:
            result = await export(
                self.repo,
                by=cast(ExportKind, kind),
                quarter=quarter,
                fmt=cast(ExportFormat, fmt),
                out=work / "out",
            )
            paths = list(result.paths)
            if len(paths) > 1:
                name = f"{quarter_label(quarter)}_{KIND_NAMES.get(kind, kind)}导出.zip"
                paths = [await asyncio.to_thread(bundle, paths, work / name)]
            files = [
                OutgoingFile(
                    p.name,
                    await asyncio.to_thread(p.read_bytes),
                    MIME.get(p.suffix, "application/octet-stream"),
                )
                for p in paths
            ]
            return ExportOutcome(tuple(files), result.groups, result.rows, result.history_rows)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
