"""The Telegram webhook for N workers: each POSTed update is processed to the end, and its database
effects committed, before the answer; a redelivered update (Telegram, or the proxy, retrying after a
worker died) does nothing twice.

    POST /<WEBHOOK_PATH>   an Update; 200 once processed (or already processed before), 403 without the
                           secret token, 400 for a body that is no update, 500 when processing failed
                           (Telegram then retries the delivery)
    GET  /healthz, /readyz see `handlers.health`

What is exactly-once and what is not (PostgreSQL): the update's user is locked in the database
(`telegram_lock`, an advisory lock), the update id is checked against `telegram_updates`, and then
every write the update causes, with its id recorded, is one transaction, committed after the replies
were sent. A worker killed before that commit leaves nothing behind: the retried delivery redoes the
update from the start, so its replies may reach the user twice (at-least-once), but a draft step, an
entry, a subscription or a broadcast happens once. On SQLite (one process) the update's writes commit
one by one and its id is recorded last: a crash in between may redo part of it on redelivery.

PTB's own webhook server (tornado) answers before the update is processed, hence this one.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from typing import Any, Protocol, runtime_checkable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from handlers.health import Health, add_health_routes
from handlers.telegram.app import App, sender_key
from handlers.telegram.context import services_of

logger = logging.getLogger(__name__)

MAX_UPDATE_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_APP = web.AppKey("telegram_app", Application)
SECRET = web.AppKey("webhook_secret", str)


@runtime_checkable
class UpdateLog(Protocol):
    """What the webhook needs from storage beyond the Store (`storage.SqlRepository` has it)."""

    def telegram_lock(self, telegram_user_id: int) -> contextlib.AbstractAsyncContextManager[None]: ...
    async def update_processed(self, update_id: int) -> bool: ...
    async def record_update(self, update_id: int) -> None: ...


async def process_once(app: App, data: dict[str, Any]) -> None:
    """Process update `data` unless it was processed before; return once its effects are committed."""
    repo = services_of(app).repo
    if not isinstance(repo, UpdateLog):
        raise TypeError("webhook workers need storage.SqlRepository")
    update = Update.de_json(data, app.bot)
    key = sender_key(update)
    async with repo.telegram_lock(key if key is not None else 0):
        if await repo.update_processed(update.update_id):
            logger.info("Update %s was processed before; redelivery ignored", update.update_id)
            return
        await app.process_update(update)
        await repo.record_update(update.update_id)


def build_webhook_app(app: App, *, path: str, secret: str, health: Health) -> web.Application:
    server = web.Application(client_max_size=MAX_UPDATE_BYTES)
    server[TELEGRAM_APP] = app
    server[SECRET] = secret
    server.router.add_post("/" + path.strip("/"), receive)
    add_health_routes(server, health)
    return server


async def receive(request: web.Request) -> web.Response:
    secret = request.app[SECRET]
    given = request.headers.get(SECRET_HEADER, "")
    if secret and not hmac.compare_digest(given.encode(), secret.encode()):
        return web.Response(status=403)
    try:
        data = json.loads(await request.read())
    except ValueError:
        return web.Response(status=400)
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return web.Response(status=400)
    try:
        await process_once(request.app[TELEGRAM_APP], data)
    except Exception:
        logger.exception("Update %s failed; Telegram will deliver it again", data.get("update_id"))
        return web.Response(status=500)
    return web.Response(text="")


async def start_webhook(app: App, settings: Any, health: Health) -> web.AppRunner:
    """Serve the webhook on 0.0.0.0:WEBHOOK_PORT and tell Telegram its URL. OSError when the port is
    taken; Telegram's refusal of the URL raises its TelegramError. `runner.cleanup()` stops serving
    and waits for updates in flight (the proxy sends new ones to the other workers meanwhile)."""
    server = build_webhook_app(app, path=settings.webhook_path, secret=settings.webhook_secret, health=health)
    runner = web.AppRunner(server, access_log=None, shutdown_timeout=30.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, "0.0.0.0", settings.webhook_port).start()
        await app.bot.set_webhook(settings.webhook_url, secret_token=settings.webhook_secret or None)
    except BaseException:
        await runner.cleanup()
        raise
    logger.info("Webhook listening on port %d", settings.webhook_port)
    return runner
