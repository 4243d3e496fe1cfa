"""The policy data the bot currently answers from, swapped as a whole on `/reload`.

The bot refuses to start on bad data (`load` raises), but a bad edit at run time must not take
a working bot down: `reload` keeps the old base and matcher and reports the error instead.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from policies import built
from policies.loader import PolicyError
from policies.matcher import Matcher
from policies.models import PolicyBase

logger = logging.getLogger(__name__)

__all__ = ["PolicyError", "PolicyStore"]


class PolicyStore:
    """Current PolicyBase + Matcher for a data directory. Construction does no I/O."""

    def __init__(self, directory: Path, cache_dir: Path | None = None) -> None:
        self.directory = Path(directory)
        self.cache_dir = cache_dir  # built base + matcher kept here between starts (policies.built)
        self._base: PolicyBase | None = None
        self._matcher: Matcher | None = None

    @property
    def loaded(self) -> bool:
        return self._matcher is not None

    @property
    def base(self) -> PolicyBase:
        if self._base is None:
            raise RuntimeError("PolicyStore.load() has not been called")
        return self._base

    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            raise RuntimeError("PolicyStore.load() has not been called")
        return self._matcher

    def load(self) -> PolicyBase:
        """Load the data and build the matcher; raises PolicyError (the bot must not start)."""
        started = time.perf_counter()
        base, matcher = built.build(self.directory, self.cache_dir)
        # Swap both together, so readers never see a base with another base's matcher.
        self._base, self._matcher = base, matcher
        logger.info(
            "Loaded %d FAQ entries from %s in %.0f ms",
            len(base.faqs),
            self.directory,
            (time.perf_counter() - started) * 1000,
        )
        return base

    def reload(self) -> tuple[bool, str]:
        """Reload from disk; on bad data keep answering from the old data.

        Returns (ok, one-line message in Chinese for the admin).
        """
        try:
            base = self.load()
        except (PolicyError, OSError) as exc:
            logger.warning("Policy reload failed, keeping the old data: %s", exc)
            detail = str(exc) if isinstance(exc, PolicyError) else f"{type(exc).__name__}: {exc}"
            return False, "重新加载失败，继续使用原数据：" + " ".join(detail.split())
        return True, f"政策数据已重新加载：{len(base.faqs)} 个问答主题，{len(base.documents)} 份文件。"
