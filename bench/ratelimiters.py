"""Why the bot uses its own rate limiter: PTB's AIORateLimiter vs PacedRateLimiter against a server
that answers 429 to the 31st message in any sliding second (the fake Bot API over real HTTP).

    python bench/ratelimiters.py [--messages 150]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, BaseRateLimiter, ExtBot

from handlers.telegram.ratelimit import PacedRateLimiter
from tests.fakeapi.server import FakeBotApiServer


async def measure(name: str, limiter: BaseRateLimiter[int], messages: int) -> None:
    async with FakeBotApiServer() as server:
        bot = ExtBot("123:ABC", base_url=server.base_url, rate_limiter=limiter)
        lost = 0

        async def send(chat_id: int) -> None:
            nonlocal lost
            try:
                await bot.send_message(chat_id, "季度清单提交提醒")
            except RetryAfter:
                lost += 1

        async with bot:
            start = time.monotonic()
            await asyncio.gather(*(send(10_000 + i) for i in range(messages)))
            elapsed = time.monotonic() - start
        answered_429 = sum(n for (_, status), n in server.fake.responses.items() if status == 429)
    delivered = sum(server.fake.deliveries.values())
    print(
        f"{name:<34} {messages} messages in {elapsed:4.1f} s: delivered {delivered}, "
        f"429 answers {answered_429}, lost to 429 {lost}"
    )


async def main(messages: int) -> None:
    logging.getLogger("telegram").setLevel(logging.CRITICAL)  # AIORateLimiter logs every lost message
    await measure("AIORateLimiter() (PTB default)", AIORateLimiter(), messages)
    await measure("AIORateLimiter(max_retries=3)", AIORateLimiter(max_retries=3), messages)
    await measure("PacedRateLimiter() (ours)", PacedRateLimiter(), messages)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=150)
    asyncio.run(main(parser.parse_args().messages))
