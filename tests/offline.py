"""`OfflineChat` (test support): talk to the real PTB Application through the in-process fake Bot API.

Updates are fed with `Application.process_update`, not by polling, so each `send`/`press` returns only
after every handler (and every task they created with `block=False`) has finished: deterministic.
The Application comes from an injected factory that must route the bot through the request it is given:

    async def factory(request: BaseRequest) -> Application:
        return build_application(settings, services, request=request)
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest

from handlers.terminal.chat import resolve_label
from tests.fakeapi.core import JSON, FakeTelegram, SentMessage, UploadedFile
from tests.fakeapi.request import InProcessRequest

logger = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
AppFactory = Callable[[BaseRequest], Awaitable[AnyApplication] | AnyApplication]

DEFAULT_USER_ID = 10001
DEFAULT_NAME = "测试用户"
ECHO_LIMIT = 200  # piped input longer than this is summarised, not echoed
BACKGROUND_POLL = 0.5  # seconds between looks for messages the bot sent on its own (jobs)


@dataclass(frozen=True)
class BotMessage:
    """A bot message as the user sees it after a step (edits applied)."""

    chat_id: int
    message_id: int
    text: str  # the caption for documents
    buttons: list[list[str]] = field(default_factory=list)
    inline: bool = False
    data: list[list[str | None]] = field(default_factory=list)  # callback data, parallel to buttons
    document: UploadedFile | None = None
    edited: bool = False  # an earlier message changed by this step (editMessageText/ReplyMarkup)

    @classmethod
    def of(cls, sent: SentMessage, *, edited: bool = False) -> BotMessage:
        return cls(
            sent.chat_id,
            sent.message_id,
            sent.text,
            sent.buttons,
            sent.inline,
            sent.callback_data,
            sent.document,
            edited,
        )

    @property
    def labels(self) -> list[str]:
        """Button labels, row by row, flattened (the numbering the terminal shows)."""
        return [label for row in self.buttons for label in row]

    def data_for(self, label: str) -> str | None:
        for labels, datas in zip(self.buttons, self.data, strict=False):
            for lab, data in zip(labels, datas, strict=False):
                if lab == label:
                    return data
        return None


class OfflineChat:
    """Drives an Application through an in-process fake Bot API.

    `fake=None` makes a `FakeTelegram()` without rate limits (pass one with `Limits` to test pacing)."""

    def __init__(
        self,
        fake: FakeTelegram | None,
        app_factory: AppFactory,
        *,
        user_id: int = DEFAULT_USER_ID,
        name: str = DEFAULT_NAME,
        raise_errors: bool = False,
        settle_timeout: float = 30.0,
    ) -> None:
        """`raise_errors`: re-raise the first exception a handler raised during a step (tests)."""
        self.fake = fake if fake is not None else FakeTelegram()
        self.request = InProcessRequest(self.fake)
        self.user_id = user_id
        self.name = name
        self.raise_errors = raise_errors
        self.settle_timeout = settle_timeout
        self.errors: list[BaseException] = []
        self.toasts: list[str] = []  # answerCallbackQuery texts of the last step
        self._factory = app_factory
        self._app: AnyApplication | None = None

    @property
    def app(self) -> AnyApplication:
        if self._app is None:
            raise RuntimeError("OfflineChat is not started")
        return self._app

    @property
    def started(self) -> bool:
        return self._app is not None

    async def start(self) -> None:
        built = self._factory(self.request)
        app = await built if inspect.isawaitable(built) else built
        if app.bot.request is not self.request:
            raise RuntimeError(
                "the app factory must pass the given request to ApplicationBuilder().request()"
            )
        app.add_error_handler(self._record_error)
        await app.initialize()
        await app.start()
        self._app = app

    async def stop(self) -> None:
        app, self._app = self._app, None
        if app is None:
            return
        if app.running:
            await app.stop()
        await app.shutdown()

    async def __aenter__(self) -> OfflineChat:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _record_error(self, update: object, context: Any) -> None:
        if context.error is not None:
            self.errors.append(context.error)

    # -------------------------------------------------------------------------------- stepping
    async def process(self, update: JSON, chat_id: int) -> list[BotMessage]:
        """Run one raw update through the Application; return what changed in `chat_id`."""
        mark, answers, errors = self.fake.event_seq, len(self.fake.callback_answers), len(self.errors)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        await self._settle()
        self.toasts = [
            a.text for a in self.fake.callback_answers[answers:] if a.text and a.user_id == chat_id
        ]
        if self.raise_errors and len(self.errors) > errors:
            raise self.errors[errors]
        return self.changes_since(mark, chat_id)

    async def _settle(self) -> None:
        """Wait for tasks the handlers started with `block=False` / `Application.create_task`."""
        tasks: set[asyncio.Task[Any]] = getattr(self.app, "_Application__create_task_tasks", set())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle_timeout
        current = asyncio.current_task()
        while pending := {t for t in tasks if not t.done() and t is not current}:
            remaining = deadline - loop.time()
            if remaining <= 0:
                logger.warning("offline chat: %d handler tasks still running", len(pending))
                return
            await asyncio.wait(pending, timeout=remaining)

    def changes_since(self, mark: int, chat_id: int) -> list[BotMessage]:
        """Messages sent or edited in `chat_id` after `fake.event_seq` was `mark`, current state."""
        sent_now: set[int] = set()
        order: list[int] = []
        for event in self.fake.events_since(mark):
            if event.chat_id != chat_id:
                continue
            if event.kind == "send":
                sent_now.add(event.message_id)
            if event.message_id not in order:
                order.append(event.message_id)
        out = []
        for message_id in order:
            sent = self.fake.message(chat_id, message_id)
            if sent is not None and not sent.deleted:
                out.append(BotMessage.of(sent, edited=message_id not in sent_now))
        return out

    def _who(self, user_id: int | None, name: str | None) -> tuple[int, str]:
        return (self.user_id if user_id is None else user_id), (name or self.name)

    async def send(
        self, text: str, *, user_id: int | None = None, name: str | None = None
    ) -> list[BotMessage]:
        """The user writes `text`; returns the bot messages sent or edited in reply."""
        uid, first_name = self._who(user_id, name)
        return await self.process(self.fake.user_says(uid, text, first_name=first_name, enqueue=False), uid)

    async def send_photo(self, *, user_id: int | None = None, caption: str | None = None) -> list[BotMessage]:
        uid, first_name = self._who(user_id, None)
        update = self.fake.user_sends_photo(uid, caption=caption, first_name=first_name, enqueue=False)
        return await self.process(update, uid)

    async def send_sticker(self, *, user_id: int | None = None) -> list[BotMessage]:
        uid, first_name = self._who(user_id, None)
        return await self.process(
            self.fake.user_sends_sticker(uid, first_name=first_name, enqueue=False), uid
        )

    async def send_document(
        self, name: str = "文件.pdf", content: bytes = b"%PDF-1.4 fake", *, user_id: int | None = None
    ) -> list[BotMessage]:
        uid, first_name = self._who(user_id, None)
        update = self.fake.user_sends_document(uid, name, content, first_name=first_name, enqueue=False)
        return await self.process(update, uid)

    async def press(
        self, label_or_number: str | int, *, user_id: int | None = None, message_id: int | None = None
    ) -> list[BotMessage]:
        """Press a button of the last bot message with buttons (or of `message_id`): an inline button sends
        its callback query, a reply-keyboard button sends its label as text. LookupError if there is none."""
        uid, _ = self._who(user_id, None)
        target = self.button_message(uid) if message_id is None else self._message(uid, message_id)
        if target is None:
            raise LookupError("no bot message with buttons to press")
        label = resolve_button(target, label_or_number)
        if not target.inline:
            return await self.send(label, user_id=uid)
        data = target.data_for(label)
        if data is None:
            raise LookupError(f"button {label!r} has no callback data")
        return await self.process(self.fake.user_presses(uid, target.message_id, data, enqueue=False), uid)

    # ------------------------------------------------------------------------------- inspection
    def _message(self, chat_id: int, message_id: int) -> BotMessage | None:
        sent = self.fake.message(chat_id, message_id)
        return BotMessage.of(sent) if sent is not None and not sent.deleted else None

    def history(self, user_id: int | None = None) -> list[BotMessage]:
        """Every bot message in the chat as it currently stands."""
        uid, _ = self._who(user_id, None)
        return [BotMessage.of(m) for m in self.fake.messages(uid)]

    def last(self, user_id: int | None = None) -> BotMessage | None:
        found = self.history(user_id)
        return found[-1] if found else None

    def button_message(self, user_id: int | None = None) -> BotMessage | None:
        """The last bot message whose buttons the user can still press (a reply keyboard only while it
        is still the chat's current keyboard)."""
        uid, _ = self._who(user_id, None)
        current_keyboard = self.fake.reply_keyboard(uid)
        for sent in reversed(self.fake.messages(uid)):
            if not sent.buttons:
                continue
            if sent.inline or sent.reply_markup is current_keyboard:
                return BotMessage.of(sent)
        return None


def resolve_button(message: BotMessage, label_or_number: str | int) -> str:
    """The label of `message` meant by a 1-based number or a label, by the terminal chat's rules."""
    return resolve_label(message.labels, label_or_number)
