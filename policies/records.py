"""Plain records that cross the boundary between the domain and storage.

Storage returns these (never ORM objects), the handlers and exports read them, and a web chat
can use them unchanged. Form answers live in `Entry.fields`, keyed by the form's field ids
(see `policies/data/form.yaml`), with JSON-safe values: str, list[str] for multi-select, and
ISO `YYYY-MM-DD` strings for dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Field ids the rest of the code relies on (exports, duplicate detection, leaderboard).
F_UNIVERSITY = "university"
F_PLATFORM_NAME = "platform_name"
F_PLATFORM_TYPE = "platform_type"
F_PLATFORM_CONTACT = "platform_contact"
F_PLATFORM_PHONE = "platform_phone"
F_ENTERPRISE_NAME = "enterprise_name"
F_CREDIT_CODE = "credit_code"
F_ENTERPRISE_CONTACT = "enterprise_contact"
F_ENTERPRISE_PHONE = "enterprise_phone"
F_DISTRICT = "district"
F_PROJECT_NAME = "project_name"
F_SIGNED_ON = "signed_on"
F_STATUS = "status"
F_PROGRESS = "progress"

STATUS_SIGNED = ("已签约", "在建", "已完成")


@dataclass(frozen=True)
class Profile:
    """The enterprise a Telegram (or web) user files for; offered again on the next form."""

    user_id: int
    enterprise_name: str
    credit_code: str
    contact_name: str
    contact_phone: str
    district: str = ""


@dataclass(frozen=True)
class Draft:
    """A form in progress. `state` is whatever `policies.form.FormSession.to_dict()` produced."""

    user_id: int
    state: Mapping[str, Any]
    paused: bool
    updated_at: dt.datetime


@dataclass(frozen=True)
class Entry:
    """One row of one university's 《科创平台产学研结对共建项目清单》 for one quarter."""

    id: int
    user_id: int
    quarter: str  # e.g. "2026Q4"
    university: str
    enterprise_name: str
    credit_code: str
    platform_name: str
    project_name: str
    status: str
    fields: Mapping[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    origin_id: int | None = None  # the entry of an earlier quarter this one carries forward
    # The catalogue platform this entry names (same university and platform name), so the leaderboard
    # can count per platform without reconciling names; None when the platform is not in the catalogue.
    platform_id: int | None = None
    district: str = ""  # the enterprise's 功能区/镇街 (fields["district"]), the district accounts' scope
    # A university account's check of the platform the entry names: "confirmed" | "flagged" | None.
    platform_check: str | None = None
    platform_check_by: str | None = None
    platform_check_at: dt.datetime | None = None
    platform_check_note: str | None = None

    @property
    def platform_check_label(self) -> str:
        """'平台已确认' / '平台有疑问' / '' (shown on the dashboard and in the exports)."""
        return {"confirmed": "平台已确认", "flagged": "平台有疑问"}.get(self.platform_check or "", "")


@dataclass(frozen=True)
class Account:
    """A dashboard account (the secretariat, a university, a district office). `scope` is the university
    or district name, empty for an admin; the password hash never leaves storage and the login code."""

    id: int
    name: str
    role: str
    scope: str
    disabled: bool
    created_at: dt.datetime
    created_by: str
    last_login_at: dt.datetime | None = None


@dataclass(frozen=True)
class DashboardSession:
    """A signed-in dashboard browser (server-side; the cookie carries only the token)."""

    token_hash: str
    account_id: int
    csrf: str
    address: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    reauth_at: dt.datetime | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One line of the dashboard's append-only audit log."""

    id: int
    at: dt.datetime
    account: str
    role: str
    address: str
    action: str
    target: str
    detail: str


@dataclass(frozen=True)
class EntryChange:
    """One field's change, kept forever: who, when, old -> new."""

    entry_id: int
    quarter: str
    changed_by: int
    changed_at: dt.datetime
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Subscriber:
    """Someone who pressed /start (or opened the web chat). `active` turns False on /stop or when
    Telegram answers 403. `channel` is where broadcasts reach them: "telegram" or "web"."""

    user_id: int
    chat_id: int
    name: str
    subscribed: bool
    blocked: bool
    created_at: dt.datetime
    channel: str = "telegram"

    @property
    def active(self) -> bool:
        return self.subscribed and not self.blocked


@dataclass(frozen=True)
class OutboxItem:
    """One message to one recipient of one broadcast or reminder.

    status: pending -> sending -> sent | failed | blocked. A row left in `sending` by a crash
    is ambiguous (Telegram has no idempotency key); see README "Broadcast delivery guarantee".
    """

    id: int
    broadcast_id: int
    user_id: int
    chat_id: int
    status: str
    attempts: int = 0
    last_error: str | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class Broadcast:
    id: int
    text: str
    created_by: int
    created_at: dt.datetime
    kind: str = "broadcast"  # "broadcast" | "reminder"
    dedupe_key: str | None = None  # reminders: "<reminder id>:<quarter>" so each goes once per quarter
    totals: Mapping[str, int] = field(default_factory=dict)  # status -> count
    # inline buttons under the text as ((label, data), ...) rows: a membership request's 同意 / 拒绝
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()


BROADCAST_PROGRESS_TEXT = "广播进度：已发送 {sent} / 失败 {failed} / 已屏蔽 {blocked} / 剩余 {left}"
BROADCAST_DONE_TEXT = "广播完成：已发送 {sent} / 失败 {failed} / 已屏蔽 {blocked}（共 {total} 人）"


@dataclass(frozen=True)
class BroadcastTotals:
    """Where one broadcast stands; `left` counts rows still pending or in flight. The one summary the
    Telegram sender's progress message and the dashboard's live progress both show."""

    sent: int = 0
    failed: int = 0
    blocked: int = 0
    left: int = 0

    @classmethod
    def from_counts(cls, counts: Mapping[str, int]) -> BroadcastTotals:
        return cls(
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            blocked=counts.get("blocked", 0),
            left=counts.get("pending", 0) + counts.get("sending", 0),
        )

    @classmethod
    def of(cls, broadcast: Broadcast) -> BroadcastTotals:
        return cls.from_counts(broadcast.totals)

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.blocked + self.left

    @property
    def done(self) -> bool:
        return self.left == 0

    def as_dict(self) -> dict[str, Any]:
        return {**vars(self), "total": self.total, "done": self.done}

    def describe(self) -> str:
        """'广播进度：已发送 120 / 失败 2 / 已屏蔽 0 / 剩余 378', or the final summary."""
        template = BROADCAST_DONE_TEXT if self.done else BROADCAST_PROGRESS_TEXT
        return template.format(**vars(self), total=self.total)


@dataclass(frozen=True)
class Platform:
    """One platform of a university's catalogue for one quarter (what 九校一所 publish in week 1).

    `key` is the same for one platform across quarters (university and name, compared loosely), so a
    platform keeps its identity while each quarter's import is a new version with its own `id`.
    `sample` marks the shipped demonstration catalogue (示例数据), never real data.
    """

    id: int
    quarter: str
    university: str
    name: str
    type: str
    introduction: str = ""
    intentions: str = ""
    services: str = ""
    keywords: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    link: str = ""
    sample: bool = False
    key: str = ""
    retired: bool = False  # retired on the dashboard: kept for linked entries, no longer offered


@dataclass(frozen=True)
class ImportCounts:
    """What one catalogue import changed."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    linked: int = 0  # entries of that quarter newly linked to a catalogue platform


@dataclass(frozen=True)
class UnansweredQuestion:
    """A question the bot declined or only suggested an answer to (`bot.py unanswered` groups them).
    `asker` is an opaque salted hash: it tells questions of one person apart, never who they are."""

    asked_at: dt.datetime
    asker: str
    question: str
    band: str  # "suggest" or "decline" (see `policies.matcher.Answer.band`)
    score: float
    candidates: tuple[tuple[str, float], ...]  # (faq id, score), best first


MEMBER_STATUSES = ("active", "pending", "rejected")


@dataclass(frozen=True)
class Member:
    """One user's membership of one enterprise (keyed by its normalised credit code)."""

    credit_code: str
    user_id: int
    status: str  # "active" | "pending" | "rejected"
    enterprise_name: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None = None
    decided_by: str | None = None  # "user:12", "account:alice", "invite:3", "first", "backfill"
    name: str = ""  # the user's name as last known (profile contact, else the channel's name)


@dataclass(frozen=True)
class PendingMember:
    """A request to file for an enterprise, waiting for a member's or the dashboard's decision."""

    credit_code: str
    user_id: int
    enterprise_name: str
    requested_at: dt.datetime
    name: str = ""  # who asks: the profile's contact name, else the channel's name
    phone: str = ""  # the profile's contact phone, when known


class LinkRefused(Exception):
    """Linking two users would lose data: `reason` "drafts" (both have an unfinished draft)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
