"""The conversation core: (who, what they did) -> what the bot says. Every channel is a thin adapter over
`Conversation.handle`; all routing lives here.

Text is routed in this order:
1. commands (`/start`, `/fill`, ..., unknown ones get the menu);
2. the four menu labels;
3. an admin's pending /broadcast text;
4. the form or a 更新进展 step, while one is active;
5. the text typed after 找平台 (a platform search), or free text that clearly asks for a platform
   (“有没有做防腐涂层中试的平台”): cards from the catalogue (`platforms.py`);
6. otherwise a policy question for the matcher (declined answers offer the closest topics, or the
   catalogue's platforms when one explains nearly all of the text).
Buttons are routed by their data prefix: `f:` form, `e:` 我的项目, `q:` a FAQ topic, `a:` admin, `m:` menu,
`p:` 找平台, `mb:` a membership request's 同意 / 拒绝 (`membership.py`: also /join, /link and the gate
that stops filing for another enterprise's credit code).

One user's events are handled one at a time, in every worker on the database (`repo.user_lock`: a
PostgreSQL advisory lock, whose transaction the event's writes share); different users never wait for
each other.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from policies.conversation import texts as t
from policies.conversation.admin import CB_CANCEL, CB_CONFIRM, CB_EXPORT, AdminFlow, parse_quarter_arg
from policies.conversation.events import Actor, Event
from policies.conversation.membership import INVITE_PREFIX, MembershipFlow
from policies.conversation.platforms import PlatformRoute
from policies.conversation.ports import BroadcastLauncher, Reports
from policies.cycle import QuarterError, quarter_of
from policies.flows import FormFlow
from policies.matcher import Answer
from policies.platform_search import PlatformCatalogue
from policies.ports import Repository, UnansweredLog
from policies.replies import Button, Reply, is_button_data
from policies.store import PolicyStore
from policies.validators import clean_input

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096  # Telegram's message limit; every channel refuses longer text the same way

Handler = Callable[[Actor, str], Awaitable[list[Reply]]]
UNANSWERED_CANDIDATES = 3  # top topics logged with a declined or suggested question


def answer_reply(answer: Answer) -> Reply:
    """The matcher's answer: a confident one alone; a suggestion ("您是不是想问：「…」" and the best
    answer) with the runners-up as buttons; a decline with the closest topics as buttons."""
    if answer.band == "confident":
        return Reply(answer.text)
    shown = answer.alternatives[:2] if answer.band == "suggest" else answer.alternatives[:3]
    buttons = tuple((Button(entry.topic, f"q:{entry.id}"),) for entry in shown)
    return Reply(answer.text, buttons)


def split_command(text: str) -> tuple[str, str] | None:
    """'/export@pairing_bot 2026Q3' -> ('export', '2026Q3'); None when `text` is not a command."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, arg = text[1:].partition(" ")
    name = head.split("@", 1)[0].strip().lower()
    if not name or not name.isascii() or not name.replace("_", "").isalnum():
        return None
    return name, arg.strip()


class Conversation:
    """`await conversation.handle(actor, event)` -> the replies, in order."""

    def __init__(
        self,
        *,
        repo: Repository,
        policies: PolicyStore,
        flow: FormFlow,
        reports: Reports,
        today: Callable[[], dt.date],
        launcher: BroadcastLauncher | None = None,
        platforms: PlatformCatalogue | None = None,
        unanswered: UnansweredLog | None = None,
    ) -> None:
        """`platforms`: the universities' catalogue (找平台); without it 找平台 says none is loaded.
        `unanswered`: where declined and suggested questions are logged (`bot.py unanswered`)."""
        self.repo = repo
        self.unanswered = unanswered
        self.finder = PlatformRoute(repo, platforms, flow) if platforms is not None else None
        self.policies = policies
        self.flow = flow
        self.today = today
        self.admin = AdminFlow(repo, reports, self.quarter, self._reload, launcher)
        self.members = MembershipFlow(repo, launcher)
        flow.gate = self.members.gate
        self.reports = reports
        self._commands: dict[str, Handler] = {
            "start": self._start,
            "help": self._help,
            "fill": self._fill,
            "my": self._mine,
            "cancel": self._cancel,
            "leaderboard": self._leaderboard,
            "stop": self._stop,
            "myid": self._my_id,
            "broadcast": self._broadcast,
            "export": self._export,
            "reload": self._reload_command,
            "find": self._find,
            "join": self._join,
            "link": self._link,
        }
        self._menu: dict[str, Handler] = {
            t.MENU_ASK: self._ask_prompt,
            t.MENU_FILL: self._fill,
            t.MENU_MINE: self._mine,
            t.MENU_HELP: self._help,
            t.MENU_FIND: self._find,
        }

    def set_launcher(self, launcher: BroadcastLauncher | None) -> None:
        """The channel that can push broadcasts (Telegram) registers itself once it is running."""
        self.admin.launcher = launcher
        self.members.launcher = launcher

    def quarter(self) -> str:
        return quarter_of(self.today())

    # -- the entry point ---------------------------------------------------------------------------
    async def handle(self, actor: Actor, event: Event) -> list[Reply]:
        """Route one event; the replies are what the user sees, in order."""
        async with self.repo.user_lock(actor.user_id):
            if event.kind == "button":
                return await self._button(actor, event.data)
            if event.kind == "file":
                return await self._attachment(actor)
            return await self._text(actor, event.text)

    async def _text(self, actor: Actor, raw: str) -> list[Reply]:
        if len(raw) > TEXT_LIMIT:
            if await self.flow.is_active(actor.user_id):
                return await self.flow.handle_text(actor.user_id, raw)  # says so and asks the field again
            return [Reply(t.TOO_LONG.format(limit=TEXT_LIMIT))]
        text = clean_input(raw)
        if not text:
            if await self.flow.is_active(actor.user_id):
                return await self.flow.handle_text(actor.user_id, raw)
            return [Reply(t.EMPTY), t.MENU]
        command = split_command(text)
        if self.finder is not None and (command is not None or text in self._menu):
            await self.finder.stop_awaiting(actor.user_id)
        if command is not None:
            name, arg = command
            if actor.is_admin and name not in ("broadcast", "cancel"):
                await self.admin.stop_awaiting(actor)
            handler = self._commands.get(name)
            if handler is None:
                return [Reply(t.UNKNOWN_COMMAND.format(command="/" + name)), t.MENU]
            return await handler(actor, arg)
        if text in self._menu:
            return await self._menu[text](actor, "")
        if actor.is_admin and await self.admin.awaiting_text(actor.user_id):
            return await self.admin.broadcast_text(actor, text)
        if await self.flow.is_active(actor.user_id):
            return await self.flow.handle_text(actor.user_id, text)
        if self.finder is not None and await self.finder.awaiting(actor.user_id):
            found = await self.finder.query_or_none(actor.user_id, text)
            if found is not None:
                return found
            answer = self._answer(actor, text)
            return [answer_reply(answer)] if answer.matched else await self.finder.no_match(text)
        answer = self._answer(actor, text)
        if self.finder is not None:
            found = await self.finder.from_text(actor.user_id, text, answer)
            if found is not None:
                return found
        await self._log_unanswered(actor, answer)
        return [answer_reply(answer)]

    def _answer(self, actor: Actor, text: str) -> Answer:
        answer = self.policies.matcher.answer(text, self.today())
        logger.info("Question from user %s band=%s score=%.1f", actor.user_id, answer.band, answer.score)
        return answer

    async def _log_unanswered(self, actor: Actor, answer: Answer) -> None:
        """Keep a declined or only suggested question for the secretariat; never at the answer's cost."""
        if self.unanswered is None or answer.band == "confident":
            return
        ranked = self.policies.matcher.rank(answer.question, UNANSWERED_CANDIDATES)
        candidates = [(entry.id, score) for entry, score in ranked if score > 0]
        try:
            await self.unanswered.log_unanswered(
                actor.user_id, answer.question, answer.band, answer.score, candidates
            )
        except Exception as exc:  # the exception may carry the question: name its type only
            logger.warning("Unanswered question of user %s not logged: %s", actor.user_id, type(exc).__name__)

    async def _attachment(self, actor: Actor) -> list[Reply]:
        if await self.flow.is_active(actor.user_id):
            return await self.flow.current_hint(actor.user_id)
        return [Reply(t.NOT_TEXT), t.MENU]

    async def _button(self, actor: Actor, data: str) -> list[Reply]:
        if not is_button_data(data):
            return [Reply(t.STALE_BUTTON)]
        prefix = data.split(":", 1)[0]
        if prefix in ("f", "e"):
            if actor.is_admin:
                await self.admin.stop_awaiting(actor)
            replies = await self.flow.handle_button(actor.user_id, data)
            if data.startswith("f:t:") and len(replies) == 1:  # a multi-select toggle edits in place
                return [Reply(replies[0].text, replies[0].buttons, replies[0].keyboard, edit=True)]
            return replies
        if prefix == "q":
            answer = self.policies.matcher.answer_entry(data[2:], self.today())
            return [Reply(t.TOPIC_GONE)] if answer is None else [answer_reply(answer)]
        if prefix == "m":
            handler = self._menu_actions().get(data)
            return await handler(actor, "") if handler else [Reply(t.STALE_BUTTON)]
        if prefix == "a":
            return await self._admin_button(actor, data)
        if prefix == "p" and self.finder is not None:
            return await self.finder.button(actor.user_id, data)
        if prefix == "mb":
            return await self.members.button(actor, data)
        return [Reply(t.STALE_BUTTON)]

    def _menu_actions(self) -> dict[str, Handler]:
        return {
            "m:fill": self._fill,
            "m:my": self._mine,
            "m:help": self._help,
            "m:ask": self._ask_prompt,
            "m:find": self._find,
        }

    # -- admin guard -------------------------------------------------------------------------------
    async def _allowed(self, actor: Actor, action: str) -> Reply | None:
        """None when `actor` may do `action`; otherwise the refusal (every attempt is audited)."""
        if not actor.is_admin:
            logger.warning(
                "Refused admin action %s for user %s (%s %s)",
                action,
                actor.user_id,
                actor.channel,
                actor.external_id,
            )
            await self.repo.audit(actor.user_id, action, False)
            return Reply(t.NO_PERMISSION, alert=True)
        if action in ("broadcast", "confirm", "export", "run_export") and not actor.private:
            await self.repo.audit(actor.user_id, action, False, "not a private chat")
            return Reply(t.PRIVATE_ONLY)
        await self.repo.audit(actor.user_id, action, True)
        return None

    async def _admin_button(self, actor: Actor, data: str) -> list[Reply]:
        if data.startswith(CB_CONFIRM):
            refusal = await self._allowed(actor, "confirm")
            return [refusal] if refusal else await self.admin.confirm(actor, data.removeprefix(CB_CONFIRM))
        if data == CB_CANCEL:
            refusal = await self._allowed(actor, "cancel_preview")
            return [refusal] if refusal else await self.admin.cancel_previews(actor)
        if data.startswith(CB_EXPORT):
            action = "run_export" if data.count(":") >= 4 else "choose_format"
            refusal = await self._allowed(actor, action if action == "run_export" else "export")
            return [refusal] if refusal else await self.admin.export_button(data)
        return [Reply(t.STALE_BUTTON)]

    # -- commands and menu -------------------------------------------------------------------------
    async def _start(self, actor: Actor, arg: str) -> list[Reply]:
        """Subscribe (where the channel can push), greet, show the menu, offer a paused draft back;
        `/start inv_CODE` (a Telegram invite link) also redeems the invite."""
        name = clean_input(actor.name)
        if actor.inbox is not None and actor.private:
            chat = actor.chat_id if actor.chat_id is not None else actor.user_id
            await self.repo.upsert_subscriber(actor.user_id, chat, name[:200], actor.inbox)
        first = name.split()[0] if name else ""
        replies = [Reply(t.GREETING.format(name=f"，{first}" if first else "")), t.MENU]
        if arg.startswith(INVITE_PREFIX):
            replies.extend(await self.members.join(actor, arg.removeprefix(INVITE_PREFIX)))
        replies.extend(await self.flow.offer_resume(actor.user_id))
        return replies

    async def _join(self, actor: Actor, arg: str) -> list[Reply]:
        return await self.members.join(actor, arg)

    async def _link(self, actor: Actor, arg: str) -> list[Reply]:
        return await self.members.link(actor, arg)

    async def _help(self, _actor: Actor, _arg: str) -> list[Reply]:
        return [Reply(t.HELP), t.MENU]

    async def _ask_prompt(self, _actor: Actor, _arg: str) -> list[Reply]:
        return [Reply(t.ASK_PROMPT)]

    async def _find(self, actor: Actor, arg: str) -> list[Reply]:
        """找平台 / `/find [what]`: ask what for (or search right away)."""
        if self.finder is None:
            return [Reply(t.PF_EMPTY_CATALOGUE)]
        if arg:
            return await self.finder.query_or_none(actor.user_id, arg) or await self.finder.no_match(arg)
        return await self.finder.menu(actor.user_id)

    async def _fill(self, actor: Actor, _arg: str) -> list[Reply]:
        return await self.flow.start(actor.user_id)

    async def _mine(self, actor: Actor, _arg: str) -> list[Reply]:
        return await self.flow.my_entries(actor.user_id)

    async def _cancel(self, actor: Actor, _arg: str) -> list[Reply]:
        if actor.is_admin and await self.admin.stop_awaiting(actor):
            return [Reply(t.BC_CANCELLED)]
        return await self.flow.pause(actor.user_id)

    async def _stop(self, actor: Actor, _arg: str) -> list[Reply]:
        await self.repo.unsubscribe(actor.user_id)
        return [Reply(t.STOPPED)]

    async def _my_id(self, actor: Actor, _arg: str) -> list[Reply]:
        channel = t.CHANNEL_NAMES.get(actor.channel, actor.channel)
        return [Reply(t.MY_ID.format(id=actor.external_id, channel=channel))]

    async def _leaderboard(self, _actor: Actor, arg: str) -> list[Reply]:
        try:
            quarter = parse_quarter_arg(arg) or self.quarter()
        except QuarterError:
            return [Reply(t.LB_BAD_QUARTER)]
        return [Reply(await self.reports.leaderboard_text(quarter))]

    async def _broadcast(self, actor: Actor, arg: str) -> list[Reply]:
        refusal = await self._allowed(actor, "broadcast")
        return [refusal] if refusal else await self.admin.broadcast_command(actor, arg)

    async def _export(self, actor: Actor, arg: str) -> list[Reply]:
        refusal = await self._allowed(actor, "export_command")
        if refusal is None and not actor.private:
            refusal = Reply(t.PRIVATE_ONLY)
        return [refusal] if refusal else self.admin.export_menu(arg)

    async def _reload_command(self, actor: Actor, _arg: str) -> list[Reply]:
        refusal = await self._allowed(actor, "reload")
        return [refusal] if refusal else await self.admin.reload()

    async def _reload(self) -> tuple[bool, str]:
        return await asyncio.to_thread(self.policies.reload)  # YAML parsing off the event loop
