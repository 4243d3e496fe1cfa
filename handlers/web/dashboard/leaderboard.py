"""榜单 (/admin/leaderboard): the week-6 leaderboard as a table and a bar chart, the contribution trend over
quarters, and one platform's figures over quarters.

    GET /admin/leaderboard?quarter=2026Q4           universities and platforms, chart, trend
    GET /admin/leaderboard/platform?university=&name=   one platform over the quarters

The numbers are `storage.exports.collect_leaderboard` / `collect_trend` (entries linked to the catalogue
count per catalogue platform), i.e. exactly what /leaderboard and the week-6 reminder publish. Admins and
district offices see the whole board (it is published to every subscriber in week 6); a university
account sees its own rows and its own platforms, with their rank in the whole board.

Charts are drawn by the vendored Chart.js from JSON in `<script type="application/json">` blocks
(`board_chart`, `trend_chart`): no inline script, so the strict Content-Security-Policy holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from handlers.web.dashboard import auth
from handlers.web.dashboard.render import render
from policies.cycle import QuarterError, cycle_quarter, parse_quarter, quarter_name
from policies.leaderboard import (
    FORMULA,
    TOP_N,
    WEIGHT_NEW,
    WEIGHT_SIGNED,
    WEIGHT_UPDATED,
    Leaderboard,
    Ranked,
    Score,
    restricted,
    title,
    total_score,
)
from policies.scopes import UNIVERSITY, Scope
from storage.exports import collect_trend

TREND_QUARTERS = 8
SERIES = (
    (f"新增结对×{WEIGHT_NEW}", "new", WEIGHT_NEW),
    (f"已签约×{WEIGHT_SIGNED}", "signed", WEIGHT_SIGNED),
    (f"进展更新×{WEIGHT_UPDATED}", "updated", WEIGHT_UPDATED),
)


def board_chart(ranked: Sequence[Ranked], *, platforms: bool, top: int = TOP_N) -> dict[str, Any]:
    """A horizontal stacked bar per university (or platform), best first: each part is what new pairings,
    signed projects and updates add to its 贡献度, so a bar's length is its score."""
    shown = list(ranked[:top])
    labels = [f"{r.item.name}（{r.item.university}）" if platforms else r.item.name for r in shown]
    return {
        "kind": "bar",
        "horizontal": True,
        "stacked": True,
        "labels": labels,
        "series": [
            {"label": label, "data": [getattr(r.item, attr) * weight for r in shown]}
            for label, attr, weight in SERIES
        ],
    }


def trend_chart(boards: Sequence[Leaderboard]) -> dict[str, Any]:
    """贡献度 and project counts per quarter, oldest first."""
    return {
        "kind": "line",
        "labels": [b.quarter for b in boards],
        "series": [
            {"label": "贡献度", "data": [total_score(b) for b in boards]},
            {"label": "项目数", "data": [b.entries for b in boards]},
            {"label": "新增结对", "data": [b.new for b in boards]},
        ],
    }


def as_json(value: Any) -> str:
    """JSON safe inside <script type="application/json">: no '</' or '<!--' can end the block early."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def _mine(scope: Scope) -> Any:
    """The scope's filter on a board: a university sees its own rows; admins and districts the whole."""
    if scope.role == UNIVERSITY:
        return lambda board: restricted(board, lambda name: scope.sees(name, None))
    return lambda board: board


async def _quarters(request: web.Request) -> tuple[list[str], str]:
    """(quarters with entries plus the current one, oldest first; the current cycle's quarter)."""
    svc = auth.state(request).svc
    current = cycle_quarter(svc.settings.today())
    quarters = sorted(set(await auth.repo(request).entry_quarters()) | {current})
    return quarters, current


def _picked(raw: str, quarters: Sequence[str], default: str) -> str:
    try:
        year, q = parse_quarter(raw.strip())
    except QuarterError:
        return default
    quarter = f"{year}Q{q}"
    return quarter if quarter in quarters else default


@auth.require()
async def leaderboard(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    quarters, current = await _quarters(request)
    quarter = _picked(request.query.get("quarter", ""), quarters, current)
    repo = auth.repo(request)
    view = _mine(viewer.scope)
    shown = quarters[-TREND_QUARTERS:]
    # one pass for the trend and the chosen quarter (an older one is added to the pass, not shown)
    boards = {b.quarter: view(b) for b in await collect_trend(repo, sorted({*shown, quarter}))}
    board = boards[quarter]
    trend = [boards[q] for q in shown]
    university_view = viewer.scope.role == UNIVERSITY
    chart = board_chart(board.platforms if university_view else board.universities, platforms=university_view)
    context = {
        "quarter": quarter,
        "quarters": quarters,
        "heading": title(quarter),
        "quarter_name": quarter_name(quarter),
        "formula": FORMULA,
        "board": board,
        "score": total_score(board),
        "university_view": university_view,
        "chart_title": "本校科创平台贡献度" if university_view else f"高校/科研机构贡献度（前{TOP_N}名）",
        "chart_json": as_json(chart),
        "trend": [(b, total_score(b)) for b in trend],
        "trend_json": as_json(trend_chart(trend)),
    }
    return render(request, "dashboard/leaderboard.html", context, title="榜单")


@auth.require()
async def platform(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    """One platform's counts per quarter (identified as the board names it: university and name)."""
    university = request.query.get("university", "").strip()[:100]
    name = request.query.get("name", "").strip()[:200]
    if not university or not name:
        return auth.refusal(request, 404, "没有找到这个平台。")
    if viewer.scope.role == UNIVERSITY and not viewer.scope.sees(university, None):
        return await auth.forbidden(request, "您的账号无权查看其他高校院所的平台。")
    quarters, _current = await _quarters(request)
    rows: list[tuple[str, Score | None, int | None]] = []
    for board in await collect_trend(auth.repo(request), quarters[-TREND_QUARTERS:]):
        found = next(
            (r for r in board.platforms if r.item.university == university and r.item.name == name), None
        )
        rows.append((board.quarter, found.item if found else None, found.rank if found else None))
    if not any(score for _q, score, _rank in rows):
        return auth.refusal(request, 404, "没有找到这个平台的填报。")
    chart = {
        "kind": "line",
        "labels": [q for q, _s, _r in rows],
        "series": [
            {"label": "贡献度", "data": [s.score if s else 0 for _q, s, _r in rows]},
            {"label": "项目数", "data": [s.entries if s else 0 for _q, s, _r in rows]},
        ],
    }
    context = {
        "university": university,
        "name": name,
        "rows": rows,
        "chart_json": as_json(chart),
    }
    return render(request, "dashboard/leaderboard_platform.html", context, title=f"{name} · 榜单")


def register(app: web.Application) -> None:
    app.router.add_get("/admin/leaderboard", leaderboard)
    app.router.add_get("/admin/leaderboard/platform", platform)
