"""群发与提醒 (/admin/broadcasts, admins): compose -> preview with the recipient count -> confirm, live
progress, past broadcasts, and this quarter's reminder schedule with what has gone out.

    GET  /admin/broadcasts                  compose form, past broadcasts, the reminder schedule
    POST /admin/broadcasts/preview          the text as it will go, with the recipient count
    POST /admin/broadcasts/send             confirm a preview: one broadcast per preview (audited)
    GET  /admin/broadcasts/{id}             progress (sent / failed / left); refreshes itself without JS
    GET  /admin/broadcasts/{id}/events      the same progress as server-sent events, ending at done

A preview is kept server-side (kv `dashboard_preview`: the account's last five, by a random nonce),
so what is confirmed is exactly what was previewed; the broadcast's dedupe key carries the nonce, so a
double submit or a second worker still creates one broadcast. Web-chat recipients receive it as it is
created; Telegram recipients' rows are delivered by the sender worker (`sender_loop`), whose progress
the page follows in the outbox.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from aiohttp import web

from handlers.web.dashboard import auth
from handlers.web.dashboard.overview import DASHBOARD_SENDER
from handlers.web.dashboard.render import render
from policies.conversation.admin import TEXT_LIMIT
from policies.cycle import cycle_quarter, quarter_name
from policies.schedule import AUDIENCE_LABELS, LEADERBOARD_PLACEHOLDER, schedule_status
from policies.scopes import ADMIN
from policies.settings import TIMEZONE
from policies.validators import clean_input
from storage.dashboard_pages import Delivery

PREVIEWS = "dashboard_preview"  # kv namespace: account name -> {nonce: text}, the newest MAX_PREVIEWS
MAX_PREVIEWS = 5
DEDUPE_PREFIX = "dashboard-broadcast:"
POLL_SECONDS = 1.0  # how often the event stream looks at the outbox
STREAM_SECONDS = 300.0  # one stream's life; EventSource reconnects (the page keeps following)
PING_SECONDS = 15.0
RECENT = 50
MAX_ID = 2**31 - 1
KIND_LABELS = {"broadcast": "群发", "reminder": "提醒"}


def _local(value: Any) -> str:
    return value.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M") if value else ""


def _excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "……"


async def _page(request: web.Request, *, text: str = "", error: str = "", status: int = 200) -> web.Response:
    svc = auth.state(request).svc
    repo = auth.repo(request)
    today = svc.settings.today()
    quarter = cycle_quarter(today)
    created = {key: (b.id, dict(b.totals)) for key, b in (await repo.reminder_broadcasts(quarter)).items()}
    schedule = [
        {
            "day": line.reminder.when.date().isoformat(),
            "week": line.reminder.week,
            "audience": AUDIENCE_LABELS.get(line.reminder.audience, line.reminder.audience)
            + ("（本季度未填报者）" if line.reminder.only_unfiled else ""),
            "text": _excerpt(line.reminder.text.replace(LEADERBOARD_PLACEHOLDER, "[贡献度榜单]"), 80),
            "state": line.state,
            "sent_id": line.sent_id,
            "recipients": line.recipients,
        }
        for line in schedule_status(svc.policies.base, quarter, today, created)
    ]
    past = [
        {
            "id": b.id,
            "kind": KIND_LABELS.get(b.kind, b.kind),
            "at": _local(b.created_at),
            "text": _excerpt(b.text),
            "delivery": Delivery.of(b),
        }
        for b in await repo.recent_broadcasts(RECENT)
    ]
    context = {
        "text": text,
        "error": error,
        "limit": TEXT_LIMIT,
        "recipients": len(await repo.active_subscribers()),
        "past": past,
        "schedule": schedule,
        "quarter": quarter,
        "quarter_name": quarter_name(quarter),
    }
    return render(request, "dashboard/broadcasts.html", context, title="群发与提醒", status=status)


@auth.require(ADMIN)
async def broadcasts(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    return await _page(request)


def _clean(raw: object) -> tuple[str, str]:
    """(text, problem): the cleaned text, or the Chinese reason it cannot go."""
    text = clean_input(raw if isinstance(raw, str) else "").strip()
    if not text:
        return "", "通知内容为空，请填写后再预览。"
    if len(text) > TEXT_LIMIT:
        return text, f"通知内容超过 {TEXT_LIMIT} 字（现 {len(text)} 字），无法一次发送，请精简。"
    return text, ""


@auth.require(ADMIN)
async def preview(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    form = await request.post()
    text, problem = _clean(form.get("text"))
    if problem:
        return await _page(request, text=text, error=problem, status=400)
    repo = auth.repo(request)
    count = len(await repo.active_subscribers())
    if count == 0:
        return await _page(request, text=text, error="当前没有有效订阅者，无需群发。", status=400)
    nonce = secrets.token_urlsafe(16)
    kept = await repo.kv_get(PREVIEWS, viewer.account.name)
    previews = dict(kept) if isinstance(kept, dict) else {}
    previews[nonce] = text
    await repo.kv_put(PREVIEWS, viewer.account.name, dict(list(previews.items())[-MAX_PREVIEWS:]))
    context = {"text": text, "count": count, "nonce": nonce}
    return render(request, "dashboard/broadcast_preview.html", context, title="群发预览")


@auth.require(ADMIN)
async def send(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    form = await request.post()
    nonce = form.get("nonce")
    if not isinstance(nonce, str) or not 0 < len(nonce) <= 64 or not nonce.isascii():
        return auth.refusal(request, 400, "预览已失效，请重新填写通知内容。")
    repo = auth.repo(request)
    key = DEDUPE_PREFIX + nonce
    kept = await repo.kv_get(PREVIEWS, viewer.account.name)
    previews = dict(kept) if isinstance(kept, dict) else {}
    text = previews.pop(nonce, None)
    if not isinstance(text, str):
        done = await repo.broadcast_by_key(key)
        if done is not None:  # pressed twice: the first press created it
            raise web.HTTPSeeOther(f"/admin/broadcasts/{done.id}")
        return auth.refusal(request, 400, "预览已失效（可能已发送），请重新填写通知内容。")
    created = await repo.create_broadcast(text, DASHBOARD_SENDER, dedupe_key=key)
    await repo.kv_put(PREVIEWS, viewer.account.name, previews)
    if created is None:
        done = await repo.broadcast_by_key(key)
        if done is None:  # pragma: no cover - a dedupe key is only refused when its broadcast exists
            return auth.refusal(request, 409, "群发未能创建，请重试。")
        raise web.HTTPSeeOther(f"/admin/broadcasts/{done.id}")
    count = sum(created.totals.values())
    await auth.audit(
        request,
        "broadcast",
        target=f"broadcast:{created.id}",
        detail=f"{count} 位订阅者：{_excerpt(created.text)}",
    )
    raise web.HTTPSeeOther(f"/admin/broadcasts/{created.id}")


async def _broadcast(request: web.Request) -> Any:
    raw = request.match_info["broadcast_id"]
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        return None
    return await auth.repo(request).get_broadcast(int(raw))


@auth.require(ADMIN)
async def progress(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    found = await _broadcast(request)
    if found is None:
        return auth.refusal(request, 404, "没有找到这次群发。")
    context = {
        "b": found,
        "kind": KIND_LABELS.get(found.kind, found.kind),
        "at": _local(found.created_at),
        "delivery": Delivery.of(found),
    }
    return render(request, "dashboard/broadcast.html", context, title=f"群发 #{found.id}")


def _event(name: str, delivery: Delivery) -> bytes:
    data = json.dumps(delivery.as_dict(), ensure_ascii=False)
    return f"event: {name}\ndata: {data}\n\n".encode()


@auth.require(ADMIN)
async def events(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    """Progress as text/event-stream: a `progress` event whenever the counts change, `done` at the end
    (then the stream closes and the page stops listening)."""
    found = await _broadcast(request)
    if found is None:
        return auth.refusal(request, 404, "没有找到这次群发。")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass events through as they come
        }
    )
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    started = last_write = loop.time()
    last: Delivery | None = None
    repo = auth.repo(request)
    try:
        await response.write(b"retry: 2000\n\n")
        while True:
            delivery = Delivery.of(found)
            if delivery.done:
                await response.write(_event("done", delivery))
                break
            if delivery != last:
                await response.write(_event("progress", delivery))
                last, last_write = delivery, loop.time()
            elif loop.time() - last_write > PING_SECONDS:
                await response.write(b": ping\n\n")
                last_write = loop.time()
            if loop.time() - started > STREAM_SECONDS:
                break
            await asyncio.sleep(POLL_SECONDS)
            found = await repo.get_broadcast(found.id)
            if found is None:
                break
    except ConnectionResetError:  # the page was closed or navigated away
        pass
    return response


def register(app: web.Application) -> None:
    app.router.add_get("/admin/broadcasts", broadcasts)
    app.router.add_post("/admin/broadcasts/preview", preview)
    app.router.add_post("/admin/broadcasts/send", send)
    app.router.add_get(r"/admin/broadcasts/{broadcast_id:\d+}", progress)
    app.router.add_get(r"/admin/broadcasts/{broadcast_id:\d+}/events", events)
