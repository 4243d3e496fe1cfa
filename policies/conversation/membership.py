"""Enterprise membership in chat: the filing gate, 同意 / 拒绝 of a request, invites (`/join`,
`/start inv_…`, the web chat's `?invite=`) and linking two channels of one person (`/link`).

Who may file for a credit code: its first user becomes its member; a later user's submit is stopped
(the draft kept, paused) and every active member with an inbox is asked “李娜申请以…名义填报，是否同意？”
with 同意 / 拒绝 buttons. Requests and outcomes travel as one-recipient outbox messages
(`create_broadcast`, kind "membership"): written into a web user's chat history in the same transaction,
sent by the outbox sender to a Telegram user, so each reaches its user once on either channel. A button
is honoured only for an active member of that credit code (data from the client is never trusted).

Linking (`/link`, then `/link CODE` in the other channel) merges the typing user into the code's maker
(`Repository.redeem_link_code`): both channels then are one user with both users' entries, memberships
and data; it is refused while both have an unfinished draft, so no draft is lost.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from policies.conversation.events import Actor
from policies.conversation.ports import BroadcastLauncher
from policies.conversation.texts import STALE_BUTTON
from policies.ports import Repository
from policies.records import (
    F_CREDIT_CODE,
    F_ENTERPRISE_CONTACT,
    F_ENTERPRISE_NAME,
    F_ENTERPRISE_PHONE,
    LinkRefused,
)
from policies.replies import Button, Reply, is_button_data

logger = logging.getLogger(__name__)

KIND = "membership"  # broadcasts of this kind carry one request or outcome to one user
CB_YES, CB_NO = "mb:y:", "mb:n:"
# /link CODE asks first: 确认关联 carries the code, 取消 nothing (the code stays usable for 10 minutes).
CB_LINK, CB_LINK_CANCEL = "mb:l:", "mb:l-"
INVITE_PREFIX = "inv_"
_INVITE = re.compile(r"[A-Za-z0-9_-]{10,64}")
_LINK = re.compile(r"\d{8}")

PENDING = (
    "该统一社会信用代码（{code}）已有企业成员在本系统填报。为保护企业数据，需由该企业现有成员同意后，"
    "您才能以“{name}”名义提交和查看项目。\n已向现有成员发送申请，同意后会通知您。您的草稿已保存，"
    "届时发送 /fill 继续提交即可。也可向企业同事或所在功能区、镇街索取邀请码（发送 /join 邀请码）。"
)
STILL_PENDING = (
    "您以“{name}”（{code}）名义填报的申请仍在等待该企业现有成员同意，草稿已保存。"
    "同意后会通知您；也可向企业同事或所在功能区、镇街索取邀请码（发送 /join 邀请码）。"
)
REJECTED = (
    "您以“{name}”（{code}）名义填报的申请未获该企业成员同意，暂不能提交，草稿已保存。"
    "如有误，请向企业同事或所在功能区、镇街索取邀请码（发送 /join 邀请码）。"
)
ASK_MEMBERS = (
    "{who}申请以{name}名义填报，是否同意？\n统一社会信用代码：{code}{phone}\n"
    "同意后对方可查看和更新贵企业的全部项目。"
)
APPROVED_BY_YOU = "已同意{who}以{name}名义填报。"
REJECTED_BY_YOU = "已拒绝{who}以{name}名义填报的申请。"
DECIDED_ALREADY = "该申请已处理过，无需重复操作。"
NOT_A_MEMBER = "您不是该企业的成员，无法处理该申请。"
TOLD_APPROVED = (
    "✅ 您以“{name}”名义填报的申请已获同意。现在可在“我的项目”中查看该企业的项目；"
    "有未提交的草稿时发送 /fill 继续提交。"
)
TOLD_REJECTED = "您以“{name}”名义填报的申请未获同意。如有误，请向企业同事或所在功能区、镇街索取邀请码。"
JOIN_USAGE = "请发送：/join 邀请码（由企业同事或所在功能区、镇街提供）。"
JOIN_BAD = "邀请码无效、已过期或已用完，未做任何更改。请核对后重新发送，或向发放单位索取新的邀请码。"
JOINED = (
    "✅ 已加入企业（统一社会信用代码 {code}）。现在可在“我的项目”中查看和更新该企业的项目，"
    "填报时填写该代码即可直接提交。"
)
LINK_SHOW = (
    "关联码：{code}\n10 分钟内有效，仅可使用一次。请在另一个渠道（Telegram 或网页版）发送：/link {code}\n"
    "关联后两边是同一个账号：草稿、已填报项目和企业成员身份合并。请勿把关联码告诉他人。"
)
LINK_BAD = "关联码无效、已过期或已使用，未做任何更改。请在另一个渠道发送 /link 获取新的关联码。"
LINK_DRAFTS = (
    "两个渠道都有未完成的填报草稿，关联会丢失其中一份，因此未关联。"
    "请先在其中一个渠道提交或放弃草稿（/fill 后点“重新开始”或继续提交），再重新关联。"
)
LINKED = "✅ 已关联：您在两个渠道是同一个账号，草稿、已填报项目和企业成员身份已合并。"
LINK_CONFIRM = (
    "⚠️ 确认关联？关联后，本渠道的账号将并入生成关联码的那个账号：对方可以看到并修改您在这里的草稿、"
    "已填报项目和企业成员身份，且无法撤销。\n只有两边都是您本人时才确认；如果关联码是别人发给您的，请点“取消”。"
)
LINK_CANCELLED = "已取消，未做任何更改。"


class MembershipFlow:
    """The membership part of the conversation; the core routes `mb:` buttons, /join and /link here."""

    def __init__(self, repo: Repository, launcher: BroadcastLauncher | None = None) -> None:
        self.repo = repo
        self.launcher = launcher  # the channel that can push starts sending at once (else the sender loop)

    # -- the filing gate ---------------------------------------------------------------------------
    async def gate(self, user_id: int, answers: Mapping[str, Any]) -> list[Reply] | None:
        """None when this user may file for the form's credit code; else why not (a request is made)."""
        code = str(answers.get(F_CREDIT_CODE, "") or "").strip()
        if not code:
            return None
        name = str(answers.get(F_ENTERPRISE_NAME, "") or "") or code
        before = await self.repo.membership(code, user_id)
        status = await self.repo.request_membership(code, user_id, name)
        if status == "active":
            return None
        if status == "rejected":
            return [Reply(REJECTED.format(name=name, code=code))]
        if before is not None:
            return [Reply(STILL_PENDING.format(name=name, code=code))]
        who = str(answers.get(F_ENTERPRISE_CONTACT, "") or "") or "一位用户"
        phone = str(answers.get(F_ENTERPRISE_PHONE, "") or "")
        text = ASK_MEMBERS.format(
            who=who, name=name, code=code, phone=f"\n联系电话：{phone}" if phone else ""
        )
        await self._tell(
            user_id, await self.repo.member_inboxes(code), text, _decision_buttons(code, user_id)
        )
        logger.info("User %s asked to file for an enterprise; its members were asked", user_id)
        return [Reply(PENDING.format(name=name, code=code))]

    # -- 同意 / 拒绝 -----------------------------------------------------------------------------------
    async def button(self, actor: Actor, data: str) -> list[Reply]:
        """mb:y:<code>:<user> / mb:n:<code>:<user>, honoured only for an active member of <code>; the
        /link confirmation's buttons (mb:l:…, mb:l-) go to `link_button`."""
        if data.startswith((CB_LINK, CB_LINK_CANCEL)):
            return await self.link_button(actor, data)
        approve = data.startswith(CB_YES)
        parts = data.split(":")
        if len(parts) != 4 or parts[1] not in ("y", "n") or not parts[3].isdigit():
            return [Reply(STALE_BUTTON)]
        code, requester = parts[2], int(parts[3])
        if await self.repo.membership(code, actor.user_id) != "active":
            logger.warning("User %s refused a membership decision (not a member)", actor.user_id)
            await self.repo.audit(actor.user_id, "membership_decision", False, code)
            return [Reply(NOT_A_MEMBER, alert=True)]
        pending = {
            (p.credit_code, p.user_id): p for p in await self.repo.pending_members(credit_codes=[code])
        }
        request = pending.get((code, requester))
        decide = self.repo.approve_member if approve else self.repo.reject_member
        if request is None or not await decide(code, requester, f"user:{actor.user_id}"):
            return [Reply(DECIDED_ALREADY)]
        await self.repo.audit(
            actor.user_id, "membership_approve" if approve else "membership_reject", True, code
        )
        name = request.enterprise_name or code
        who = request.name or "对方"
        await self.tell_outcome(requester, name, approve, sender=actor.user_id)
        done = APPROVED_BY_YOU if approve else REJECTED_BY_YOU
        return [Reply(done.format(who=who, name=name))]

    async def tell_outcome(
        self, user_id: int, enterprise_name: str, approved: bool, *, sender: int = 0
    ) -> None:
        """Tell the requester how their request was decided, where a message can reach them (also for a
        decision made elsewhere, e.g. on the dashboard after `approve_member` / `reject_member`)."""
        if await self.repo.has_inbox(user_id):
            told = TOLD_APPROVED if approved else TOLD_REJECTED
            await self._tell(sender, [user_id], told.format(name=enterprise_name))

    async def _tell(
        self,
        sender: int,
        user_ids: list[int] | Any,
        text: str,
        buttons: tuple[tuple[tuple[str, str], ...], ...] = (),
    ) -> None:
        """One outbox message to each of `user_ids` (web: written into their history at once)."""
        recipients = list(user_ids)
        if not recipients:
            return
        broadcast = await self.repo.create_broadcast(text, sender, recipients, kind=KIND, buttons=buttons)
        if broadcast is not None and broadcast.totals.get("pending") and self.launcher is not None:
            # an actor with no chat: the launcher starts the sender without a progress message
            await self.launcher(broadcast.id, Actor(user_id=sender, channel=KIND, external_id=""))

    # -- invites -------------------------------------------------------------------------------------
    async def join(self, actor: Actor, code: str) -> list[Reply]:
        """/join CODE, /start inv_CODE, the web chat's ?invite=CODE: an active member at once."""
        code = code.strip()
        if not code:
            return [Reply(JOIN_USAGE)]
        credit = await self.repo.redeem_invite(code, actor.user_id) if _INVITE.fullmatch(code) else None
        if credit is None:
            logger.info("User %s gave an invalid invite code", actor.user_id)
            return [Reply(JOIN_BAD)]
        await self.repo.audit(actor.user_id, "membership_invite", True, credit)
        return [Reply(JOINED.format(code=credit), ((Button("我的项目", "e:list"),),))]

    # -- linking -------------------------------------------------------------------------------------
    async def link(self, actor: Actor, arg: str) -> list[Reply]:
        """/link: show a one-time code; /link CODE: ask to confirm linking this channel to the code's
        maker (a code someone else sent would hand them this channel's entries)."""
        code = "".join(arg.split())
        if not code:
            return [Reply(LINK_SHOW.format(code=await self.repo.create_link_code(actor.user_id)))]
        if _LINK.fullmatch(code) is None:
            return [Reply(LINK_BAD)]
        buttons = ((Button("确认关联", f"{CB_LINK}{code}"), Button("取消", CB_LINK_CANCEL)),)
        return [Reply(LINK_CONFIRM, buttons)]

    async def link_button(self, actor: Actor, data: str) -> list[Reply]:
        """确认关联 (mb:l:CODE) links; 取消 (mb:l-) changes nothing."""
        if data == CB_LINK_CANCEL:
            return [Reply(LINK_CANCELLED)]
        code = data.removeprefix(CB_LINK)
        if _LINK.fullmatch(code) is None:
            return [Reply(STALE_BUTTON)]
        try:
            other = await self.repo.redeem_link_code(code, actor.user_id)
        except LinkRefused:
            return [Reply(LINK_DRAFTS)]
        if other is None:
            return [Reply(LINK_BAD)]
        await self.repo.audit(other, "link_identity", True, f"{actor.channel} user {actor.user_id} merged")
        logger.info("User %s (%s) linked into user %s", actor.user_id, actor.channel, other)
        return [Reply(LINKED)]


def _decision_buttons(code: str, user_id: int) -> tuple[tuple[tuple[str, str], ...], ...]:
    yes, no = f"{CB_YES}{code}:{user_id}", f"{CB_NO}{code}:{user_id}"
    if not (is_button_data(yes) and is_button_data(no)):
        return ()
    return ((("同意", yes), ("拒绝", no)),)
