"""The terminal chat: reads lines, hands them to the conversation core, prints the replies.

Buttons print as `[1] 问政策  [2] 填报结对项目`; typing a number or a label presses a button of the last
message that had buttons (inline buttons send their data, menu buttons their label); a line starting
with a backslash is sent as written without it (to answer "2" while buttons are shown).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from handlers.services import Services
from policies.conversation import Actor, Event
from policies.replies import Button, OutgoingFile, Reply

logger = logging.getLogger(__name__)

CHANNEL = "terminal"
ECHO_LIMIT = 200  # piped input longer than this is summarised, not echoed
WELCOME = "离线对话模式：每行一条消息，Ctrl-D 结束。输入按钮编号或文字即可点按；以 \\ 开头则按原文发送。"


def resolve_label(labels: Sequence[str], wanted: str | int) -> str:
    """The label meant by a 1-based number or a label: exact, then ignoring spaces and case, then
    ignoring the symbols buttons start with (✅ 提交, ☐ 技术研发, ⬅️ 上一步) so typing 提交 works.
    LookupError when nothing fits."""
    if isinstance(wanted, int) or wanted.strip().isdigit():
        index = int(wanted) - 1
        if 0 <= index < len(labels):
            return labels[index]
        raise LookupError(f"no button number {wanted}; there are {len(labels)}")
    if wanted in labels:
        return wanted
    folded = "".join(wanted.split()).casefold()
    for label in labels:
        if "".join(label.split()).casefold() == folded:
            return label
    bare = _without_marks(folded)
    if bare:
        for label in labels:
            if _without_marks("".join(label.split()).casefold()) == bare:
                return label
    raise LookupError(f"no button {wanted!r}; buttons are {list(labels)}")


def _without_marks(label: str) -> str:
    """Drop emoji and box symbols (categories So/Sk/Mn/Cf) from a label."""
    return "".join(ch for ch in label if unicodedata.category(ch) not in ("So", "Sk", "Mn", "Cf"))


def format_buttons(buttons: Sequence[Sequence[str]], start: int = 1) -> list[str]:
    """'[1] 问政策  [2] 填报结对项目', one line per keyboard row, numbered across rows."""
    lines, n = [], start
    for row in buttons:
        lines.append("  ".join(f"[{n + i}] {label}" for i, label in enumerate(row)))
        n += len(row)
    return lines


def save_file(file: OutgoingFile, out_dir: Path) -> Path:
    """Write a received file under `out_dir` without overwriting an earlier one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = Path(file.name).name or "file"
    path = out_dir / name
    stem, suffix, n = path.stem, path.suffix, 2
    while path.exists():
        path = out_dir / f"{stem}-{n}{suffix}"
        n += 1
    path.write_bytes(file.data)
    return path


class TerminalChat:
    """One terminal user talking to the core; remembers the buttons that can be pressed."""

    def __init__(self, svc: Services, *, user_id: int = 10001, name: str = "访客") -> None:
        self.svc = svc
        self.external_id = str(user_id)
        self.name = name
        self.current: Reply | None = None  # the last reply with buttons

    async def actor(self) -> Actor:
        internal = await self.svc.repo.resolve_user(CHANNEL, self.external_id, self.name)
        return Actor(
            user_id=internal,
            channel=CHANNEL,
            external_id=self.external_id,
            name=self.name,
            is_admin=self.svc.settings.is_admin(int(self.external_id)),
        )

    def labels(self) -> list[str]:
        return [] if self.current is None else [b.label for row in self.current.buttons for b in row]

    def _button(self, label: str) -> Button:
        assert self.current is not None
        return next(b for row in self.current.buttons for b in row if b.label == label)

    def event_for(self, line: str) -> Event:
        """A typed line as an event: a pressed button when it names one, else a message."""
        if line.startswith("\\"):
            return Event.message(line[1:])
        if self.current is not None and len(line) <= ECHO_LIMIT:
            try:
                button = self._button(resolve_label(self.labels(), line))
            except LookupError:
                pass
            else:
                return Event.message(button.label) if button.data is None else Event.button(button.data)
        return Event.message(line)

    async def step(self, line: str) -> list[Reply]:
        replies = await self.svc.conversation.handle(await self.actor(), self.event_for(line))
        for reply in replies:
            if reply.buttons:
                self.current = reply
        return replies


def _start_reader(stdin: TextIO, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Read lines in a daemon thread (so Ctrl-C never waits for a blocked read); None marks EOF."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    binary = getattr(stdin, "buffer", None)

    def read() -> None:
        try:
            while True:
                raw = binary.readline() if binary is not None else stdin.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
                loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\r\n"))
        except (OSError, ValueError) as exc:  # closed stream
            logger.debug("terminal chat: stdin closed: %s", exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="terminal-chat-stdin", daemon=True).start()
    return queue


def print_reply(reply: Reply, say: Callable[[str], None], out_dir: Path) -> None:
    if reply.edit:
        say("（消息已更新）")
    if reply.file is not None:
        path = save_file(reply.file, out_dir)
        say(f"[文件] {reply.file.name} ({reply.file.size} 字节) 已保存到 {path}")
    if reply.text:
        say(reply.text)
    for row in format_buttons([[b.label for b in row] for row in reply.buttons]):
        say(row)
    say("")


async def run_terminal(
    chat: TerminalChat,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    *,
    out_dir: Path | None = None,
) -> None:
    """One line of stdin per message until EOF; prints the bot's answers."""
    out_dir = out_dir or Path(tempfile.gettempdir()) / "pairing-bot-chat"
    echo = not (hasattr(stdin, "isatty") and stdin.isatty())

    def say(line: str) -> None:
        stdout.write(line + "\n")

    say(WELCOME)
    stdout.flush()
    queue = _start_reader(stdin, asyncio.get_running_loop())
    while (line := await queue.get()) is not None:
        if not line.strip():
            continue
        if echo:
            say(f"> {line}" if len(line) <= ECHO_LIMIT else f"> （长消息，共 {len(line)} 字，未显示）")
        try:
            replies = await chat.step(line)
        except Exception as exc:  # the terminal stays usable; the log has the traceback
            logger.exception("terminal chat: handling a message failed")
            say(f"[错误] 处理时出错：{type(exc).__name__}。已填写的内容都已保存。")
            replies = []
        for reply in replies:
            print_reply(reply, say, out_dir)
        if not replies:
            say("（机器人没有回复）")
        stdout.flush()
