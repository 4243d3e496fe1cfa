"""Settings read once from the environment, failing fast with the offending key named."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Asia/Shanghai")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'data' / 'pairing_bot.sqlite3'}"
# The terminal chat's own database, so a trial never adds subscribers or entries to the real data.
DEFAULT_TRIAL_DATABASE_URL = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'data' / 'trial.sqlite3'}"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"


class SettingsError(ValueError):
    """A setting in the environment is malformed; the message names the key."""


# How long the unanswered-question log keeps a question (UNANSWERED_RETENTION_DAYS).
DEFAULT_UNANSWERED_RETENTION_DAYS = 180


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. The token is hidden from `repr` so it never reaches a log."""

    token: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    trial_database_url: str = field(default=DEFAULT_TRIAL_DATABASE_URL, repr=False)
    admin_ids: frozenset[int] = frozenset()
    today_override: dt.date | None = None
    webhook_url: str = ""
    webhook_port: int = 8443
    webhook_path: str = "telegram"
    webhook_secret: str = field(default="", repr=False)
    policy_dir: Path = PROJECT_ROOT / "policies" / "data"
    # The built policy base + matcher, kept between starts (policies.built); None: always build.
    policy_cache_dir: Path | None = None
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_secret_key: str = field(default="", repr=False)  # empty: one generated and kept in the database
    web_cookie_secure: bool = False  # True behind HTTPS: session cookies never travel over plain HTTP
    # Reverse proxies whose X-Forwarded-For names the real client (the dashboard's per-address login
    # throttle and audit): nginx on the same host by default.
    web_trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    bot_username: str = ""  # the bot's @name without "@": invite links https://t.me/<name>?start=inv_…
    public_web_url: str = ""  # where users open the web chat, e.g. https://bot.example.cn (invite links)
    # Telegram's limits, held by all workers together: messages/s for the whole bot (Telegram: 30; paid
    # broadcasts allow more) and per private chat (about 1). Tests against a fake Bot API raise them.
    telegram_rate: float = 29.5
    telegram_chat_rate: float = 1.0
    # PostgreSQL connections per worker: a webhook update holds one while its replies are sent, so
    # this bounds the updates a worker handles at once (N workers x DB_POOL_SIZE < max_connections).
    db_pool_size: int = 20
    # Declined and suggested questions older than this are deleted (when a new one is logged).
    unanswered_retention_days: int = DEFAULT_UNANSWERED_RETENTION_DAYS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `environ` (default `os.environ`)."""
        env = os.environ if environ is None else environ
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            base_url=env.get("TELEGRAM_BASE_URL", "").strip() or DEFAULT_BASE_URL,
            database_url=env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
            trial_database_url=env.get("TRIAL_DATABASE_URL", "").strip() or DEFAULT_TRIAL_DATABASE_URL,
            admin_ids=_parse_admin_ids(env.get("ADMIN_IDS", "")),
            today_override=_parse_date("BOT_TODAY", env.get("BOT_TODAY", "")),
            webhook_url=env.get("WEBHOOK_URL", "").strip(),
            webhook_port=_parse_int("WEBHOOK_PORT", env.get("WEBHOOK_PORT", ""), 8443),
            webhook_path=env.get("WEBHOOK_PATH", "").strip().strip("/") or "telegram",
            webhook_secret=env.get("WEBHOOK_SECRET", "").strip(),
            policy_dir=Path(env["POLICY_DIR"]) if env.get("POLICY_DIR") else cls.policy_dir,
            policy_cache_dir=_cache_dir(env),
            web_host=env.get("WEB_HOST", "").strip() or "127.0.0.1",
            web_port=_parse_int("WEB_PORT", env.get("WEB_PORT", ""), 8080),
            web_secret_key=env.get("WEB_SECRET_KEY", "").strip(),
            web_cookie_secure=env.get("WEB_COOKIE_SECURE", "").strip().lower() in ("1", "true", "yes"),
            web_trusted_proxies=_parse_addresses(env.get("WEB_TRUSTED_PROXIES"), ("127.0.0.1", "::1")),
            bot_username=env.get("BOT_USERNAME", "").strip().lstrip("@"),
            public_web_url=env.get("PUBLIC_WEB_URL", "").strip().rstrip("/"),
            telegram_rate=_parse_rate("TELEGRAM_RATE", env.get("TELEGRAM_RATE", ""), 29.5),
            telegram_chat_rate=_parse_rate("TELEGRAM_CHAT_RATE", env.get("TELEGRAM_CHAT_RATE", ""), 1.0),
            db_pool_size=max(1, _parse_int("DB_POOL_SIZE", env.get("DB_POOL_SIZE", ""), 20)),
            unanswered_retention_days=_parse_positive_int(
                "UNANSWERED_RETENTION_DAYS",
                env.get("UNANSWERED_RETENTION_DAYS", ""),
                DEFAULT_UNANSWERED_RETENTION_DAYS,
            ),
        )

    def web_base(self) -> str:
        """The web chat's address as users reach it: PUBLIC_WEB_URL, else the host and port served."""
        return self.public_web_url or f"http://{self.web_host}:{self.web_port}"

    def today(self) -> dt.date:
        """Today in Asia/Shanghai, or `BOT_TODAY` when set."""
        return self.today_override or dt.datetime.now(TIMEZONE).date()

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids


def _cache_dir(env: Mapping[str, str]) -> Path | None:
    """POLICY_CACHE_DIR ("off" for none), else $XDG_CACHE_HOME/pairing-bot, else ~/.cache/pairing-bot."""
    raw = env.get("POLICY_CACHE_DIR", "").strip()
    if raw.lower() in ("off", "none", "0", "false"):
        return None
    if raw:
        return Path(raw)
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    if xdg:
        return Path(xdg) / "pairing-bot"
    home = env.get("HOME", "").strip()
    return Path(home) / ".cache" / "pairing-bot" if home else None


def _parse_admin_ids(raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise SettingsError(f"ADMIN_IDS: {part!r} is not a numeric Telegram user id") from None
    return frozenset(ids)


def _parse_date(key: str, raw: str) -> dt.date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not a date in YYYY-MM-DD form") from None


def _parse_int(key: str, raw: str, default: int) -> int:
    raw = raw.strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not an integer") from None


def _parse_addresses(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of IP addresses; unset keeps `default`, an empty value trusts none."""
    if raw is None:
        return default
    found = tuple(part.strip() for part in raw.split(",") if part.strip())
    for address in found:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise SettingsError(f"WEB_TRUSTED_PROXIES: {address!r} is not an IP address") from None
    return found


def _parse_rate(key: str, raw: str, default: float) -> float:
    raw = raw.strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not a number") from None
    if not 0 < value < 100_000:
        raise SettingsError(f"{key}: {raw!r} must be a positive number of messages per second")
    return value


def _parse_positive_int(key: str, raw: str, default: int) -> int:
    value = _parse_int(key, raw, default)
    if value < 1:
        raise SettingsError(f"{key}: must be at least 1, got {value}")
    return value
