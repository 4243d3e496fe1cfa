"""Enterprise membership, invite codes and link codes: a mixin of `SqlRepository`.

An enterprise is its normalised credit code. Its members see, update and get the history of all of its
entries (`SqlRepository._visible`). The first user who asks for a code with no active member becomes
active at once; later users are pending until a member (in chat) or the dashboard approves.

Invite codes are multi-use up to `max_uses` (default 20: a district hands one code to one enterprise,
whose staff may all join with it) until they expire; only their sha256 is stored, so a database dump
lets nobody join. Link codes (`/link`) are single-use, 8 digits, valid `LINK_MINUTES`.

Linking two users (`link_users`) merges the newer into the code's maker: every identity, entry, draft,
profile, membership, web message and file of the redeemer moves to the maker, nothing is deleted except
rows the maker already has (a duplicate membership keeps the better status). Two drafts cannot be kept
(one per user), so linking is refused while both have one (`LinkRefused`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from policies.records import LinkRefused, Member, PendingMember
from storage.identities import IDENTITY_VERSION
from storage.parts import RepositoryPart, utcnow
from storage.tables import (
    ChatMessageRow,
    DraftRow,
    EnterpriseInviteRow,
    EnterpriseMemberRow,
    EntryChangeRow,
    EntryRow,
    IdentityRow,
    KvRow,
    LinkCodeRow,
    ProfileRow,
    SubscriberRow,
    UserRow,
    WebFileRow,
)

LINK_MINUTES = 10
LINK_DIGITS = 8
INVITE_USES = 20
MEMBER_LOCK = 3  # advisory lock namespace (repository: 0 users, 1 Telegram ids, 2 the sender)
_RANK = {"active": 2, "pending": 1, "rejected": 0}


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode("utf-8", "surrogatepass")).hexdigest()


def _code(value: str) -> str:
    from storage.repository import normalize_credit_code  # one normaliser for entries and members

    return normalize_credit_code(value)


def _member(row: EnterpriseMemberRow, name: str = "") -> Member:
    return Member(
        credit_code=row.credit_code,
        user_id=int(row.user_id),
        status=row.status,
        enterprise_name=row.enterprise_name,
        requested_at=row.requested_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        name=name,
    )


class MembershipStoreMixin(RepositoryPart):
    """Membership, invites and link codes for SqlRepository (see the module docstring)."""

    def forget_identity(self, channel: str, external_id: str) -> None:
        raise NotImplementedError  # provided by IdentityStoreMixin

    # who may see an entry ------------------------------------------------------------------------
    @staticmethod
    def _visible(user_id: int) -> ColumnElement[bool]:
        """Entries `user_id` filed, or of an enterprise they are an active member of."""
        codes = select(EnterpriseMemberRow.credit_code).where(
            EnterpriseMemberRow.user_id == user_id, EnterpriseMemberRow.status == "active"
        )
        return or_(EntryRow.user_id == user_id, EntryRow.credit_code.in_(codes))

    # membership --------------------------------------------------------------------------------
    async def membership(self, credit_code: str, user_id: int) -> str | None:
        stmt = select(EnterpriseMemberRow.status).where(
            EnterpriseMemberRow.credit_code == _code(credit_code), EnterpriseMemberRow.user_id == user_id
        )
        async with self._reading() as s:
            return (await s.execute(stmt)).scalar_one_or_none()

    async def request_membership(self, credit_code: str, user_id: int, enterprise_name: str) -> str:
        """The user's status for the code after asking: "active" when nobody is an active member yet
        (the first one), "pending" otherwise; an existing row keeps its status (a rejected user stays
        rejected: only an invite or the dashboard lets them in then)."""
        code = _code(credit_code)
        async with self._transaction() as s:
            await self._lock_code(s, code)
            existing = await s.get(EnterpriseMemberRow, (code, user_id))
            if existing is not None:
                return existing.status
            has_active = await s.scalar(
                select(func.count())
                .select_from(EnterpriseMemberRow)
                .where(EnterpriseMemberRow.credit_code == code, EnterpriseMemberRow.status == "active")
            )
            now = utcnow()
            status = "pending" if has_active else "active"
            s.add(
                EnterpriseMemberRow(
                    credit_code=code,
                    user_id=user_id,
                    status=status,
                    enterprise_name=enterprise_name[:500],
                    requested_at=now,
                    decided_at=None if has_active else now,
                    decided_by=None if has_active else "first",
                )
            )
            await s.flush()
            return status

    async def _lock_code(self, s: AsyncSession, code: str) -> None:
        """Serialise the "first member" decision for one code across workers (PostgreSQL)."""
        if s.get_bind().dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(code.encode()).digest()[:6], "big")
            await s.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MEMBER_LOCK * 2**52 + key})

    async def _decide(self, credit_code: str, user_id: int, decided_by: str, status: str) -> bool:
        stmt = (
            update(EnterpriseMemberRow)
            .where(
                EnterpriseMemberRow.credit_code == _code(credit_code),
                EnterpriseMemberRow.user_id == user_id,
                EnterpriseMemberRow.status == "pending",
            )
            .values(status=status, decided_at=utcnow(), decided_by=decided_by[:200])
        )
        async with self._transaction() as s:
            result = await s.execute(stmt)
            return bool(getattr(result, "rowcount", 0))

    async def approve_member(self, credit_code: str, user_id: int, decided_by: str) -> bool:
        """Pending -> active; False when there was no pending request (decided already)."""
        return await self._decide(credit_code, user_id, decided_by, "active")

    async def reject_member(self, credit_code: str, user_id: int, decided_by: str) -> bool:
        """Pending -> rejected; False when there was no pending request (decided already)."""
        return await self._decide(credit_code, user_id, decided_by, "rejected")

    def _names(self) -> Any:
        """(user id -> best known name) as a subquery column pair: profile contact, else users.name."""
        return (
            select(
                UserRow.id.label("uid"), func.coalesce(ProfileRow.contact_name, UserRow.name).label("name")
            )
            .outerjoin(ProfileRow, ProfileRow.user_id == UserRow.id)
            .subquery()
        )

    async def pending_members(
        self, *, credit_codes: Collection[str] | None = None
    ) -> Sequence[PendingMember]:
        """Pending requests, oldest first; only of `credit_codes` when given (a district's)."""
        stmt = (
            select(EnterpriseMemberRow, UserRow.name, ProfileRow.contact_name, ProfileRow.contact_phone)
            .outerjoin(UserRow, UserRow.id == EnterpriseMemberRow.user_id)
            .outerjoin(ProfileRow, ProfileRow.user_id == EnterpriseMemberRow.user_id)
            .where(EnterpriseMemberRow.status == "pending")
            .order_by(EnterpriseMemberRow.requested_at, EnterpriseMemberRow.user_id)
        )
        if credit_codes is not None:
            codes = sorted({_code(c) for c in credit_codes})
            if not codes:
                return []
            stmt = stmt.where(EnterpriseMemberRow.credit_code.in_(codes))
        async with self._reading() as s:
            return [
                PendingMember(
                    credit_code=row.credit_code,
                    user_id=int(row.user_id),
                    enterprise_name=row.enterprise_name,
                    requested_at=row.requested_at,
                    name=contact or name or "",
                    phone=phone or "",
                )
                for row, name, contact, phone in (await s.execute(stmt)).all()
            ]

    async def members_of(self, credit_code: str) -> Sequence[Member]:
        """Every member row of the code (any status), oldest request first."""
        stmt = (
            select(EnterpriseMemberRow, UserRow.name, ProfileRow.contact_name)
            .outerjoin(UserRow, UserRow.id == EnterpriseMemberRow.user_id)
            .outerjoin(ProfileRow, ProfileRow.user_id == EnterpriseMemberRow.user_id)
            .where(EnterpriseMemberRow.credit_code == _code(credit_code))
            .order_by(EnterpriseMemberRow.requested_at, EnterpriseMemberRow.user_id)
        )
        async with self._reading() as s:
            return [
                _member(row, contact or name or "") for row, name, contact in (await s.execute(stmt)).all()
            ]

    async def enterprises_of(self, user_id: int) -> Sequence[str]:
        """The credit codes this user is an active member of, sorted."""
        stmt = (
            select(EnterpriseMemberRow.credit_code)
            .where(EnterpriseMemberRow.user_id == user_id, EnterpriseMemberRow.status == "active")
            .order_by(EnterpriseMemberRow.credit_code)
        )
        async with self._reading() as s:
            return list(await s.scalars(stmt))

    async def member_inboxes(self, credit_code: str) -> Sequence[int]:
        """Active members whom a message can reach (subscribed, not blocked), by user id."""
        stmt = (
            select(EnterpriseMemberRow.user_id)
            .join(SubscriberRow, SubscriberRow.user_id == EnterpriseMemberRow.user_id)
            .where(
                EnterpriseMemberRow.credit_code == _code(credit_code),
                EnterpriseMemberRow.status == "active",
                SubscriberRow.subscribed.is_(True),
                SubscriberRow.blocked.is_(False),
            )
            .order_by(EnterpriseMemberRow.user_id)
        )
        async with self._reading() as s:
            return [int(u) for u in await s.scalars(stmt)]

    async def has_inbox(self, user_id: int) -> bool:
        """Whether a message can reach this user (a subscriber, not blocked)."""
        stmt = select(SubscriberRow.user_id).where(
            SubscriberRow.user_id == user_id,
            SubscriberRow.subscribed.is_(True),
            SubscriberRow.blocked.is_(False),
        )
        async with self._reading() as s:
            return (await s.execute(stmt)).scalar_one_or_none() is not None

    # invites ---------------------------------------------------------------------------------------
    async def create_invite(
        self,
        credit_code: str,
        enterprise_name: str,
        created_by: str,
        *,
        days: int = 30,
        max_uses: int = INVITE_USES,
    ) -> str:
        """A new invite code (returned once, in plain; only its hash is stored)."""
        code = secrets.token_urlsafe(12)  # 16 URL-safe characters, 96 random bits
        now = utcnow()
        async with self._transaction() as s:
            s.add(
                EnterpriseInviteRow(
                    code_hash=_hash(code),
                    credit_code=_code(credit_code),
                    enterprise_name=enterprise_name[:500],
                    created_by=created_by[:200],
                    created_at=now,
                    expires_at=now + dt.timedelta(days=max(1, days)),
                    max_uses=max(1, max_uses),
                    uses=0,
                )
            )
        return code

    async def redeem_invite(self, code: str, user_id: int) -> str | None:
        """Make the holder an active member; the credit code, or None (unknown, expired, used up)."""
        if not code or len(code) > 100:
            return None
        now = utcnow()
        async with self._transaction() as s:
            invite = (
                await s.scalars(
                    select(EnterpriseInviteRow)
                    .where(EnterpriseInviteRow.code_hash == _hash(code))
                    .with_for_update()
                )
            ).first()
            if invite is None or invite.expires_at <= now:
                return None
            member = await s.get(EnterpriseMemberRow, (invite.credit_code, user_id))
            if member is not None and member.status == "active":
                return invite.credit_code  # already in: the invite is not used up by it
            if invite.uses >= invite.max_uses:
                return None
            invite.uses += 1
            invite.used_by, invite.used_at = user_id, now
            decided = f"invite:{invite.id}"
            if member is None:
                s.add(
                    EnterpriseMemberRow(
                        credit_code=invite.credit_code,
                        user_id=user_id,
                        status="active",
                        enterprise_name=invite.enterprise_name,
                        requested_at=now,
                        decided_at=now,
                        decided_by=decided,
                    )
                )
            else:
                member.status, member.decided_at, member.decided_by = "active", now, decided
            await s.flush()
            return invite.credit_code

    # linking two users ---------------------------------------------------------------------------
    async def create_link_code(self, user_id: int) -> str:
        """An 8-digit one-time code valid `LINK_MINUTES`; earlier unused codes of this user lapse."""
        now = utcnow()
        async with self._transaction() as s:
            await s.execute(
                delete(LinkCodeRow).where(LinkCodeRow.user_id == user_id, LinkCodeRow.used_at.is_(None))
            )
            await s.execute(delete(LinkCodeRow).where(LinkCodeRow.expires_at < now - dt.timedelta(days=1)))
            while True:
                code = "".join(secrets.choice("0123456789") for _ in range(LINK_DIGITS))
                if await s.get(LinkCodeRow, _hash(code)) is None:
                    break
            s.add(
                LinkCodeRow(
                    code_hash=_hash(code),
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + dt.timedelta(minutes=LINK_MINUTES),
                )
            )
        return code

    async def redeem_link_code(self, code: str, user_id: int) -> int | None:
        """Link `user_id` to the code's maker (see the module docstring): the maker's user id, or None
        for an unknown, expired or used code (or one's own). LinkRefused when data would be lost."""
        wanted = "".join(code.split())
        if not wanted.isdigit() or len(wanted) != LINK_DIGITS:
            return None
        now = utcnow()
        async with self._transaction() as s:
            row = (
                await s.scalars(
                    select(LinkCodeRow).where(LinkCodeRow.code_hash == _hash(wanted)).with_for_update()
                )
            ).first()
            if row is None or row.used_at is not None or row.expires_at <= now:
                return None
            keep = int(row.user_id)
            if keep == user_id:
                return None
            drafts = await s.scalar(
                select(func.count()).select_from(DraftRow).where(DraftRow.user_id.in_((keep, user_id)))
            )
            if drafts and drafts > 1:
                raise LinkRefused("drafts")
            row.used_at = now
            moved = await self._merge_users(s, keep, user_id)
            version = await s.get(KvRow, IDENTITY_VERSION)
            if version is None:
                s.add(KvRow(namespace=IDENTITY_VERSION[0], key=IDENTITY_VERSION[1], value=1, updated_at=now))
            else:
                version.value, version.updated_at = int(version.value or 0) + 1, now
            await s.flush()
        for channel, external_id in moved:  # this worker at once; others by the version (identities.py)
            self.forget_identity(channel, external_id)
        cache = getattr(self, "_cache", None)
        if cache is not None:
            cache.clear()  # drafts and state remembered per user id (SQLite) moved to another user
        return keep

    @staticmethod
    async def _merge_subscriber(s: AsyncSession, keep: int, gone: int) -> None:
        """One inbox per user: the kept user's, unless only the other one can push (Telegram)."""
        mine, theirs = await s.get(SubscriberRow, keep), await s.get(SubscriberRow, gone)
        if theirs is None:
            return
        pushes = theirs.channel == "telegram" and theirs.subscribed and not theirs.blocked
        if mine is not None and not (pushes and mine.channel != "telegram"):
            await s.execute(delete(SubscriberRow).where(SubscriberRow.user_id == gone))
            return
        if mine is not None:
            await s.execute(delete(SubscriberRow).where(SubscriberRow.user_id == keep))
        await s.execute(update(SubscriberRow).where(SubscriberRow.user_id == gone).values(user_id=keep))

    async def _merge_users(self, s: AsyncSession, keep: int, gone: int) -> list[tuple[str, str]]:
        """Move everything of user `gone` to `keep`; returns the identities that moved."""
        moved = [
            (c, e)
            for c, e in (
                await s.execute(
                    select(IdentityRow.channel, IdentityRow.external_id).where(IdentityRow.user_id == gone)
                )
            ).all()
        ]
        await s.execute(update(IdentityRow).where(IdentityRow.user_id == gone).values(user_id=keep))
        for table in (EntryRow, ChatMessageRow, WebFileRow):
            await s.execute(update(table).where(table.user_id == gone).values(user_id=keep))
        await s.execute(
            update(EntryChangeRow).where(EntryChangeRow.changed_by == gone).values(changed_by=keep)
        )
        for single in (DraftRow, ProfileRow):  # one row per user: the kept user's wins, the other stays
            if await s.get(single, keep) is None:
                await s.execute(update(single).where(single.user_id == gone).values(user_id=keep))
        await self._merge_subscriber(s, keep, gone)
        mine = {
            m.credit_code: m
            for m in await s.scalars(select(EnterpriseMemberRow).where(EnterpriseMemberRow.user_id == keep))
        }
        theirs = list(await s.scalars(select(EnterpriseMemberRow).where(EnterpriseMemberRow.user_id == gone)))
        for member in theirs:
            have = mine.get(member.credit_code)
            if have is not None and _RANK[have.status] < _RANK[member.status]:
                have.status, have.decided_at, have.decided_by = (
                    member.status,
                    member.decided_at,
                    member.decided_by,
                )
        await s.flush()
        for member in theirs:
            if member.credit_code in mine:
                await s.execute(
                    delete(EnterpriseMemberRow).where(
                        and_(
                            EnterpriseMemberRow.credit_code == member.credit_code,
                            EnterpriseMemberRow.user_id == gone,
                        )
                    )
                )
            else:
                await s.execute(
                    update(EnterpriseMemberRow)
                    .where(
                        EnterpriseMemberRow.credit_code == member.credit_code,
                        EnterpriseMemberRow.user_id == gone,
                    )
                    .values(user_id=keep)
                )
        return moved
