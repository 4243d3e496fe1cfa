"""The week-6 《科创平台产学研结对共建新成果和贡献度榜单》, computed from one quarter's entries (pure).

Per university and per platform (a platform is named within its university) we count:

- 新增结对: entries of the quarter that carry nothing forward (no `origin_id`) and do not repeat an
  entry of the previous quarter (same credit code + university + platform + project, normalised);
- 已签约项目: entries whose status is 已签约 / 在建 / 已完成 (`records.STATUS_SIGNED`);
- 进展更新: entries carried forward into the quarter (`origin_id` set), re-filed repeats of the
  previous quarter, or entries with a recorded change in the quarter.

贡献度 = 新增结对 x 3 + 已签约项目 x 2 + 进展更新 x 1: a new pairing is the programme's goal,
a signature turns intent into a project, an update keeps the list alive. Ranking is by score,
ties share a rank and are listed by name, so the order never depends on input order.

`Tally` accumulates entry by entry, so a caller can stream 100,000 entries without keeping them.

An entry linked to the platform catalogue (`Entry.platform_id`) counts for that catalogue platform under
its catalogue name, whatever spelling the enterprise typed (`catalogue`: platform id -> `CataloguePlatform`,
every quarter's version of one platform sharing its `key`); other entries count under the typed name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from policies.records import STATUS_SIGNED, Entry

WEIGHT_NEW = 3
WEIGHT_SIGNED = 2
WEIGHT_UPDATED = 1
TOP_N = 10
FORMULA = f"贡献度 = 新增结对×{WEIGHT_NEW} + 已签约项目×{WEIGHT_SIGNED} + 进展更新×{WEIGHT_UPDATED}"

PairKey = tuple[str, str, str, str]


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


def pair_key(entry: Entry) -> PairKey:
    """What makes two entries the same pairing across quarters."""
    return (
        _norm(entry.credit_code),
        _norm(entry.university),
        _norm(entry.platform_name),
        _norm(entry.project_name),
    )


@dataclass(frozen=True)
class CataloguePlatform:
    """What the leaderboard needs of a catalogue platform: its identity across quarters and its names."""

    key: str
    university: str
    name: str


@dataclass
class Score:
    """One university's or platform's counts for the quarter."""

    name: str
    university: str = ""  # platforms: the university the platform belongs to
    platform_key: str = ""  # platforms: the catalogue key when the entries are linked to the catalogue
    new: int = 0
    signed: int = 0
    updated: int = 0
    entries: int = 0

    @property
    def score(self) -> int:
        return self.new * WEIGHT_NEW + self.signed * WEIGHT_SIGNED + self.updated * WEIGHT_UPDATED


@dataclass(frozen=True)
class Ranked:
    rank: int
    item: Score


@dataclass(frozen=True)
class Leaderboard:
    quarter: str
    universities: tuple[Ranked, ...]
    platforms: tuple[Ranked, ...]
    entries: int
    new: int
    signed: int
    updated: int


@dataclass
class Tally:
    """Accumulates one quarter's entries; `result()` ranks them."""

    quarter: str
    previous_keys: Collection[PairKey] = frozenset()
    changed_ids: Collection[int] = frozenset()
    catalogue: Mapping[int, CataloguePlatform] = field(default_factory=dict)
    _universities: dict[str, Score] = field(default_factory=dict)
    _platforms: dict[tuple[str, str], Score] = field(default_factory=dict)
    _totals: Score = field(default_factory=lambda: Score(""))

    def add(self, entry: Entry) -> None:
        if entry.quarter != self.quarter:
            return
        repeat = entry.origin_id is None and pair_key(entry) in self.previous_keys
        new = entry.origin_id is None and not repeat
        signed = entry.status.strip() in STATUS_SIGNED
        updated = not new or entry.id in self.changed_ids
        university = entry.university.strip() or "（未填写高校）"
        linked = self.catalogue.get(entry.platform_id) if entry.platform_id is not None else None
        if linked is not None:
            slot = ("", linked.key)
            platform_score = Score(linked.name, linked.university, linked.key)
        else:
            platform = entry.platform_name.strip() or "（未填写平台）"
            slot, platform_score = (university, platform), Score(platform, university)
        targets = (
            self._universities.setdefault(university, Score(university)),
            self._platforms.setdefault(slot, platform_score),
            self._totals,
        )
        for s in targets:
            s.entries += 1
            s.new += new
            s.signed += signed
            s.updated += updated

    def result(self) -> Leaderboard:
        t = self._totals
        return Leaderboard(
            quarter=self.quarter,
            universities=rank(self._universities.values()),
            platforms=rank(self._platforms.values()),
            entries=t.entries,
            new=t.new,
            signed=t.signed,
            updated=t.updated,
        )


def rank(scores: Iterable[Score]) -> tuple[Ranked, ...]:
    """Highest score first; equal scores share a rank (1, 1, 3) and are listed by name."""
    ordered = sorted(scores, key=lambda s: (-s.score, s.name, s.university))
    ranked: list[Ranked] = []
    for i, s in enumerate(ordered):
        same = ranked and ranked[-1].item.score == s.score
        ranked.append(Ranked(ranked[-1].rank if same else i + 1, s))
    return tuple(ranked)


def compute_leaderboard(
    entries: Iterable[Entry],
    quarter: str,
    *,
    previous: Iterable[Entry] = (),
    changed_ids: Collection[int] = frozenset(),
    catalogue: Mapping[int, CataloguePlatform] | None = None,
) -> Leaderboard:
    """Rank `quarter`'s entries; `previous` are the previous quarter's (to tell new from repeated),
    `changed_ids` the ids of entries with a recorded change in `quarter`, `catalogue` the catalogue
    platforms linked entries count for."""
    tally = Tally(
        quarter, frozenset(pair_key(e) for e in previous), frozenset(changed_ids), dict(catalogue or {})
    )
    for entry in entries:
        tally.add(entry)
    return tally.result()


def title(quarter: str) -> str:
    return f"{quarter}科创平台产学研结对共建新成果和贡献度榜单"


def _line(r: Ranked, label: str) -> str:
    s = r.item
    return f"{r.rank}. {label}  贡献度 {s.score}（新增结对 {s.new}，已签约 {s.signed}，进展更新 {s.updated}）"


def render_leaderboard(board: Leaderboard, quarter: str | None = None, *, top: int = TOP_N) -> str:
    """The Chinese text published in week 6: totals, formula, top universities and platforms."""
    quarter = quarter or board.quarter
    lines = [f"🏆 {title(quarter)}", ""]
    if not board.entries:
        lines.append("本季度暂无结对共建项目填报，榜单将在收到填报后发布。")
        return "\n".join(lines)
    lines += [
        f"本季度共 {board.entries} 项结对共建项目：新增结对 {board.new} 项，"
        f"已签约项目 {board.signed} 项，进展更新 {board.updated} 项。",
        f"计分规则：{FORMULA}；同分并列，按名称排序。",
        "",
        f"【高校/科研机构 前{min(top, len(board.universities))}名】",
    ]
    lines += [_line(r, r.item.name) for r in board.universities[:top]]
    lines += ["", f"【科创平台 前{min(top, len(board.platforms))}名】"]
    lines += [_line(r, f"{r.item.name}（{r.item.university}）") for r in board.platforms[:top]]
    lines += ["", "感谢各高校院所、科创平台和企业的积极参与！"]
    return "\n".join(lines)


def restricted(board: Leaderboard, mine: Callable[[str], bool]) -> Leaderboard:
    """`board` as a university account sees it: the rows of the universities `mine` accepts and of their
    platforms (with their ranks in the whole board, which is published in week 6 anyway), and totals over
    those universities' entries only."""
    universities = tuple(r for r in board.universities if mine(r.item.name))
    return Leaderboard(
        quarter=board.quarter,
        universities=universities,
        platforms=tuple(r for r in board.platforms if mine(r.item.university)),
        entries=sum(r.item.entries for r in universities),
        new=sum(r.item.new for r in universities),
        signed=sum(r.item.signed for r in universities),
        updated=sum(r.item.updated for r in universities),
    )


def total_score(board: Leaderboard) -> int:
    return board.new * WEIGHT_NEW + board.signed * WEIGHT_SIGNED + board.updated * WEIGHT_UPDATED
