"""未答问题 (/admin/unanswered, admins): the questions the bot declined or only suggested an answer to,
grouped by similarity with counts, exactly as `python bot.py unanswered` lists them (`policies.unanswered`
groups them, `storage.unanswered` writes the xlsx), so the secretariat can turn a group into a new FAQ
question or entry, run `bot.py check` and /reload.

    GET /admin/unanswered[?since=YYYY-MM-DD]         the groups, most frequent first
    GET /admin/unanswered.xlsx[?since=YYYY-MM-DD]    the same as a spreadsheet (audited as an export)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from typing import Any

from aiohttp import web

from handlers.web.dashboard import auth
from handlers.web.dashboard.render import render
from policies.scopes import ADMIN
from policies.settings import TIMEZONE
from policies.unanswered import UnansweredGroup, group_questions, topic_label
from storage.unanswered import write_unanswered

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _since(raw: str) -> tuple[dt.date | None, str]:
    """(day, problem) from `since`; an unreadable day is reported, not guessed."""
    raw = raw.strip()
    if not raw:
        return None, ""
    try:
        return dt.date.fromisoformat(raw[:10]), ""
    except ValueError:
        return None, f"日期格式应为 YYYY-MM-DD（收到：{raw[:20]}），已显示全部。"


async def _groups(request: web.Request) -> tuple[list[UnansweredGroup], dt.date | None, str, Any]:
    day, problem = _since(request.query.get("since", ""))
    since = dt.datetime.combine(day, dt.time(), TIMEZONE) if day else None
    svc = auth.state(request).svc
    questions = await auth.repo(request).unanswered_since(since)
    groups = await asyncio.to_thread(group_questions, questions)
    return groups, day, problem, svc.policies.matcher


@auth.require(ADMIN)
async def unanswered(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    groups, day, problem, matcher = await _groups(request)
    rows = [
        {
            "count": g.count,
            "newest": g.newest.question,
            "at": g.newest.asked_at.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M"),
            "topic": topic_label(matcher, g.top_candidate),
            "others": g.examples()[1:],
        }
        for g in groups
    ]
    context = {
        "rows": rows,
        "since": day.isoformat() if day else "",
        "problem": problem,
        "questions": sum(g.count for g in groups),
    }
    return render(request, "dashboard/unanswered.html", context, title="未答问题")


@auth.require(ADMIN)
async def download(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    from handlers.web.app import content_disposition  # here: app imports this package

    groups, day, _problem, matcher = await _groups(request)
    buffer = io.BytesIO()
    await asyncio.to_thread(write_unanswered, buffer, groups, lambda faq_id: topic_label(matcher, faq_id))
    name = f"未答问题_{day.isoformat() if day else '全部'}.xlsx"
    await auth.audit(request, "export", target="unanswered", detail=f"{len(groups)} 组（自 {day or '全部'}）")
    return web.Response(
        body=buffer.getvalue(),
        content_type=XLSX,
        headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store"},
    )


def register(app: web.Application) -> None:
    app.router.add_get("/admin/unanswered", unanswered)
    app.router.add_get("/admin/unanswered.xlsx", download)
