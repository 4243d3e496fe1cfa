"""The secretariat's conversations: /broadcast (compose -> preview -> confirm), /export, /reload.

Compose state and previews live in the repository's key-value store, so a preview confirmed on
another worker, or after a restart, still sends exactly once. Permission checks happen in the core
before anything here runs.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from policies.conversation import texts as t
from policies.conversation.events import Actor
from policies.conversation.ports import BroadcastLauncher, Reports
from policies.cycle import QuarterError, parse_quarter
from policies.ports import Repository
from policies.replies import Button, Reply, rows

logger = logging.getLogger(__name__)

COMPOSE = "broadcast_compose"  # kv namespace: user id -> {"awaiting": bool, "previews": {token: text}}
CB_CONFIRM = "a:bc:ok:"
CB_CANCEL = "a:bc:no"
CB_EXPORT = "a:exp:"  # a:exp:<kind>:<quarter|all>[:<fmt>]
ALL = "all"
TEXT_LIMIT = 4096
PREVIEW_LIMIT = 3000  # the preview quotes the text; keep preview + header under 4096
MAX_PREVIEWS = 5
FILE_LIMIT_MB = 50  # Telegram's upload limit; the web serves the same files

Reload = Callable[[], Awaitable[tuple[bool, str]]]


def parse_quarter_arg(arg: str) -> str | None:
    """'2026q4' -> '2026Q4'; '' -> None; QuarterError when malformed."""
    if not arg.strip():
        return None
    year, q = parse_quarter(arg.split()[0])
    return f"{year}Q{q}"


class AdminFlow:
    def __init__(
        self,
        repo: Repository,
        reports: Reports,
        current_quarter: Callable[[], str],
        reload: Reload,
        launcher: BroadcastLauncher | None = None,
    ) -> None:
        self.repo = repo
        self.reports = reports
        self.current_quarter = current_quarter
        self._reload = reload
        self.launcher = launcher

    # -- broadcast ---------------------------------------------------------------------------------
    async def _state(self, user_id: int) -> dict[str, Any]:
        value = await self.repo.kv_get(COMPOSE, str(user_id))
        return dict(value) if isinstance(value, dict) else {"awaiting": False, "previews": {}}

    async def _put(self, user_id: int, state: dict[str, Any]) -> None:
        if not state.get("awaiting") and not state.get("previews"):
            await self.repo.kv_delete(COMPOSE, str(user_id))
        else:
            await self.repo.kv_put(COMPOSE, str(user_id), state)

    async def awaiting_text(self, user_id: int) -> bool:
        return bool((await self._state(user_id)).get("awaiting"))

    async def broadcast_command(self, actor: Actor, arg: str) -> list[Reply]:
        """/broadcast [文本]: preview the inline text, or ask for it in the next message."""
        if arg.strip():
            return await self.broadcast_text(actor, arg)
        state = await self._state(actor.user_id)
        state["awaiting"] = True
        await self._put(actor.user_id, state)
        return [Reply(t.BC_ASK_TEXT)]

    async def stop_awaiting(self, actor: Actor) -> bool:
        """Forget a pending compose (another command came in). True when there was one."""
        state = await self._state(actor.user_id)
        if not state.get("awaiting"):
            return False
        state["awaiting"] = False
        await self._put(actor.user_id, state)
        return True

    async def broadcast_text(self, actor: Actor, text: str) -> list[Reply]:
        """The text to broadcast: show it with the recipient count and 确认发送 / 取消."""
        state = await self._state(actor.user_id)
        state["awaiting"] = False
        text = text.strip()
        if not text:
            await self._put(actor.user_id, state)
            return [Reply(t.BC_EMPTY)]
        if len(text) > TEXT_LIMIT:
            await self._put(actor.user_id, state)
            return [Reply(t.BC_TOO_LONG)]
        count = len(await self.repo.active_subscribers())
        if count == 0:
            await self._put(actor.user_id, state)
            return [Reply(t.BC_NO_RECIPIENTS)]
        token = secrets.token_hex(4)
        previews = dict(state.get("previews") or {})
        previews[token] = text
        state["previews"] = dict(list(previews.items())[-MAX_PREVIEWS:])
        await self._put(actor.user_id, state)
        shown = text if len(text) <= PREVIEW_LIMIT else text[:PREVIEW_LIMIT] + "……（预览已截断，发送全文）"
        buttons = ((Button(t.BC_CONFIRM, CB_CONFIRM + token), Button(t.BC_CANCEL, CB_CANCEL)),)
        return [Reply(t.BC_PREVIEW.format(count=count, text=shown), buttons)]

    async def confirm(self, actor: Actor, token: str) -> list[Reply]:
        """确认发送: one broadcast per preview, however often the button is pressed."""
        state = await self._state(actor.user_id)
        previews = dict(state.get("previews") or {})
        text = previews.pop(token, None)
        if text is None:
            return [Reply(t.BC_EXPIRED, edit=True)]
        state["previews"] = previews
        await self._put(actor.user_id, state)
        created = await self.repo.create_broadcast(text, actor.user_id)
        if created is None:  # only a dedupe key can refuse; none was given
            return [Reply(t.BC_EXPIRED, edit=True)]
        count = sum(created.totals.values())
        logger.info("Admin %s created broadcast %s to %d recipients", actor.user_id, created.id, count)
        started = self.launcher is not None and await self.launcher(created.id, actor)
        return [Reply((t.BC_STARTED if started else t.BC_QUEUED).format(count=count), edit=True)]

    async def cancel_previews(self, actor: Actor) -> list[Reply]:
        state = await self._state(actor.user_id)
        state["awaiting"] = False
        state["previews"] = {}
        await self._put(actor.user_id, state)
        return [Reply(t.BC_CANCELLED, edit=True)]

    # -- export ------------------------------------------------------------------------------------
    def export_menu(self, arg: str) -> list[Reply]:
        """/export [季度]: kinds for the current (or given) quarter; 台账 spans every quarter by default."""
        try:
            quarter = parse_quarter_arg(arg)
        except QuarterError:
            return [Reply(t.EXP_BAD_QUARTER)]
        q = quarter or self.current_quarter()
        ledger_q = quarter or ALL
        buttons = [
            Button(label, f"{CB_EXPORT}{kind}:{ledger_q if kind == 'ledger' else q}")
            for kind, label in t.EXP_KIND_LABELS.items()
        ]
        return [Reply(t.EXP_CHOOSE_KIND.format(label=q), rows(*buttons))]

    async def export_button(self, data: str) -> list[Reply]:
        """a:exp:<kind>:<quarter>: ask for the format; a:exp:<kind>:<quarter>:<fmt>: export and send."""
        parts = data.removeprefix(CB_EXPORT).split(":")
        if len(parts) not in (2, 3) or parts[0] not in t.EXP_KIND_LABELS:
            return [Reply(t.STALE_BUTTON)]
        kind, raw_quarter = parts[0], parts[1]
        try:
            quarter = None if raw_quarter == ALL else parse_quarter_arg(raw_quarter)
        except QuarterError:
            return [Reply(t.STALE_BUTTON)]
        if kind != "ledger" and quarter is None:
            return [Reply(t.STALE_BUTTON)]
        label = quarter or "全部季度"
        kind_label = t.EXP_KIND_LABELS[kind]
        if len(parts) == 2:
            buttons = [Button(text, f"{data}:{fmt}") for fmt, text in t.EXP_FORMAT_LABELS.items()]
            return [
                Reply(t.EXP_CHOOSE_FORMAT.format(kind=kind_label, label=label), rows(*buttons), edit=True)
            ]
        fmt = parts[2]
        if fmt not in t.EXP_FORMAT_LABELS:
            return [Reply(t.STALE_BUTTON)]
        try:
            outcome = await self.reports.export(kind, quarter, fmt)
        except Exception:
            logger.exception("Export %s %s %s failed", kind, label, fmt)
            return [Reply(t.EXP_FAILED)]
        if not outcome.files:
            return [Reply(t.EXP_EMPTY.format(label=label))]
        caption = t.EXP_CAPTIONS[kind].format(
            label=label, groups=outcome.groups, rows=outcome.rows, history=outcome.history_rows
        )
        replies = [Reply(t.EXP_DONE.format(count=len(outcome.files)), edit=True)]
        for file in outcome.files:
            if file.size > FILE_LIMIT_MB * 1024 * 1024:
                replies.append(Reply(t.EXP_TOO_BIG.format(name=file.name, limit=FILE_LIMIT_MB, kind=kind)))
            else:
                replies.append(Reply(caption, file=file))
        return replies

    # -- reload ------------------------------------------------------------------------------------
    async def reload(self) -> list[Reply]:
        _ok, message = await self._reload()
        return [Reply(message)]
