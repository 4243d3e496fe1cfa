"""Thin Telegram adapters over the pure core in `policies` and `storage`."""
