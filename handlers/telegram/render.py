"""Render platform-neutral `Reply` objects as Telegram messages."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)

from policies.replies import Reply

TELEGRAM_TEXT_LIMIT = 4096

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | None


def to_markup(reply: Reply) -> Markup:
    """Inline keyboard for buttons with data, reply keyboard for the menu."""
    if not reply.buttons:
        return None
    if reply.keyboard:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(b.label) for b in row] for row in reply.buttons], resize_keyboard=True
        )
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.data or b.label) for b in row]
            for row in reply.buttons
        ]
    )


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split at line breaks so no part exceeds Telegram's limit."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return parts


async def send_replies(bot: Bot, chat_id: int, replies: Sequence[Reply]) -> list[Message]:
    """Send each reply; a long text goes in several messages with the keyboard on the last."""
    sent: list[Message] = []
    for reply in replies:
        chunks = split_text(reply.text)
        for i, chunk in enumerate(chunks):
            markup = to_markup(reply) if i == len(chunks) - 1 else None
            sent.append(await bot.send_message(chat_id, chunk, reply_markup=markup))
    return sent


async def reply_with(update: Update, bot: Bot, replies: Sequence[Reply]) -> list[Message]:
    """Answer the chat an update came from; silently nothing when there is no chat."""
    chat = update.effective_chat
    if chat is None:
        return []
    return await send_replies(bot, chat.id, replies)
