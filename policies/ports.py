"""What the domain needs from storage, as a Protocol.

`storage.repository.SqlRepository` implements it on SQLAlchemy (`storage.open_repository`).
Every method commits before it returns, so a crash loses at most the call in flight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from policies.records import (
    Broadcast,
    Draft,
    Entry,
    EntryChange,
    ImportCounts,
    Member,
    OutboxItem,
    PendingMember,
    Platform,
    Profile,
    Subscriber,
    UnansweredQuestion,
)


class Membership(Protocol):
    """Enterprise membership, invites and link codes (`storage.membership`). Credit codes are compared
    normalised (upper-cased, no blanks)."""

    async def membership(self, credit_code: str, user_id: int) -> str | None:
        """ "active", "pending", "rejected", or None when the user never asked."""
        ...

    async def request_membership(self, credit_code: str, user_id: int, enterprise_name: str) -> str:
        """The status after asking: "active" for the first member of a code, "pending" after that; an
        existing row keeps its status (rejected stays rejected)."""
        ...

    async def approve_member(self, credit_code: str, user_id: int, decided_by: str) -> bool:
        """Pending -> active; False when nothing was pending. `decided_by`: "user:12", "account:alice"."""
        ...

    async def reject_member(self, credit_code: str, user_id: int, decided_by: str) -> bool: ...
    async def pending_members(
        self, *, credit_codes: Collection[str] | None = None
    ) -> Sequence[PendingMember]:
        """Pending requests, oldest first; None: all, else only of these codes (a district's)."""
        ...

    async def members_of(self, credit_code: str) -> Sequence[Member]: ...
    async def enterprises_of(self, user_id: int) -> Sequence[str]:
        """The codes this user is an active member of."""
        ...

    async def member_inboxes(self, credit_code: str) -> Sequence[int]:
        """Active members a message can reach (subscribed and not blocked)."""
        ...

    async def has_inbox(self, user_id: int) -> bool: ...
    async def create_invite(
        self, credit_code: str, enterprise_name: str, created_by: str, *, days: int = 30, max_uses: int = 20
    ) -> str:
        """A new invite code (URL-safe, 16 characters); only its hash is stored."""
        ...

    async def redeem_invite(self, code: str, user_id: int) -> str | None:
        """The holder becomes an active member: the credit code, or None (unknown, expired, used up)."""
        ...

    async def create_link_code(self, user_id: int) -> str:
        """A one-time 8-digit code, valid 10 minutes, to link another channel of this person."""
        ...

    async def redeem_link_code(self, code: str, user_id: int) -> int | None:
        """Merge `user_id` into the code's maker (identities, entries, drafts, memberships...): the maker's
        id, or None for an unknown, expired, used or own code. Raises `records.LinkRefused` when both
        users have a draft."""
        ...


class Repository(Membership, Protocol):
    # one user at a time, in every worker ----------------------------------------------------------
    def user_lock(self, user_id: int) -> AbstractAsyncContextManager[None]:
        """Hold `user_id`'s lock in every process on this database (re-entrant within a task).
        Calls inside the block may share one transaction that commits when it ends."""
        ...

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run `callback` once what the current `user_lock` block wrote is committed (now if none)."""
        ...

    # profiles -----------------------------------------------------------------------------------
    async def get_profile(self, user_id: int) -> Profile | None: ...
    async def save_profile(self, profile: Profile) -> None: ...

    # drafts (one per user) ----------------------------------------------------------------------
    async def get_draft(self, user_id: int) -> Draft | None: ...
    async def save_draft(self, user_id: int, state: Mapping[str, Any], *, paused: bool = False) -> None: ...
    async def delete_draft(self, user_id: int) -> None: ...

    # entries --------------------------------------------------------------------------------------
    async def create_entry(
        self, user_id: int, quarter: str, fields: Mapping[str, Any], *, origin_id: int | None = None
    ) -> Entry: ...
    async def submit_draft(
        self,
        user_id: int,
        quarter: str,
        fields: Mapping[str, Any],
        *,
        update_id: int | None = None,
        profile: Profile | None = None,
    ) -> Entry | None:
        """Close the user's draft and file it in one transaction: a new entry for `quarter`, or with
        `update_id` that entry of this user changed in place by `fields` (None removes a field, history
        kept); `profile` saved alongside. Returns None, writing nothing, when the user has no draft
        (it was submitted already); NotFound when `update_id` is not an entry this user filed."""
        ...

    async def get_entry(self, entry_id: int) -> Entry | None:
        """The entry, or None (also for ids no entry can have: zero, negative, beyond 32 bits)."""
        ...

    async def find_duplicate(
        self,
        *,
        quarter: str,
        credit_code: str,
        university: str,
        platform_name: str,
        project_name: str,
        filed_by: int | None = None,
        visible_to: int | None = None,
    ) -> Entry | None:
        """Same enterprise + university + platform + project in one quarter (normalised compare),
        among the entries `filed_by` filed / user `visible_to` may see (filed or a member), when given."""
        ...

    async def update_entry(self, entry_id: int, changed_by: int, changes: Mapping[str, Any]) -> Entry:
        """Apply field changes in place and record one EntryChange per changed field."""
        ...

    async def carry_forward(
        self, entry_id: int, quarter: str, changed_by: int, changes: Mapping[str, Any]
    ) -> Entry:
        """Update an entry for `quarter`: in place if it is already that quarter's, otherwise a new
        entry for `quarter` (origin_id = the old one) with the old fields plus `changes`; history kept."""
        ...

    async def entries_for_user(self, user_id: int) -> Sequence[Entry]:
        """Entries the user filed, and every entry of each enterprise they are an active member of."""
        ...

    def iter_entries(
        self, *, quarter: str | None = None, university: str | None = None, credit_code: str | None = None
    ) -> AsyncIterator[Entry]:
        """Stream entries ordered by university, enterprise, id (exports of 100k rows stay small)."""
        ...

    async def history(self, entry_id: int) -> Sequence[EntryChange]: ...
    def iter_history(self) -> AsyncIterator[EntryChange]: ...

    # subscribers --------------------------------------------------------------------------------
    async def upsert_subscriber(
        self, user_id: int, chat_id: int, name: str, channel: str = "telegram"
    ) -> Subscriber:
        """Subscribe (again) on /start; clears `blocked`."""
        ...

    async def unsubscribe(self, user_id: int) -> None: ...
    async def mark_blocked(self, user_id: int) -> None: ...
    async def active_subscribers(self) -> Sequence[Subscriber]: ...
    async def filed_users(self, quarter: str) -> set[int]:
        """Users with at least one entry in `quarter` (deadline reminders skip them)."""
        ...

    # broadcasts and reminders (the persisted outbox) ---------------------------------------------
    async def create_broadcast(
        self,
        text: str,
        created_by: int,
        user_ids: Sequence[int] | None = None,
        *,
        kind: str = "broadcast",
        dedupe_key: str | None = None,
        buttons: Sequence[Sequence[tuple[str, str]]] = (),
    ) -> Broadcast | None:
        """Create the broadcast and one pending outbox row per recipient (default: every active
        subscriber) in one transaction. With `dedupe_key` already used, returns None (not twice)."""
        ...

    async def get_broadcast(self, broadcast_id: int) -> Broadcast | None: ...
    async def unfinished_broadcasts(self) -> Sequence[Broadcast]: ...
    async def claim_outbox(self, broadcast_id: int, limit: int) -> Sequence[OutboxItem]:
        """Pending rows (and rows a crash left in `sending`), marked `sending` before return."""
        ...

    async def finish_outbox(
        self, item_id: int, status: str, *, error: str | None = None, message_id: int | None = None
    ) -> None: ...
    async def release_outbox(self, item_id: int, error: str) -> None:
        """Back to pending after a retryable failure (attempts += 1)."""
        ...

    # conversation state as JSON blobs --------------------------------------------------------------
    async def kv_get(self, namespace: str, key: str) -> Any | None:
        """One value, or None."""
        ...

    async def kv_get_all(self, namespace: str) -> dict[str, Any]: ...

    async def kv_put(self, namespace: str, key: str, value: Any) -> None: ...
    async def kv_delete(self, namespace: str, key: str) -> None: ...

    # audit ----------------------------------------------------------------------------------------
    async def audit(self, user_id: int, action: str, allowed: bool, detail: str = "") -> None: ...


class Identities(Protocol):
    """Who is who across channels, and the web chat's stored history (`storage.identities`)."""

    async def resolve_user(self, channel: str, external_id: str, name: str = "") -> int:
        """The internal user id of (channel, external id), created on first sight."""
        ...

    async def find_user(self, channel: str, external_id: str) -> int | None: ...
    async def identities_of(self, user_id: int) -> list[tuple[str, str]]: ...
    async def append_messages(self, user_id: int, payloads: Sequence[Mapping[str, Any]]) -> list[int]: ...
    async def messages_after(
        self, user_id: int, after: int = 0, limit: int = 200
    ) -> list[tuple[int, dict[str, Any], dt.datetime]]: ...
    async def last_message_id(self, user_id: int) -> int: ...


class PlatformStore(Protocol):
    """The universities' platform catalogue, versioned by quarter (`storage.platforms`)."""

    async def platforms_version(self) -> str:
        """Changes whenever the catalogue does (a cheap query: the conversation rebuilds its index then)."""
        ...

    async def current_platforms(self) -> Sequence[Platform]:
        """Each university's platforms of the latest quarter it has imported."""
        ...

    async def get_platform(self, platform_id: int) -> Platform | None: ...
    async def import_platforms(
        self, quarter: str, platforms: Sequence[Platform], *, universities: Sequence[str]
    ) -> ImportCounts:
        """In one transaction: `quarter`'s catalogue of each of `universities` becomes `platforms`
        (same key: updated in place, keeping its id and the entries linked to it; new: added; absent:
        removed), and that quarter's unlinked entries naming one of them are linked."""
        ...


class UnansweredLog(Protocol):
    """Questions the bot declined or only suggested an answer to (`storage.unanswered`)."""

    async def log_unanswered(
        self, user_id: int, question: str, band: str, score: float, candidates: Sequence[tuple[str, float]]
    ) -> None:
        """Record one question with its band, score and top (faq id, score) candidates; the asker is
        stored only as an opaque salted hash of `user_id`, the question cleaned and capped."""
        ...

    async def unanswered_since(self, since: dt.datetime | None = None) -> list[UnansweredQuestion]:
        """The logged questions asked at or after `since` (all when None), oldest first."""
        ...


class Store(Repository, Identities, PlatformStore, UnansweredLog, Protocol):
    """Everything a channel adapter needs from storage."""
