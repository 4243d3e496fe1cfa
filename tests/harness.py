"""Helpers for conversation tests: drive the real Application through the in-process fake Bot API.

    async def factory(request):
        return build_application(settings, services, request=request)

    async with offline_chat(factory) as chat:
        await chat.send("/start")
        assert "问政策" in buttons(chat)
        replies = await chat.press("问政策")
        assert "补贴" in last_text(replies)

`raise_errors=True` by default: an exception in a handler fails the test at the step that caused it
(pass False to test the bot's own error handler).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from telegram.request import BaseRequest

from handlers.services import Services
from handlers.telegram.app import App, build_application
from policies.ports import Store
from policies.settings import Settings
from policies.store import PolicyStore
from tests.fakeapi.core import FakeTelegram
from tests.offline import DEFAULT_NAME, DEFAULT_USER_ID, AppFactory, BotMessage, OfflineChat

Seen = OfflineChat | Sequence[BotMessage]


@asynccontextmanager
async def offline_chat(
    app_factory: AppFactory,
    *,
    fake: FakeTelegram | None = None,
    user_id: int = DEFAULT_USER_ID,
    name: str = DEFAULT_NAME,
    raise_errors: bool = True,
) -> AsyncIterator[OfflineChat]:
    """A started OfflineChat, stopped on exit."""
    chat = OfflineChat(fake, app_factory, user_id=user_id, name=name, raise_errors=raise_errors)
    await chat.start()
    try:
        yield chat
    finally:
        await chat.stop()


def _messages(seen: Seen) -> list[BotMessage]:
    return seen.history() if isinstance(seen, OfflineChat) else list(seen)


def texts(seen: Seen) -> list[str]:
    """Texts (captions for documents) of the replies, or of the whole chat history."""
    return [m.text for m in _messages(seen)]


def all_text(seen: Seen) -> str:
    return "\n".join(texts(seen))


def last_text(seen: Seen) -> str:
    """Text of the last message; AssertionError when there is none (a silent bot is a test failure)."""
    found = _messages(seen)
    assert found, "the bot sent nothing"
    return found[-1].text


def buttons(seen: Seen) -> list[str]:
    """Labels of the buttons the user can press now: for a chat, its current button message; for a list
    of replies, the last one that has buttons. [] when there are none."""
    if isinstance(seen, OfflineChat):
        message = seen.button_message()
        return message.labels if message else []
    for message in reversed(list(seen)):
        if message.buttons:
            return message.labels
    return []


def documents(seen: Seen) -> list[BotMessage]:
    return [m for m in _messages(seen) if m.document is not None]


_POLICIES: list[PolicyStore] = []


def policy_store() -> PolicyStore:
    """The packaged policy data, loaded once per test session."""
    if not _POLICIES:
        store = PolicyStore(Settings().policy_dir)
        store.load()
        _POLICIES.append(store)
    return _POLICIES[0]


def wired_app(repo: Store, settings: Settings, policies: PolicyStore | None = None) -> AppFactory:
    """A factory of the fully wired Telegram Application, exactly as bot.py builds it (every handler),
    minus the daily reminder job (tests drive reminders explicitly)."""
    svc = Services(settings=settings, repo=repo, policies=policies or policy_store())

    def build(request: BaseRequest) -> App:
        return build_application(svc, request=request, schedule_reminders=False)

    return build


async def internal_id(repo: Store, telegram_id: int) -> int:
    """The internal user id behind a Telegram user the test talked as."""
    found = await repo.find_user("telegram", str(telegram_id))
    assert found is not None, f"Telegram user {telegram_id} never reached the bot"
    return found
