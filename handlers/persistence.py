"""`SqlPersistence`: PTB's BasePersistence over `Repository.kv_*`, stored as JSON (not pickle).

Namespaces: 'user_data' and 'chat_data' keyed by the id as a string, 'bot_data' under one key,
'conversations' keyed by JSON `[handler name, [key parts]]`, 'callback_data' under one key.
JSON turns tuples into lists and dict keys into strings, so keep user_data/chat_data to
JSON-shaped values; anything that is not JSON-serialisable is logged (by key name, never value)
and skipped, never a crash.

The Application writes this persistence every `update_interval` seconds (default 5) and on stop.
That interval is not what protects what a user typed into the form: the form draft itself is
committed per answered field through `Repository.save_draft`, so a crash between two persistence
runs loses at most the conversation state, which the form rebuilds from the draft.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from policies.ports import Repository

log = logging.getLogger(__name__)

NS_USER = "user_data"
NS_CHAT = "chat_data"
NS_BOT = "bot_data"
NS_CONVERSATIONS = "conversations"
NS_CALLBACK = "callback_data"
SINGLE_KEY = "_"  # bot_data and callback_data are one value each
DEFAULT_UPDATE_INTERVAL = 5.0

Data = dict[Any, Any]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _encode(namespace: str, key: str, value: Any) -> str | None:
    """JSON text of `value`; for a dict, the items that do not serialise are dropped (and logged)."""
    try:
        return _dumps(value)
    except (TypeError, ValueError):
        pass
    if not isinstance(value, dict):
        log.warning(
            "persistence: %s[%s] is not JSON-serialisable (%s); not saved", namespace, key, type(value)
        )
        return None
    kept: dict[Any, Any] = {}
    skipped: list[str] = []
    for item_key, item in value.items():
        try:
            _dumps({item_key: item})
        except (TypeError, ValueError):
            skipped.append(str(item_key))
        else:
            kept[item_key] = item
    log.warning("persistence: %s[%s] keys %s are not JSON-serialisable; skipped", namespace, key, skipped)
    return _dumps(kept)


def conversation_key(name: str, key: ConversationKey) -> str:
    return json.dumps([name, list(key)], ensure_ascii=False)


class SqlPersistence(BasePersistence[Data, Data, Data]):
    """BasePersistence that keeps every kind of PTB data as JSON rows through the Repository."""

    def __init__(
        self,
        repo: Repository,
        *,
        store_data: PersistenceInput | None = None,
        update_interval: float = DEFAULT_UPDATE_INTERVAL,
    ) -> None:
        super().__init__(store_data=store_data, update_interval=update_interval)
        self._repo = repo
        self._written: dict[tuple[str, str], str] = {}  # last JSON stored per row: skip rewrites

    # writing --------------------------------------------------------------------------------------

    async def _put(self, namespace: str, key: str, value: Any) -> None:
        blob = _encode(namespace, key, value)
        if blob is None or self._written.get((namespace, key)) == blob:
            return
        await self._repo.kv_put(namespace, key, json.loads(blob))
        self._written[(namespace, key)] = blob

    async def _delete(self, namespace: str, key: str) -> None:
        await self._repo.kv_delete(namespace, key)
        self._written.pop((namespace, key), None)

    async def _load(self, namespace: str) -> dict[str, Any]:
        rows = await self._repo.kv_get_all(namespace)
        for key, value in rows.items():
            self._written[(namespace, key)] = _dumps(value)
        return rows

    async def _load_by_id(self, namespace: str) -> dict[int, Data]:
        result: dict[int, Data] = {}
        for key, value in (await self._load(namespace)).items():
            try:
                result[int(key)] = value if isinstance(value, dict) else {}
            except ValueError:
                log.warning("persistence: ignoring %s row with non-numeric key", namespace)
        return result

    # user / chat / bot data -------------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, Data]:
        return await self._load_by_id(NS_USER)

    async def get_chat_data(self) -> dict[int, Data]:
        return await self._load_by_id(NS_CHAT)

    async def get_bot_data(self) -> Data:
        value = (await self._load(NS_BOT)).get(SINGLE_KEY)
        return value if isinstance(value, dict) else {}

    async def update_user_data(self, user_id: int, data: Data) -> None:
        await self._put(NS_USER, str(user_id), data)

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        await self._put(NS_CHAT, str(chat_id), data)

    async def update_bot_data(self, data: Data) -> None:
        await self._put(NS_BOT, SINGLE_KEY, data)

    async def drop_user_data(self, user_id: int) -> None:
        await self._delete(NS_USER, str(user_id))

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._delete(NS_CHAT, str(chat_id))

    # One process owns the data in memory, so there is nothing newer in the database to pull in.
    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    # conversations ------------------------------------------------------------------------------------

    async def get_conversations(self, name: str) -> ConversationDict:
        result: ConversationDict = {}
        for raw_key, state in (await self._load(NS_CONVERSATIONS)).items():
            try:
                handler, parts = json.loads(raw_key)
            except (ValueError, TypeError):
                log.warning("persistence: ignoring malformed conversation key")
                continue
            if handler == name:
                result[tuple(parts)] = state
        return result

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        row = conversation_key(name, key)
        if new_state is None:
            await self._delete(NS_CONVERSATIONS, row)
            return
        await self._put(NS_CONVERSATIONS, row, new_state)

    # callback data (only with arbitrary_callback_data) ---------------------------------------------

    async def get_callback_data(self) -> CDCData | None:
        value = (await self._load(NS_CALLBACK)).get(SINGLE_KEY)
        if not value:
            return None
        buttons, mapping = value
        return [(str(uuid), float(at), dict(data)) for uuid, at, data in buttons], dict(mapping)

    async def update_callback_data(self, data: CDCData) -> None:
        buttons, mapping = data
        await self._put(NS_CALLBACK, SINGLE_KEY, [[list(b) for b in buttons], dict(mapping)])

    async def flush(self) -> None:
        """Every update is already committed when written; nothing is buffered."""
        return None
