"""The channel-neutral conversation: `Conversation.handle(actor, event) -> list[Reply]`.

Telegram, the web chat and the terminal are thin adapters over it (see `handlers/`).
"""

from __future__ import annotations

from policies.conversation.core import Conversation, answer_reply, split_command
from policies.conversation.events import Actor, Event
from policies.conversation.ports import BroadcastLauncher, ExportOutcome, Reports

__all__ = [
    "Actor",
    "BroadcastLauncher",
    "Conversation",
    "Event",
    "ExportOutcome",
    "Reports",
    "answer_reply",
    "split_command",
]
