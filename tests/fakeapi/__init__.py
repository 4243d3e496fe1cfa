"""A stand-in for Telegram's Bot API: in-memory state (`core`), an in-process PTB request (`request`)
and an aiohttp server on 127.0.0.1 with limits and fault injection (`server`, imported on demand)."""

from __future__ import annotations

from tests.fakeapi.core import (
    ApiError,
    ApiResponse,
    BotEvent,
    CallbackAnswer,
    FakeTelegram,
    FaultKind,
    FaultPlan,
    Limits,
    SentMessage,
    UploadedFile,
)
from tests.fakeapi.request import DroppedConnection, InProcessRequest

__all__ = [
    "ApiError",
    "ApiResponse",
    "BotEvent",
    "CallbackAnswer",
    "DroppedConnection",
    "FakeTelegram",
    "FaultKind",
    "FaultPlan",
    "InProcessRequest",
    "Limits",
    "SentMessage",
    "UploadedFile",
]
