"""Broadcast benchmark: N recipients through the real sender against the fake Bot API.

The fake server runs as a separate process and enforces Telegram's limits (30 msg/s in any
sliding second, 1 msg/s per chat with burst 3), answering 429 when they are exceeded. The bot
side is what production runs: OutboxSender + PacedRateLimiter over HTTP, outbox in SQLite.

    python bench/broadcast.py                    # 10,000 recipients, about 6 minutes
    python bench/broadcast.py --recipients 1000  # about 35 s
    python bench/broadcast.py --faults 0.02      # 2% random 500/502/dropped connections

Prints: sustained rate (goal >= 29 msg/s), duplicates (goal 0), lost (goal 0), 429s received.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.telegram.broadcast import OutboxSender, text_progress
from handlers.telegram.cli import cli_bot
from policies.settings import Settings
from storage import open_repository
from tests.fakeapi.server import ServerProcess

TOKEN = "424242:bench-token"
TEXT = "【结对共建助手】2026年第四季度《科创平台产学研结对共建项目清单》将于10月16日截止提交。"


def control(url: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{url}/_fake/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, object] = json.loads(response.read())
        return result


async def bench(recipients: int, faults: float, concurrency: int, server_url: str) -> dict[str, float | int]:
    if faults:
        control(server_url, "faults", {"random_rate": faults})
    with tempfile.TemporaryDirectory() as tmp:
        repo = await open_repository(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}")
        try:
            user_ids = range(100_001, 100_001 + recipients)
            created = await repo.create_broadcast(TEXT, 0, user_ids)
            assert created is not None
            settings = Settings(token=TOKEN, base_url=f"{server_url}/bot")
            async with cli_bot(settings, concurrency=concurrency) as bot:
                sender = OutboxSender(bot, repo, concurrency=concurrency, backoff_base=0.5)
                start = time.perf_counter()
                totals = await sender.run(created.id, text_progress())
                elapsed = time.perf_counter() - start
                limiter_429 = bot.rate_limiter.retry_after_hits  # type: ignore[union-attr]
        finally:
            await repo.close()
    stats = control(server_url, "stats")
    delivered = int(stats["deliveries"])  # type: ignore[call-overload]
    chats = int(stats["chats"])  # type: ignore[call-overload]
    responses: dict[str, int] = stats["responses"]  # type: ignore[assignment]
    return {
        "recipients": recipients,
        "seconds": round(elapsed, 1),
        "rate": round(delivered / elapsed, 2),
        "sent": totals.sent,
        "failed": totals.failed,
        "duplicates": delivered - chats,
        "lost": recipients - chats,
        "server_429": responses.get("sendMessage:429", 0),
        "client_retry_after": limiter_429,
        "faults_injected": sum(stats["faults_injected"].values()),  # type: ignore[attr-defined]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--faults", type=float, default=0.0, help="random 5xx/drop rate on sendMessage")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--server", help="URL of a running fake server (default: start one)")
    args = parser.parse_args(argv)
    if args.server:
        result = asyncio.run(bench(args.recipients, args.faults, args.concurrency, args.server.rstrip("/")))
    else:
        with ServerProcess() as server:
            result = asyncio.run(bench(args.recipients, args.faults, args.concurrency, server.url))
    print(
        f"recipients {result['recipients']}  time {result['seconds']} s  "
        f"sustained rate {result['rate']} msg/s (goal >= 29)"
    )
    print(f"duplicates {result['duplicates']}  lost {result['lost']}  failed {result['failed']}")
    print(
        f"429s received {result['server_429']} (retries after 429: {result['client_retry_after']})  "
        f"faults injected {result['faults_injected']}"
    )
    print(json.dumps(result))
    ok = result["duplicates"] == 0 and result["lost"] == 0 and result["rate"] >= 29
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
