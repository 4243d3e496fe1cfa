"""ORM models. The schema itself is created only by the Alembic migrations in `migrations/`;
a test checks that autogenerate finds no difference between them and this metadata.

Telegram user and chat ids exceed 32 bits, hence BigInteger. Timestamps are stored as UTC and
always come back timezone-aware (SQLite keeps no zone, see `UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "blocked")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON(), Any: JSON()}  # noqa: RUF012


class ProfileRow(Base):
    __tablename__ = "profiles"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    enterprise_name: Mapped[str] = mapped_column(Text)
    credit_code: Mapped[str] = mapped_column(String(32))
    contact_name: Mapped[str] = mapped_column(Text)
    contact_phone: Mapped[str] = mapped_column(String(64))
    district: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime]


class DraftRow(Base):
    __tablename__ = "drafts"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[dict[str, Any]]
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime]


class EntryRow(Base):
    """One list row. Key columns are copied out of `fields` for filtering, ordering and duplicates."""

    __tablename__ = "entries"
    __table_args__ = (
        Index(None, "quarter", "university"),
        Index(None, "credit_code", "quarter"),
        Index(None, "user_id"),
        # One carry-forward per origin per quarter (NULL origins are distinct on both backends).
        UniqueConstraint("origin_id", "quarter"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    quarter: Mapped[str] = mapped_column(String(8))
    university: Mapped[str] = mapped_column(Text)
    credit_code: Mapped[str] = mapped_column(String(32))
    enterprise_name: Mapped[str] = mapped_column(Text)
    platform_name: Mapped[str] = mapped_column(Text)
    project_name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]]
    origin_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # the catalogue platform this entry names (see `storage.platforms`); NULL when not in the catalogue
    platform_id: Mapped[int | None] = mapped_column(
        ForeignKey("platforms.id", ondelete="SET NULL"), index=True
    )
    # the enterprise's 功能区/镇街 copied out of `fields` (district dashboard accounts filter on it)
    district: Mapped[str] = mapped_column(Text, default="", server_default="", index=True)
    # a university account's check of the named platform: "confirmed" | "flagged" | NULL
    platform_check: Mapped[str | None] = mapped_column(String(16))
    platform_check_by: Mapped[str | None] = mapped_column(Text)
    platform_check_at: Mapped[dt.datetime | None]
    platform_check_note: Mapped[str | None] = mapped_column(Text)


class PlatformRow(Base):
    """One platform of one university's catalogue for one quarter. `key` (university|name, folded)
    is the platform across quarters; a new quarter's import adds new rows and leaves old ones alone,
    so entries keep the version they were filed against."""

    __tablename__ = "platforms"
    __table_args__ = (UniqueConstraint("quarter", "key"), Index(None, "key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(400))
    university: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    introduction: Mapped[str] = mapped_column(Text, default="")
    intentions: Mapped[str] = mapped_column(Text, default="")
    services: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(Text, default="")
    contact_phone: Mapped[str] = mapped_column(String(64), default="")
    link: Mapped[str] = mapped_column(Text, default="")
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[dt.datetime]
    # set when the university retires the platform on the dashboard: kept for the entries linked to it,
    # hidden from 找平台 and the form's pick list; a re-import that lists it again brings it back
    retired_at: Mapped[dt.datetime | None]


class EntryChangeRow(Base):
    """History: rows are only ever inserted."""

    __tablename__ = "entry_changes"
    __table_args__ = (Index(None, "entry_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    quarter: Mapped[str] = mapped_column(String(8))
    changed_by: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[dt.datetime]
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)


class SubscriberRow(Base):
    __tablename__ = "subscribers"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # where broadcasts reach this user: "telegram" (chat_id) or "web" (the stored chat history)
    channel: Mapped[str] = mapped_column(String(16), default="telegram", server_default="telegram")
    name: Mapped[str] = mapped_column(Text, default="")
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class BroadcastRow(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(16), default="broadcast")
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # inline buttons under the text, [[label, data], ...] rows (a membership request's 同意 / 拒绝)
    buttons: Mapped[Any] = mapped_column(JSON, nullable=True)


class OutboxRow(Base):
    """One message to one recipient. `claimed_by` names the repository instance sending it."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id"),
        Index(None, "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(16), default="telegram", server_default="telegram")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]


class KvRow(Base):
    """JSON blobs for PTB persistence (user_data, chat_data, bot_data, conversations, callback_data)."""

    __tablename__ = "kv"

    namespace: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any]
    updated_at: Mapped[dt.datetime]


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "user_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime]
    user_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    allowed: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")


_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


class UserRow(Base):
    """One internal user, whichever channels they come from (see `IdentityRow`)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]


class IdentityRow(Base):
    """(channel, external id) -> internal user: a Telegram account, a web session, a terminal id."""

    __tablename__ = "identities"
    __table_args__ = (Index(None, "user_id"),)

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime]


class ChatMessageRow(Base):
    """The web chat's history: every message of a user's conversation, so a reload loses nothing."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index(None, "user_id", "id"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]


class WebFileRow(Base):
    """A file the web chat offered for download (an export): kept in the database so any worker can
    serve it, and only to the internal user it was made for. `id` is random, so links are unguessable."""

    __tablename__ = "web_files"
    __table_args__ = (Index(None, "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text)
    mime: Mapped[str] = mapped_column(String(128))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime]


class TelegramUpdateRow(Base):
    """A Telegram update whose effects are committed: recorded in the same transaction as those effects
    (PostgreSQL), so a redelivered update (a retry after a worker died) is answered without doing twice."""

    __tablename__ = "telegram_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[dt.datetime] = mapped_column(index=True)


class UnansweredRow(Base):
    """A question the matcher declined or only suggested an answer to, for the secretariat to turn into
    new similar questions. `asker` is a salted hash: questions of one person group, but never name them."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    asked_at: Mapped[dt.datetime] = mapped_column(index=True)
    asker: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    band: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    candidates: Mapped[Any]  # [[faq id, score], ...], best first


class DashboardAccountRow(Base):
    """A dashboard login: the secretariat (admin), a university or a district office. Never deleted,
    only disabled, so the audit log's names keep meaning something."""

    __tablename__ = "dashboard_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(Text, default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(64), default="")
    last_login_at: Mapped[dt.datetime | None]


class DashboardSessionRow(Base):
    """A signed-in browser. Server-side, so logout and disabling an account end it in every worker.
    `token_hash` is the SHA-256 of the cookie's token: a leaked table cannot be replayed."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (Index(None, "account_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("dashboard_accounts.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    reauth_at: Mapped[dt.datetime | None]


class LoginAttemptRow(Base):
    """A failed dashboard login, by `key` ("account:<name>" or "address:<ip>"): the throttle counts these
    in the database so it holds across workers."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index(None, "key", "at"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime]


class DashboardAuditRow(Base):
    """The dashboard's audit log: every login, approval, export, broadcast and change. The application
    only inserts and reads (on PostgreSQL a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "dashboard_audit"
    __table_args__ = (Index(None, "account", "at"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    account: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class EnterpriseMemberRow(Base):
    """Who may see and update an enterprise's entries (`storage.membership`). One row per (credit code,
    user): `status` is "active", "pending" (waiting for a member's or the dashboard's approval) or
    "rejected". `decided_by` says who decided: "user:12", "account:alice", "invite:3", "first", "backfill"."""

    __tablename__ = "enterprise_members"
    __table_args__ = (Index(None, "user_id"), Index(None, "status"))

    credit_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16))
    enterprise_name: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[dt.datetime]
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))


class EnterpriseInviteRow(Base):
    """An invite code that makes its holder an active member at once. Only the code's sha256 is kept.
    Multi-use up to `max_uses` (a district hands one code to one enterprise's staff); `used_by` and
    `used_at` are the latest redemption, `uses` the count."""

    __tablename__ = "enterprise_invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    credit_code: Mapped[str] = mapped_column(String(32), index=True)
    enterprise_name: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[dt.datetime | None]


class LinkCodeRow(Base):
    """A one-time code linking two channels of one person (`/link`); only its sha256 is kept."""

    __tablename__ = "link_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
class RateSlotRow(Base):
    """The Telegram rate budget shared by every worker of one bot: `next_at` is the earliest time the next
    outgoing message may go (an even grid at the bot's rate, `storage.ratebudget`)."""

    __tablename__ = "rate_slots"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    next_at: Mapped[dt.datetime]
    seq: Mapped[int] = mapped_column(BigInteger, default=0)  # reservations handed out so far


class RateSendRow(Base):
    """One reserved send and when its answer came (NULL while in flight): a send may only go 1.005 s
    after the one 30 places earlier completed, whichever worker sent it (`storage.ratebudget`)."""

    __tablename__ = "rate_sends"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    done_at: Mapped[dt.datetime | None]
    # pg_backend_pid() of the reserving worker's budget connection: once that backend is gone the worker
    # died, and its send is no longer waited for (it arrived, if ever, before the connection closed).
    backend_pid: Mapped[int | None]


class RateChatRow(Base):
    """Per private chat: the theoretical arrival time of its next message (GCRA, 1 message/s with a small
    burst); rows of chats idle for a minute are pruned."""

    __tablename__ = "rate_chats"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    next_at: Mapped[dt.datetime] = mapped_column(index=True)
