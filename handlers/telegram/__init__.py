"""The Telegram channel (python-telegram-bot): a thin adapter over `policies.conversation`."""
