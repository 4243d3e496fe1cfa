"""`/healthz` and `/readyz` for a load balancer or systemd watchdog, on every server a worker runs.

    GET /healthz   200 "ok" while the process serves requests (liveness: restart it when this fails)
    GET /readyz    200 "ready" when the database answers and its schema is current, and the worker is
                   not shutting down; 503 with the reason otherwise (take it out of rotation)

Shared by the channels (the web chat's server and the Telegram webhook's), so it is not a channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aiohttp import web

logger = logging.getLogger(__name__)


@runtime_checkable
class Ready(Protocol):
    async def readiness(self) -> str | None: ...


@dataclass
class Health:
    """What /readyz looks at. `draining` is set when a graceful shutdown begins."""

    repo: object
    draining: bool = False


HEALTH = web.AppKey("health", Health)


def add_health_routes(app: web.Application, health: Health) -> None:
    app[HEALTH] = health
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def readyz(request: web.Request) -> web.Response:
    health = request.app[HEALTH]
    if health.draining:
        return web.Response(status=503, text="shutting down")
    problem = await health.repo.readiness() if isinstance(health.repo, Ready) else None
    if problem is not None:
        logger.warning("Not ready: %s", problem)
        return web.Response(status=503, text=problem)
    return web.Response(text="ready")
