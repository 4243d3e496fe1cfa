"""The terminal channel: `python bot.py chat`, one line of input per message, straight into the core."""

from handlers.terminal.chat import TerminalChat, format_buttons, resolve_label, run_terminal

__all__ = ["TerminalChat", "format_buttons", "resolve_label", "run_terminal"]
