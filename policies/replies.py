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
class Reply:
    """One bot message: text plus rows of buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)
    # True: buttons form a persistent reply keyboard (the main menu); False: inline buttons.
    keyboard: bool = False


def rows(*buttons: Button, width: int = 2) -> tuple[tuple[Button, ...], ...]:
    """Lay buttons out `width` to a row."""
    return tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))
