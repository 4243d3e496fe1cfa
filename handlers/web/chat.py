"""One web user's turn: the event goes to the conversation core, the turn and the replies are stored in
order, and the stored messages come back for the page. No routing lives here.

Turns of one session run one after another, in every worker (`repo.user_lock`: on PostgreSQL the turn,
its replies and their history are one transaction), so the stored history is in the order the user
acted; different sessions never wait for each other.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from handlers.services import Services
from handlers.web import messages as m
from policies.conversation import Actor, Event
from policies.conversation import texts as t
from policies.conversation.core import TEXT_LIMIT
from policies.ports import Store
from policies.replies import Reply
from policies.validators import clean_input

logger = logging.getLogger(__name__)

CHANNEL = "web"
HISTORY_CAP = 2000  # messages read to render the page; the page shows the latest of them


@runtime_checkable
class WebStore(Store, Protocol):
    """The repository plus what only the web chat stores (`storage.webchat`)."""

    async def put_web_file(self, user_id: int, name: str, mime: str, data: bytes) -> str: ...
    async def get_web_file(self, user_id: int, file_id: str) -> tuple[str, str, bytes] | None: ...
    async def kv_setdefault(self, namespace: str, key: str, value: Any) -> Any: ...


class WebChat:
    """The web channel over `svc.conversation`."""

    def __init__(self, svc: Services) -> None:
        if not isinstance(svc.repo, WebStore):
            raise TypeError("the web chat needs a repository with web file storage (storage.SqlRepository)")
        self.svc = svc
        self.repo: WebStore = svc.repo

    async def actor(self, sid: str) -> Actor:
        """Web users are never admins (ADMIN_IDS are Telegram ids). Broadcasts and reminders reach them
        in their stored history, which the page polls."""
        user_id = await self.repo.resolve_user(CHANNEL, sid)
        return Actor(
            user_id=user_id, channel=CHANNEL, external_id=sid, is_admin=False, private=True, inbox=CHANNEL
        )

    async def greet(self, actor: Actor) -> None:
        """A session with no history starts with the greeting and the menu (as /start would show)."""
        async with self.repo.user_lock(actor.user_id):
            if await self.repo.last_message_id(actor.user_id):
                return
            replies = await self._handle(actor, Event.message("/start"))
            await self._store(actor, [m.bot_payload(r) for r in replies])

    async def history(self, actor: Actor, after: int = 0, limit: int = 200) -> list[m.Stored]:
        return await self.repo.messages_after(actor.user_id, after, limit)

    async def full_history(self, actor: Actor) -> list[m.Stored]:
        """Everything the page shows after a reload, oldest first (capped)."""
        out: list[m.Stored] = []
        while len(out) < HISTORY_CAP:
            page = await self.repo.messages_after(actor.user_id, out[-1][0] if out else 0, 500)
            out.extend(page)
            if len(page) < 500:
                break
        return out

    async def send_text(self, actor: Actor, text: str) -> list[dict[str, Any]]:
        """A typed message (or a menu button's label)."""
        async with self.repo.user_lock(actor.user_id):
            cleaned = clean_input(text[: TEXT_LIMIT + 1])  # stored text: no NUL, no lone surrogate
            shown = cleaned if len(text) <= TEXT_LIMIT else cleaned[:200] + "……"
            replies = await self._handle(actor, Event.message(text))
            return await self._store(actor, [m.user_payload(shown), *await self._payloads(actor, replies)])

    async def press(self, actor: Actor, data: str, message_id: int) -> list[dict[str, Any]]:
        """A button of message `message_id`. Only buttons that message offers count; an in-place edit
        (a multi-select toggle) replaces that message and adds no turn of its own."""
        async with self.repo.user_lock(actor.user_id):
            label = m.button_label(await self.history(actor, message_id - 1), message_id, data)
            if label is None:
                return await self._store(actor, [m.bot_payload(Reply(t.STALE_BUTTON))])
            replies = await self._handle(actor, Event.button(data))
            payloads = await self._payloads(actor, replies, pressed=message_id)
            if not (len(payloads) == 1 and payloads[0]["replaces"] is not None):
                payloads.insert(0, m.user_payload(label))
            return await self._store(actor, payloads)

    async def _handle(self, actor: Actor, event: Event) -> list[Reply]:
        try:
            return await self.svc.conversation.handle(actor, event)
        except Exception:  # the page stays usable; the log has the traceback
            logger.exception("web chat: handling an event of user %s failed", actor.user_id)
            return [Reply(t.INTERNAL_ERROR)]

    async def _payloads(
        self, actor: Actor, replies: Sequence[Reply], *, pressed: int | None = None
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for reply in replies:
            file = None
            if reply.file is not None:
                f = reply.file
                file_id = await self.repo.put_web_file(actor.user_id, f.name, f.mime, f.data)
                file = {"id": file_id, "name": f.name, "size": f.size, "mime": f.mime}
            replaces = pressed if reply.edit and pressed is not None and not out else None
            out.append(m.bot_payload(reply, replaces=replaces, file=file))
        return out

    async def _store(self, actor: Actor, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = await self.repo.append_messages(actor.user_id, payloads)
        now = dt.datetime.now(dt.UTC)
        return [m.view(mid, payload, now) for mid, payload in zip(ids, payloads, strict=True)]
