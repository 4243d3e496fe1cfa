"""`FakeTelegram`: an in-memory model of the Telegram Bot API for tests, the offline chat and benchmarks.

Every method answers exactly what the Bot API would put on the wire (`{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ...}`), so python-telegram-bot parses it with its own
code and raises its own exceptions (RetryAfter, Forbidden, BadRequest, NetworkError).

Order of checks for a request (first failing check answers):

1. fault plan: a scheduled or random 500/502 or dropped connection. These model a request that never
   reached Telegram, so nothing is delivered and no limit is consumed;
2. validation (400: chat not found, message is too long, ...);
3. blocked user (403 'Forbidden: bot was blocked by the user');
4. rate limits, only for sendMessage and sendDocument (429 with `retry_after`):
   - global: at most `Limits.global_per_second` (30) sends in any sliding 1 s window;
   - per chat: a token bucket holding `Limits.chat_burst` (3) tokens refilled at
     `Limits.chat_per_second` (1) token/s, i.e. a burst of 3 then 1 message/s sustained;
5. delivery: the message is recorded and `deliveries[chat_id]` is incremented exactly once.

The model is single-threaded: use it from one event loop (the HTTP server's `ServerThread` marshals
calls onto its own loop).
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import logging
import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
Clock = Callable[[], float]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
GET_UPDATES_LIMIT = 100

# Methods whose successful call delivers a message; the rate limits and delivery counts apply to them.
SEND_METHODS: frozenset[str] = frozenset({"sendMessage", "sendDocument"})

_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "cache_time",
        "reply_to_message_id",
        "message_thread_id",
        "max_connections",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "drop_pending_updates",
        "show_alert",
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "allow_sending_without_reply",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "commands",
        "scope",
        "allowed_updates",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
    }
)
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre"}
    | {"blockquote", "tg-emoji"}
)
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][\w-]*)(\s[^<>]*)?>")


class ApiError(Exception):
    """A Bot API error answer; `status` doubles as `error_code`."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class ApiResponse:
    """What goes on the wire. `drop=True` means: close the connection without answering."""

    status: int
    body: JSON | None = None
    text: str | None = None  # a non-JSON body (the HTML page of a 502 from a proxy)
    drop: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def payload(self) -> bytes:
        if self.text is not None:
            return self.text.encode()
        return json.dumps(self.body, ensure_ascii=False).encode()

    @classmethod
    def success(cls, result: Any) -> ApiResponse:
        return cls(200, {"ok": True, "result": result})

    @classmethod
    def error(cls, exc: ApiError) -> ApiResponse:
        body: JSON = {"ok": False, "error_code": exc.status, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        return cls(exc.status, body)


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (or a user sent), kept whole for assertions."""

    name: str
    content: bytes
    mime_type: str = "application/octet-stream"
    file_id: str = ""

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class SentMessage:
    """A bot message as it currently stands (edits update it in place)."""

    chat_id: int
    message_id: int
    date: int
    text: str
    reply_markup: JSON | None = None
    document: UploadedFile | None = None
    parse_mode: str | None = None
    edit_count: int = 0
    deleted: bool = False

    @property
    def inline(self) -> bool:
        return bool(self.reply_markup and "inline_keyboard" in self.reply_markup)

    @property
    def keyboard_rows(self) -> list[list[JSON]]:
        """Raw button dicts of the inline or reply keyboard; [] when there is none."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or self.reply_markup.get("keyboard") or []
        return [[b if isinstance(b, dict) else {"text": str(b)} for b in row] for row in rows]

    @property
    def buttons(self) -> list[list[str]]:
        return [[str(b.get("text", "")) for b in row] for row in self.keyboard_rows]

    @property
    def callback_data(self) -> list[list[str | None]]:
        return [[b.get("callback_data") for b in row] for row in self.keyboard_rows]


@dataclass(frozen=True)
class CallbackAnswer:
    query_id: str
    user_id: int
    text: str | None
    show_alert: bool


@dataclass(frozen=True)
class BotEvent:
    """One change the bot made: 'send', 'edit' or 'delete' of a message."""

    seq: int
    kind: str
    chat_id: int
    message_id: int
    at: float = 0.0  # the fake's clock when it happened (rate measurements)


@dataclass(frozen=True)
class Limits:
    """Telegram's documented flood limits (per-chat burst is our choice; Telegram does not publish it)."""

    global_per_second: int = 30
    chat_per_second: float = 1.0
    chat_burst: int = 3


class FaultKind(StrEnum):
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    DROP = "drop"


@dataclass
class ScheduledFault:
    kind: FaultKind
    remaining: int = 1
    method: str | None = None  # None: any method in FaultPlan.methods
    chat_id: int | None = None


@dataclass
class FaultPlan:
    """Failures to inject. Random faults hit `methods` only; scheduled ones may name any method."""

    random_rate: float = 0.0
    random_kinds: tuple[FaultKind, ...] = (FaultKind.SERVER_ERROR, FaultKind.BAD_GATEWAY, FaultKind.DROP)
    methods: frozenset[str] = SEND_METHODS
    seed: int | None = None
    blocked: set[int] = field(default_factory=set)
    scheduled: list[ScheduledFault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def fail_next(
        self, kind: FaultKind | str, count: int = 1, *, method: str | None = None, chat_id: int | None = None
    ) -> None:
        """Make the next `count` matching requests fail with `kind` ('500', '502' or 'drop')."""
        self.scheduled.append(ScheduledFault(FaultKind(kind), count, method, chat_id))

    def block(self, *user_ids: int) -> None:
        self.blocked.update(user_ids)

    def unblock(self, *user_ids: int) -> None:
        self.blocked.difference_update(user_ids)

    def pick(self, method: str, chat_id: int | None) -> FaultKind | None:
        """The fault this request suffers, if any (consumes a scheduled one)."""
        for fault in self.scheduled:
            if fault.method is None and method not in self.methods:
                continue
            if fault.method is not None and fault.method != method:
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.scheduled.remove(fault)
            return fault.kind
        if self.random_rate > 0 and method in self.methods and self._rng.random() < self.random_rate:
            return self._rng.choice(self.random_kinds)
        return None


class RateLimiter:
    """Global sliding window plus per-chat token buckets; see the module docstring."""

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        self._window: deque[float] = deque()
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)

    def acquire(self, chat_id: int) -> int | None:
        """Consume a send for `chat_id`; return None when allowed, else the seconds to wait."""
        now = self._clock()
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= self.limits.global_per_second:
            return max(1, math.ceil(self._window[0] + 1.0 - now))
        tokens, at = self._buckets.get(chat_id, (float(self.limits.chat_burst), now))
        tokens = min(float(self.limits.chat_burst), tokens + (now - at) * self.limits.chat_per_second)
        if tokens < 1.0:
            self._buckets[chat_id] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.limits.chat_per_second))
        self._buckets[chat_id] = (tokens - 1.0, now)
        self._window.append(now)
        return None


@dataclass
class _Chat:
    id: int
    user: JSON
    next_message_id: int = 1
    messages: dict[int, SentMessage] = field(default_factory=dict)
    reply_keyboard: JSON | None = None
    last_action: str | None = None


def coerce_params(params: Mapping[str, Any]) -> JSON:
    """Turn form-encoded strings (PTB sends every value as str or JSON text) into typed values."""
    out: JSON = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in _INT_FIELDS:
                try:
                    value = int(value)
                except ValueError:
                    pass
            elif key in _BOOL_FIELDS:
                value = value.strip().lower() in ("true", "1")
            elif key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    raise bad_request(f"can't parse {key} JSON object") from None
        out[key] = value
    return out


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """Plain text of an HTML-formatted message; 400 like Telegram for unknown or unbalanced tags."""
    stack: list[str] = []
    pos = 0
    plain: list[str] = []
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            plain.append(text[pos:])
            break
        plain.append(text[pos:lt])
        m = _TAG_RE.match(text, lt)
        if m is None:
            raise bad_request(
                f"can't parse entities: Unexpected '<' at byte offset {len(text[:lt].encode())}"
            )
        closing, tag = m.group(1) == "/", m.group(2).lower()
        if tag not in _HTML_TAGS:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')
        if closing:
            if not stack or stack[-1] != tag:
                raise bad_request(f'can\'t parse entities: Unmatched end tag "{tag}"')
            stack.pop()
        else:
            stack.append(tag)
        pos = m.end()
    if stack:
        raise bad_request(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return html.unescape("".join(plain))


class FakeTelegram:
    """State and methods of a fake Bot API server for one bot."""

    def __init__(
        self,
        *,
        token: str | None = None,
        username: str = "pairing_test_bot",
        first_name: str = "结对共建助手",
        limits: Limits | None = None,
        faults: FaultPlan | None = None,
        clock: Clock = time.monotonic,
        wallclock: Clock = time.time,
        auto_create_chats: bool = True,
    ) -> None:
        """`token=None` accepts any token. `limits=None` disables rate limiting (the offline chat).
        With `auto_create_chats`, any positive chat id is a private chat with that user (as if they had
        pressed Start); otherwise only users who wrote to the bot exist."""
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token and token.split(":", 1)[0].isdigit() else 7000000001
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.limits = limits
        self.faults = faults or FaultPlan()
        self.auto_create_chats = auto_create_chats
        self._clock = clock
        self._wallclock = wallclock
        self._limiter = RateLimiter(limits, clock) if limits else None
        self._chats: dict[int, _Chat] = {}
        self._updates: deque[JSON] = deque()
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._event_seq = itertools.count(1)
        self._open_queries: dict[str, int] = {}
        self._update_event: asyncio.Event | None = None
        self._poll_generation = 0
        self._closing = False
        self.webhook_url = ""
        self.commands: dict[str, list[JSON]] = {}
        # Observations for assertions and benchmarks.
        self.deliveries: Counter[int] = Counter()
        self.responses: Counter[tuple[str, int]] = Counter()  # (method, status) -> count
        self.faults_injected: Counter[str] = Counter()
        self.events: list[BotEvent] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.files: dict[str, UploadedFile] = {}

    def set_limits(self, limits: Limits | None) -> None:
        """Turn rate limiting on (fresh counters) or off (`None`)."""
        self.limits = limits
        self._limiter = RateLimiter(limits, self._clock) if limits else None

    # ---------------------------------------------------------------------------------- dispatch
    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> ApiResponse:
        """Answer one Bot API call. `params` may hold typed values or the strings PTB form-encodes."""
        response = await self._call(method, params or {}, files or {})
        self.responses[(method, response.status)] += 1
        return response

    async def _call(
        self, method: str, raw: Mapping[str, Any], files: Mapping[str, UploadedFile]
    ) -> ApiResponse:
        handler = _METHODS.get(method.lower())
        if handler is None:
            return ApiResponse(
                404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            )
        try:
            params = coerce_params(raw)
            chat_id = params.get("chat_id")
            fault = self.faults.pick(method, chat_id if isinstance(chat_id, int) else None)
            if fault is not None:
                self.faults_injected[fault.value] += 1
                logger.debug("fake api: injected %s on %s", fault.value, method)
                return _fault_response(fault)
            result = await handler(self, params, files)
        except ApiError as exc:
            return ApiResponse.error(exc)
        return ApiResponse.success(result)

    # ------------------------------------------------------------------------------------ helpers
    def _now(self) -> int:
        return int(self._wallclock())

    def _user_json(self, user_id: int, first_name: str | None = None, username: str | None = None) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name or f"用户{user_id}"}
        if username:
            user["username"] = username
        user["language_code"] = "zh-hans"
        return user

    def _ensure_chat(self, user_id: int, first_name: str | None = None, username: str | None = None) -> _Chat:
        chat = self._chats.get(user_id)
        if chat is None:
            chat = _Chat(user_id, self._user_json(user_id, first_name, username))
            self._chats[user_id] = chat
        elif first_name and chat.user.get("first_name") != first_name:
            chat.user = self._user_json(user_id, first_name, username or chat.user.get("username"))
        return chat

    def _chat_json(self, chat: _Chat) -> JSON:
        out: JSON = {"id": chat.id, "type": "private", "first_name": chat.user["first_name"]}
        if "username" in chat.user:
            out["username"] = chat.user["username"]
        return out

    def _target_chat(self, params: JSON) -> _Chat:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            if chat_id is None or chat_id == "":
                raise bad_request("chat_id is empty")
            raise bad_request("chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            if not (self.auto_create_chats and chat_id > 0):
                raise bad_request("chat not found")
            chat = self._ensure_chat(chat_id)
        return chat

    def _check_blocked(self, chat: _Chat) -> None:
        if chat.id in self.faults.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _take_send_slot(self, chat: _Chat) -> None:
        if self._limiter is None:
            return
        wait = self._limiter.acquire(chat.id)
        if wait is not None:
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})

    def _record(self, kind: str, chat_id: int, message_id: int) -> None:
        self.events.append(BotEvent(next(self._event_seq), kind, chat_id, message_id, self._clock()))

    @property
    def event_seq(self) -> int:
        """Sequence number of the latest bot event (0 when none); use as a mark with `events_since`."""
        return self.events[-1].seq if self.events else 0

    def events_since(self, mark: int) -> list[BotEvent]:
        return self.events[mark:]  # seq n sits at index n - 1

    def _message_json(self, chat: _Chat, msg: SentMessage) -> JSON:
        out: JSON = {
            "message_id": msg.message_id,
            "from": self.bot_user,
            "chat": self._chat_json(chat),
            "date": msg.date,
        }
        if msg.edit_count:
            out["edit_date"] = self._now()
        if msg.document is not None:
            out["document"] = _document_json(msg.document)
            if msg.text:
                out["caption"] = msg.text
        else:
            out["text"] = msg.text
        if msg.inline and msg.reply_markup is not None:
            out["reply_markup"] = msg.reply_markup
        return out

    def _parse_text(self, text: Any, parse_mode: Any, limit: int, what: str) -> str:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
            text = parse_html(text)
        if len(text) > limit:
            raise bad_request(f"{what} is too long")
        return text

    @staticmethod
    def _check_markup(markup: Any) -> JSON | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and len(str(data).encode()) > CALLBACK_DATA_LIMIT:
                        raise bad_request("BUTTON_DATA_INVALID")
                    if not str(button.get("text", "")):
                        raise bad_request("text buttons are unallowed in the inline keyboard")
        elif not ({"keyboard", "remove_keyboard", "force_reply"} & markup.keys()):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup

    def _deliver(self, chat: _Chat, text: str, markup: JSON | None, **extra: Any) -> JSON:
        if markup and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        msg = SentMessage(chat.id, chat.next_message_id, self._now(), text, markup, **extra)
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        self.deliveries[chat.id] += 1
        self._record("send", chat.id, msg.message_id)
        return self._message_json(chat, msg)

    def _bot_message(self, params: JSON) -> tuple[_Chat, SentMessage]:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by the fake API")
        chat = self._target_chat(params)
        msg = chat.messages.get(params.get("message_id", -1))
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        return chat, msg

    # ---------------------------------------------------------------------------------- methods
    async def get_me(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        return self.bot_user

    async def get_updates(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        if self.webhook_url:
            raise ApiError(
                409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook"
            )
        offset = params.get("offset") or 0
        limit = max(1, min(GET_UPDATES_LIMIT, params.get("limit") or GET_UPDATES_LIMIT))
        timeout = max(0, params.get("timeout") or 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()
        deadline = self._clock() + timeout
        while True:
            batch = self._pending_updates(offset, limit)
            if batch or self._closing:
                return batch
            remaining = deadline - self._clock()
            if remaining <= 0:
                return []
            event = self._update_event = self._update_event or asyncio.Event()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return []
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request")

    def _pending_updates(self, offset: int, limit: int) -> list[JSON]:
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
            return list(itertools.islice(self._updates, limit))
        if offset < 0:
            return list(self._updates)[offset:][:limit]
        return list(itertools.islice(self._updates, limit))

    def _wake_pollers(self) -> None:
        event, self._update_event = self._update_event, None
        if event is not None:
            event.set()

    def close_pollers(self) -> None:
        """Let every waiting getUpdates return now and answer at once until `open_pollers` (shutdown)."""
        self._closing = True
        self._wake_pollers()

    def open_pollers(self) -> None:
        self._closing = False

    async def delete_webhook(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def set_webhook(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        url = str(params.get("url", ""))
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def get_webhook_info(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def accept(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        return True

    @staticmethod
    def _commands_key(params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code", "")], sort_keys=True)

    async def set_my_commands(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("commands must be a list")
        for cmd in commands:
            name = str(cmd.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = commands
        return True

    async def get_my_commands(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        return self.commands.get(self._commands_key(params), [])

    async def delete_my_commands(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def get_chat(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        return {**self._chat_json(chat), "accent_color_id": 0, "max_reaction_count": 11}

    async def send_message(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        if not str(params.get("text") or "").strip():
            raise bad_request("message text is empty")
        text = self._parse_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT, "message")
        markup = self._check_markup(params.get("reply_markup"))
        self._check_blocked(chat)
        self._take_send_slot(chat)
        return self._deliver(chat, text, markup, parse_mode=params.get("parse_mode"))

    async def send_document(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        document = files.get("document")
        if document is None:
            ref = params.get("document")
            if isinstance(ref, str) and ref.startswith("attach://"):
                document = files.get(ref.removeprefix("attach://"))
            elif isinstance(ref, str) and ref in self.files:
                document = self.files[ref]
        if document is None:
            raise bad_request("there is no document in the request")
        caption = self._parse_text(
            params.get("caption"), params.get("parse_mode"), CAPTION_LIMIT, "message caption"
        )
        markup = self._check_markup(params.get("reply_markup"))
        self._check_blocked(chat)
        self._take_send_slot(chat)
        if not document.file_id:
            document = self._store_file(document.name, document.content, document.mime_type)
        return self._deliver(chat, caption, markup, document=document)

    def _store_file(self, name: str, content: bytes, mime_type: str) -> UploadedFile:
        stored = UploadedFile(name, content, mime_type, f"FAKEDOC{next(self._file_ids):08d}")
        self.files[stored.file_id] = stored
        return stored

    async def edit_message_text(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        chat, msg = self._bot_message(params)
        if msg.document is not None:
            raise bad_request("there is no text in the message to edit")
        if not str(params.get("text") or "").strip():
            raise bad_request("message text is empty")
        text = self._parse_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT, "message")
        markup = self._check_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        new_markup = markup
        if text == msg.text and new_markup == (msg.reply_markup if msg.inline else None):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly the "
                "same as a current content and reply markup of the message"
            )
        self._check_blocked(chat)
        msg.text, msg.reply_markup = text, new_markup
        msg.edit_count += 1
        self._record("edit", chat.id, msg.message_id)
        return self._message_json(chat, msg)

    async def edit_message_reply_markup(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        chat, msg = self._bot_message(params)
        markup = self._check_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        if markup == (msg.reply_markup if msg.inline else None):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly the "
                "same as a current content and reply markup of the message"
            )
        self._check_blocked(chat)
        msg.reply_markup = markup
        msg.edit_count += 1
        self._record("edit", chat.id, msg.message_id)
        return self._message_json(chat, msg)

    async def delete_message(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        msg = chat.messages.get(params.get("message_id", -1))
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        msg.deleted = True
        self._record("delete", chat.id, msg.message_id)
        return True

    async def answer_callback_query(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        user_id = self._open_queries.pop(query_id, None)
        if user_id is None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers.append(
            CallbackAnswer(query_id, user_id, str(text) if text else None, bool(params.get("show_alert")))
        )
        return True

    async def send_chat_action(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        self._check_blocked(chat)
        chat.last_action = str(params.get("action", ""))
        return True

    async def get_file(self, params: JSON, files: Mapping[str, UploadedFile]) -> Any:
        stored = self.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_id.lower(),
            "file_size": stored.size,
            "file_path": f"documents/{stored.file_id}",
        }

    # ------------------------------------------------------------------------- user-side input
    def _enqueue(self, update: JSON, enqueue: bool) -> JSON:
        if enqueue:
            self._updates.append(update)
            self._wake_pollers()
        return update

    def _user_message(
        self, user_id: int, first_name: str | None, username: str | None, content: JSON
    ) -> tuple[_Chat, JSON]:
        chat = self._ensure_chat(user_id, first_name, username)
        message: JSON = {
            "message_id": chat.next_message_id,
            "from": chat.user,
            "chat": self._chat_json(chat),
            "date": self._now(),
            **content,
        }
        chat.next_message_id += 1
        return chat, message

    def user_says(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        username: str | None = None,
        enqueue: bool = True,
    ) -> JSON:
        """A user writes `text` to the bot; returns the Update dict (queued for getUpdates unless
        `enqueue=False`). No length check: Telegram clients enforce that, the bot must cope anyway."""
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        _, message = self._user_message(user_id, first_name, username, content)
        return self._enqueue({"update_id": next(self._update_ids), "message": message}, enqueue)

    def user_presses(
        self, user_id: int, message_id: int, callback_data: str, *, enqueue: bool = True, strict: bool = True
    ) -> JSON:
        """A user presses the inline button carrying `callback_data` on bot message `message_id`.
        With `strict`, the message must exist in the user's chat and carry such a button (ValueError)."""
        chat = self._ensure_chat(user_id)
        msg = chat.messages.get(message_id)
        if strict:
            if msg is None or msg.deleted:
                raise ValueError(f"no bot message {message_id} in chat {user_id}")
            if not any(callback_data in row for row in msg.callback_data):
                raise ValueError(f"message {message_id} has no button with callback_data {callback_data!r}")
        query_id = f"{next(self._query_ids)}{user_id}"
        self._open_queries[query_id] = user_id
        query: JSON = {
            "id": query_id,
            "from": chat.user,
            "chat_instance": str(-abs(user_id) - 1),
            "data": callback_data,
        }
        if msg is not None:
            query["message"] = self._message_json(chat, msg)
        return self._enqueue({"update_id": next(self._update_ids), "callback_query": query}, enqueue)

    def _file_json(self, name: str | None, content: bytes, mime_type: str) -> JSON:
        stored = self._store_file(name or "file", content, mime_type)
        return (
            _document_json(stored)
            if name
            else {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_id.lower(),
                "file_size": stored.size,
            }
        )

    def user_sends_photo(
        self, user_id: int, *, caption: str | None = None, first_name: str | None = None, enqueue: bool = True
    ) -> JSON:
        photo = {**self._file_json(None, b"\xff\xd8fakejpeg", "image/jpeg"), "width": 90, "height": 90}
        content: JSON = {"photo": [photo]}
        if caption:
            content["caption"] = caption
        _, message = self._user_message(user_id, first_name, None, content)
        return self._enqueue({"update_id": next(self._update_ids), "message": message}, enqueue)

    def user_sends_sticker(
        self, user_id: int, *, emoji: str = "👍", first_name: str | None = None, enqueue: bool = True
    ) -> JSON:
        sticker = {
            **self._file_json(None, b"RIFFfakewebp", "image/webp"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        _, message = self._user_message(user_id, first_name, None, {"sticker": sticker})
        return self._enqueue({"update_id": next(self._update_ids), "message": message}, enqueue)

    def user_sends_document(
        self,
        user_id: int,
        name: str = "文件.pdf",
        content: bytes = b"%PDF-1.4 fake",
        *,
        mime_type: str = "application/pdf",
        caption: str | None = None,
        first_name: str | None = None,
        enqueue: bool = True,
    ) -> JSON:
        body: JSON = {"document": self._file_json(name, content, mime_type)}
        if caption:
            body["caption"] = caption
        _, message = self._user_message(user_id, first_name, None, body)
        return self._enqueue({"update_id": next(self._update_ids), "message": message}, enqueue)

    # ----------------------------------------------------------------------------- assertions
    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """Bot messages in a chat, oldest first, as they currently stand."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if include_deleted or not m.deleted]

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        chat = self._chats.get(chat_id)
        return chat.messages.get(message_id) if chat else None

    def last_message(self, chat_id: int) -> SentMessage | None:
        found = self.messages(chat_id)
        return found[-1] if found else None

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The reply keyboard the user currently sees in `chat_id` (persists until removed)."""
        chat = self._chats.get(chat_id)
        return chat.reply_keyboard if chat else None

    def chat_ids(self) -> list[int]:
        return list(self._chats)

    def add_users(self, user_ids: Iterable[int]) -> None:
        """Users who pressed Start long ago (for broadcasts with `auto_create_chats=False`)."""
        for user_id in user_ids:
            self._ensure_chat(user_id)

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    def stats(self) -> JSON:
        """Counters as plain JSON (the server's control endpoint returns this)."""
        return {
            "deliveries": sum(self.deliveries.values()),
            "chats": len(self.deliveries),
            "responses": {f"{m}:{s}": n for (m, s), n in sorted(self.responses.items())},
            "faults_injected": dict(self.faults_injected),
            "pending_updates": len(self._updates),
        }


def _document_json(doc: UploadedFile) -> JSON:
    return {
        "file_id": doc.file_id,
        "file_unique_id": doc.file_id.lower(),
        "file_name": doc.name,
        "mime_type": doc.mime_type,
        "file_size": doc.size,
    }


def _fault_response(fault: FaultKind) -> ApiResponse:
    if fault is FaultKind.DROP:
        return ApiResponse(0, drop=True)
    if fault is FaultKind.BAD_GATEWAY:
        page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
        return ApiResponse(502, text=page)
    return ApiResponse(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})


_Handler = Callable[[FakeTelegram, JSON, Mapping[str, UploadedFile]], Any]
_METHODS: dict[str, _Handler] = {
    name.lower(): handler
    for name, handler in {
        "getMe": FakeTelegram.get_me,
        "getUpdates": FakeTelegram.get_updates,
        "deleteWebhook": FakeTelegram.delete_webhook,
        "setWebhook": FakeTelegram.set_webhook,
        "getWebhookInfo": FakeTelegram.get_webhook_info,
        "close": FakeTelegram.accept,
        "logOut": FakeTelegram.accept,
        "setMyCommands": FakeTelegram.set_my_commands,
        "getMyCommands": FakeTelegram.get_my_commands,
        "deleteMyCommands": FakeTelegram.delete_my_commands,
        "setMyDescription": FakeTelegram.accept,
        "setMyShortDescription": FakeTelegram.accept,
        "setChatMenuButton": FakeTelegram.accept,
        "getChat": FakeTelegram.get_chat,
        "sendMessage": FakeTelegram.send_message,
        "editMessageText": FakeTelegram.edit_message_text,
        "editMessageReplyMarkup": FakeTelegram.edit_message_reply_markup,
        "deleteMessage": FakeTelegram.delete_message,
        "answerCallbackQuery": FakeTelegram.answer_callback_query,
        "sendDocument": FakeTelegram.send_document,
        "sendChatAction": FakeTelegram.send_chat_action,
        "getFile": FakeTelegram.get_file,
    }.items()
}
