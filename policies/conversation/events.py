"""What a channel hands the conversation core: who is speaking (`Actor`) and what they did (`Event`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EventKind = Literal["text", "button", "file"]


@dataclass(frozen=True)
class Actor:
    """The internal user behind a message, as the channel identified them.

    `user_id` is the internal id (`storage` maps (channel, external id) to it), so drafts, profiles and
    entries are the same whichever channel the user writes from. `chat_id` is where the channel can
    deliver broadcasts (a Telegram chat), None where it cannot push. `is_admin` is decided by the
    channel (Telegram: ADMIN_IDS). `private` is False in group chats, where exports and broadcasts
    are refused. `inbox` names how broadcasts and reminders reach this user after /start: "telegram"
    (sent to `chat_id`), "web" (written into the stored chat history), None (the terminal: never).
    """

    user_id: int
    channel: str
    external_id: str
    name: str = ""
    is_admin: bool = False
    private: bool = True
    chat_id: int | None = None
    inbox: str | None = None


@dataclass(frozen=True)
class Event:
    """One thing the user did: typed `text` (commands included), pressed a button with `data`, or sent
    a file/photo/sticker (`kind="file"`)."""

    kind: EventKind
    text: str = ""
    data: str = ""

    @classmethod
    def message(cls, text: str) -> Event:
        return cls("text", text=text)

    @classmethod
    def button(cls, data: str) -> Event:
        return cls("button", data=data)

    @classmethod
    def attachment(cls) -> Event:
        return cls("file")
