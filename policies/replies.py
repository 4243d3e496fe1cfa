"""Platform-neutral bot output: what to say and which buttons to offer.

The Telegram handlers render these as messages with inline or reply keyboards; a web chat
can render the same objects as HTML. Nothing here knows about Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    """One button. `data` is the callback payload (<= 64 bytes); None makes it a reply-keyboard button
    whose press simply sends `label` as text."""

    label: str
    data: str | None = None


@dataclass(frozen=True)
class OutgoingFile:
    """A file to hand to the user (an export): its Chinese file name and its bytes."""

    name: str
    data: bytes
    mime: str = "application/octet-stream"

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Reply:
    """One bot message: text plus rows of buttons, optionally a file (the text is its caption)."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)
    # True: buttons form a persistent reply keyboard (the main menu); False: inline buttons.
    keyboard: bool = False
    # True: this replaces the message whose button was pressed (a multi-select toggle, a preview
    # turned into "sending"); channels that cannot edit simply show it as a new message.
    edit: bool = False
    file: OutgoingFile | None = None
    # True: a short refusal that channels with pop-ups (Telegram's callback alert) show as one.
    alert: bool = False


BUTTON_DATA_LIMIT = 64  # Telegram's limit for callback data, in bytes; ours is ASCII, so also characters


def is_button_data(data: str) -> bool:
    """Could one of our buttons carry `data`? ASCII (so no lone surrogate), printable, 1-64 characters.
    Anything else is a forged or broken press and is refused before anything reads it."""
    return 0 < len(data) <= BUTTON_DATA_LIMIT and data.isascii() and data.isprintable()


def rows(*buttons: Button, width: int = 2) -> tuple[tuple[Button, ...], ...]:
    """Lay buttons out `width` to a row."""
    return tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))
