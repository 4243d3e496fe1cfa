"""The web chat channel (aiohttp): a thin adapter over the conversation core for browsers, WeChat's
built-in one included. `python bot.py web` serves it (`serve`); tests build it with `build_web_app`."""

from __future__ import annotations

from handlers.web.app import build_web_app, serve, start_web

__all__ = ["build_web_app", "serve", "start_web"]
