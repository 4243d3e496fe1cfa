"""The web chat's defences: the cookie secret, CSRF tokens, per-session rate limits, security headers.

The cookie secret comes from WEB_SECRET_KEY when set, else one random secret generated on first start
and kept in the database, so restarts and several workers share it. It is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


async def cookie_key(repo: Any, configured: str = "") -> bytes:
    """The 32-byte key that encrypts session cookies: derived from WEB_SECRET_KEY (`configured`), else
    from a secret stored once in the database (`kv_setdefault` makes racing workers agree on one)."""
    if configured:
        return hashlib.sha256(configured.encode("utf-8")).digest()
    stored = await repo.kv_setdefault("web", "secret", secrets.token_urlsafe(32))
    return hashlib.sha256(str(stored).encode("utf-8")).digest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(expected: object, given: str | None) -> bool:
    """Constant-time comparison; a session without a token never passes."""
    if not isinstance(expected, str) or not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass
class RateLimiter:
    """A token bucket per session: `capacity` messages at once, refilled to `capacity` every `per`
    seconds. In-process: with several workers each enforces it for the requests it sees."""

    capacity: float = 20
    per: float = 10.0
    max_keys: int = 50_000
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def retry_after(self, key: str, now: float | None = None) -> float:
        """0 when one message is allowed now (and counted), else the seconds until one is."""
        now = time.monotonic() if now is None else now
        rate = self.capacity / self.per
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > self.max_keys:
                self._prune(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / rate

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled completely: they behave exactly like new ones."""
        full = [k for k, (tokens, last) in self._buckets.items() if now - last >= self.per]
        for key in full:
            del self._buckets[key]


async def add_security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, errors and static files included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def client_address(request: web.Request, trusted_proxies: tuple[str, ...]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted reverse proxy, the right-most
    X-Forwarded-For entry that is not itself a trusted proxy (the left-most entries are whatever the
    client chose to send, so they are never believed)."""
    address = request.remote or ""
    if address in trusted_proxies:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        for hop in reversed([part for part in forwarded if part]):
            if hop not in trusted_proxies:
                address = hop
                break
    return address[:64]
