"""The web chat's stored messages: the JSON payload kept per message in `chat_messages`, the view the
API returns, and the history folded for the server-rendered page.

Payload (version 1), user turn: `{"v": 1, "from": "user", "text": ...}`; bot message:
`{"v": 1, "from": "bot", "text", "buttons": [[{"label", "data"}]], "keyboard", "replaces", "file",
"alert"}`. `data` null is a menu button: pressing it sends its label as text. `keyboard` true makes the
buttons the persistent menu. `replaces` is the id of the message this one replaces in place (a
multi-select toggle). `file` is `{"id", "name", "size", "mime"}` of a download kept in `web_files`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from policies.replies import Reply

VERSION = 1
Stored = tuple[int, dict[str, Any], dt.datetime]


def user_payload(text: str) -> dict[str, Any]:
    return {"v": VERSION, "from": "user", "text": text}


def bot_payload(
    reply: Reply, *, replaces: int | None = None, file: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "v": VERSION,
        "from": "bot",
        "text": reply.text,
        "buttons": [[{"label": b.label, "data": b.data} for b in row] for row in reply.buttons],
        "keyboard": reply.keyboard,
        "replaces": replaces,
        "file": file,
        "alert": reply.alert,
    }


def file_url(file_id: str) -> str:
    return f"/files/{file_id}"


def view(message_id: int, payload: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    """One message as the API returns it (and the page script renders it)."""
    file = payload.get("file")
    return {
        "id": message_id,
        "from": payload.get("from", "bot"),
        "text": payload.get("text", ""),
        "buttons": payload.get("buttons") or [],
        "keyboard": bool(payload.get("keyboard")),
        "replaces": payload.get("replaces"),
        "alert": bool(payload.get("alert")),
        "file": None
        if not file
        else {"name": file["name"], "size": file["size"], "url": file_url(file["id"])},
        "at": at.isoformat(),
    }


def button_label(history: Iterable[Stored], message_id: int, data: str) -> str | None:
    """The label of the button with `data` on message `message_id` as it reads now (after any in-place
    edits); None when that message does not offer it. `history` starts at `message_id`."""
    buttons: list[list[dict[str, Any]]] | None = None
    for mid, payload, _at in history:
        if payload.get("from") == "bot" and (mid == message_id or payload.get("replaces") == message_id):
            buttons = payload.get("buttons") or []
    for row in buttons or []:
        for button in row:
            if button.get("data") == data:
                return str(button.get("label", ""))
    return None


@dataclass
class Folded:
    """The history as the page shows it: edits applied in place, and the menu that is current."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    menu: list[list[dict[str, Any]]] = field(default_factory=list)
    last_id: int = 0


def fold(history: Sequence[Stored], keep: int = 300) -> Folded:
    """Apply `replaces` edits to the messages they replace; the latest keyboard becomes the menu."""
    out = Folded()
    by_id: dict[int, dict[str, Any]] = {}
    for mid, payload, at in history:
        out.last_id = max(out.last_id, mid)
        shown = view(mid, payload, at)
        if shown["keyboard"]:
            out.menu = shown["buttons"]
        target = by_id.get(shown["replaces"]) if shown["replaces"] is not None else None
        if target is not None:
            target.update({k: shown[k] for k in ("text", "buttons", "file", "alert")})
            continue
        by_id[mid] = shown
        out.messages.append(shown)
    out.messages = out.messages[-keep:]
    return out
