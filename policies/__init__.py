"""The domain of pairing-bot, pure Python: no Telegram and no SQLAlchemy imports here.

A web chat will reuse everything in this package, so it speaks in plain dataclasses
(`policies.replies.Reply`) rather than Telegram types.
"""
