"""Channels: thin adapters over the conversation core (`policies.conversation`).

telegram/  python-telegram-bot Application, rate limiter, outbox sender, reminders
web/       aiohttp web chat and JSON API (works where Telegram is blocked)
terminal/  the terminal chat (`python bot.py chat`)
services.py  the per-process collaborators every channel shares
"""
