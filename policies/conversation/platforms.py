"""找平台: search the universities' platform catalogue in the conversation, page through the cards, filter
by university and type, and “与该平台结对” into the form with the platform's details filled in.

The search state (query, filters, page) lives in the repository's key-value store, so 更多 and the
filter buttons work after a restart and from another process. Buttons: `p:more`, `p:fu` / `p:ft`
(choose a university / type), `p:u:<i>` / `p:t:<i>` (apply it), `p:clr`, `p:pair:<platform id>`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from policies.conversation import texts as t
from policies.flows import FormFlow
from policies.matcher import Answer
from policies.platform_search import (
    BARE_COVERAGE,
    CUE_COVERAGE,
    PlatformCatalogue,
    PlatformIndex,
    Results,
    asks_for_platform,
)
from policies.ports import Repository
from policies.records import Platform
from policies.replies import Button, Reply

logger = logging.getLogger(__name__)

NAMESPACE = "platform_search"
PAGE = 3
MARKS = "①②③④⑤⑥⑦⑧⑨⑩"
SHOWN_CHARS = 60  # of a card's introduction, services, intentions
_INDEX = re.compile(r"(0|[1-9][0-9]{0,3})")
_ID = re.compile(r"[1-9][0-9]{0,9}")


def _short(text: str, limit: int = SHOWN_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card(mark: str, platform: Platform) -> str:
    """One platform as the user reads it: name, university and type, what it offers, whom to call."""
    lines = [
        t.PF_CARD.format(
            mark=mark,
            name=platform.name,
            sample="【示例数据】" if platform.sample else "",
            university=platform.university,
            type=platform.type,
        )
    ]
    if platform.services:
        lines.append(t.PF_OFFERS.format(text=_short(platform.services)))
    if platform.intentions:
        lines.append(t.PF_INTENTIONS.format(text=_short(platform.intentions)))
    elif platform.introduction:
        lines.append(t.PF_INTRO.format(text=_short(platform.introduction)))
    contact = " ".join(x for x in (platform.contact_name, platform.contact_phone) if x)
    if contact:
        lines.append(t.PF_CONTACT.format(text=contact))
    if platform.link:
        lines.append(t.PF_LINK.format(text=platform.link))
    return "\n".join(lines)


class PlatformRoute:
    """The 找平台 route of the conversation core."""

    def __init__(self, repo: Repository, catalogue: PlatformCatalogue, flow: FormFlow) -> None:
        self.repo = repo
        self.catalogue = catalogue
        self.flow = flow

    # -- state ---------------------------------------------------------------------------------------
    async def _load(self, user_id: int) -> dict[str, Any]:
        value = await self.repo.kv_get(NAMESPACE, str(user_id))
        return dict(value) if isinstance(value, dict) else {}

    async def _save(self, user_id: int, state: dict[str, Any]) -> None:
        await self.repo.kv_put(NAMESPACE, str(user_id), state)

    async def awaiting(self, user_id: int) -> bool:
        """True right after 找平台: the next typed text is a search, whatever it looks like."""
        return bool((await self._load(user_id)).get("await"))

    # -- entry points --------------------------------------------------------------------------------
    async def menu(self, user_id: int) -> list[Reply]:
        """找平台 pressed (or /find): ask what for, offer browsing by type and university."""
        index = await self.catalogue.index()
        if not len(index):
            return [Reply(t.PF_EMPTY_CATALOGUE)]
        await self._save(user_id, {"await": True, "q": "", "u": None, "t": None, "o": 0})
        return [Reply(t.PF_PROMPT, self._browse_buttons(index))]

    async def search(self, user_id: int, query: str, *, note: str = "") -> list[Reply]:
        """A typed query: the first page of cards (filters from an earlier search are dropped)."""
        state = {"await": False, "q": query[:100], "u": None, "t": None, "o": 0}
        await self._save(user_id, state)
        index = await self.catalogue.index()
        logger.info("Platform search by user %s", user_id)
        return [self._page(index, state, note=note)]

    async def from_text(self, user_id: int, text: str, faq: Answer) -> list[Reply] | None:
        """Free text that is clearly a platform search, answered from the catalogue; None: the FAQ's.

        Wording that asks for a platform (有没有…平台, 哪个平台能…) goes to the catalogue when a platform
        explains most of it; other text only when the FAQ has no answer and a platform explains nearly
        all of it (海洋腐蚀检测). Policy questions keep their FAQ answer."""
        cue = asks_for_platform(text)
        if not cue and faq.matched:
            return None
        index = await self.catalogue.index()
        if not len(index):
            return None
        terms = index.query_terms(text).replace(" ", "")
        if len(terms) < 2:
            return None
        hits = index.search(text)
        best = hits[0].coverage if hits else 0.0
        if cue and best >= CUE_COVERAGE:
            return await self.search(user_id, text)
        if not faq.matched and best >= BARE_COVERAGE:
            return await self.search(user_id, text, note=t.PF_FROM_FAQ)
        return None

    async def query_or_none(self, user_id: int, text: str) -> list[Reply] | None:
        """The text typed after 找平台: its cards, or None when nothing matched (the FAQ may know it)."""
        index = await self.catalogue.index()
        state = await self._load(user_id)
        state["await"] = False
        await self._save(user_id, state)
        if not index.search(text):
            return None
        return await self.search(user_id, text)

    async def stop_awaiting(self, user_id: int) -> None:
        """Another route was taken after 找平台: the next text is no longer a search."""
        state = await self._load(user_id)
        if state.get("await"):
            state["await"] = False
            await self._save(user_id, state)

    def nothing_found(self, index: PlatformIndex, query: str) -> Reply:
        return Reply(t.PF_NONE.format(query=_short(query, 20)), self._browse_buttons(index))

    async def no_match(self, text: str) -> list[Reply]:
        return [self.nothing_found(await self.catalogue.index(), text)]

    async def button(self, user_id: int, data: str) -> list[Reply]:
        parts = data.split(":")
        action, args = parts[1] if len(parts) > 1 else "", parts[2:]
        if action == "pair" and len(args) == 1 and _ID.fullmatch(args[0]):
            platform = await self.catalogue.get(int(args[0]))
            if platform is None:
                return [Reply(t.PF_STALE)]
            logger.info("User %s pairs with catalogue platform %s", user_id, platform.id)
            return await self.flow.pair(user_id, platform)
        index = await self.catalogue.index()
        state = await self._load(user_id)
        if not state:
            return [Reply(t.STALE_BUTTON)]
        if action == "more" and not args:
            state["o"] = int(state.get("o", 0)) + PAGE
            if state["o"] >= len(self._hits(index, state)):
                return [Reply(t.PF_NO_MORE)]
        elif action in ("fu", "ft") and not args:
            reply = self._choices(index, state, action[1])
            await self._save(user_id, state)  # the options, so a button's number means what was shown
            return [reply]
        elif action in ("u", "t") and len(args) == 1 and _INDEX.fullmatch(args[0]):
            options = state.get("us" if action == "u" else "ts") or []
            chosen = int(args[0])
            if chosen > len(options):
                return [Reply(t.STALE_BUTTON)]
            state[action] = options[chosen - 1] if chosen else None
            state["o"], state["await"] = 0, False
        elif action == "clr" and not args:
            state.update({"u": None, "t": None, "o": 0})
        else:
            return [Reply(t.STALE_BUTTON)]
        await self._save(user_id, state)
        return [self._page(index, state)]

    # -- rendering -----------------------------------------------------------------------------------
    def _hits(
        self, index: PlatformIndex, state: dict[str, Any], *, university: Any = ..., ptype: Any = ...
    ) -> Results:
        return index.search(
            str(state.get("q") or ""),
            university=state.get("u") if university is ... else university,
            platform_type=state.get("t") if ptype is ... else ptype,
        )

    def _page(self, index: PlatformIndex, state: dict[str, Any], *, note: str = "") -> Reply:
        hits = self._hits(index, state)
        query = str(state.get("q") or "")
        if not hits:
            return (
                self.nothing_found(index, query)
                if not state.get("u") and not state.get("t")
                else Reply(t.PF_NONE.format(query=_short(query, 20) or t.PF_ALL), self._filter_row(state))
            )
        offset = min(int(state.get("o", 0)), max(len(hits) - 1, 0))
        page = hits[offset : offset + PAGE]
        parts = [x for x in (state.get("u"), state.get("t")) if x]
        filters = t.PF_FILTERS.format(parts="，".join(parts)) if parts else ""
        head = (t.PF_FOUND if query else t.PF_LISTED).format(
            count=len(hits), filters=filters, first=offset + 1, last=offset + len(page)
        )
        lines = [note, head] if note else [head]
        if any(h.platform.sample for h in page):
            lines.append(t.PF_SAMPLE)
        lines.extend(card(MARKS[i], h.platform) for i, h in enumerate(page))
        rows: list[tuple[Button, ...]] = [
            (Button(t.PF_PAIR.format(mark=MARKS[i]), f"p:pair:{h.platform.id}"),) for i, h in enumerate(page)
        ]
        rest = len(hits) - offset - len(page)
        if rest > 0:
            rows.append((Button(t.PF_MORE.format(rest=rest), "p:more"),))
        rows.extend(self._filter_row(state))
        return Reply("\n".join(lines), tuple(rows))

    @staticmethod
    def _filter_row(state: dict[str, Any]) -> tuple[tuple[Button, ...], ...]:
        row = [Button(t.PF_BY_UNIVERSITY, "p:fu"), Button(t.PF_BY_TYPE, "p:ft")]
        if state.get("u") or state.get("t"):
            row.append(Button(t.PF_CLEAR, "p:clr"))
        return (tuple(row),)

    @staticmethod
    def _browse_buttons(index: PlatformIndex) -> tuple[tuple[Button, ...], ...]:
        return ((Button(t.PF_BY_TYPE, "p:ft"), Button(t.PF_BY_UNIVERSITY, "p:fu")),)

    def _choices(self, index: PlatformIndex, state: dict[str, Any], which: str) -> Reply:
        """The universities (or types) among the current results, with counts; 全部 drops the filter."""
        if which == "u":
            hits = self._hits(index, state, university=None)
            names = sorted({h.platform.university for h in hits}, key=index.universities.index)
            state["us"] = names
            count = {n: sum(1 for h in hits if h.platform.university == n) for n in names}
            prefix, title = "p:u", t.PF_CHOOSE_UNIVERSITY
        else:
            hits = self._hits(index, state, ptype=None)
            names = sorted({h.platform.type for h in hits}, key=index.types.index)
            state["ts"] = names
            count = {n: sum(1 for h in hits if h.platform.type == n) for n in names}
            prefix, title = "p:t", t.PF_CHOOSE_TYPE
        buttons = [Button(f"{n}（{count[n]}）", f"{prefix}:{i}") for i, n in enumerate(names, 1)]
        rows = [(b,) for b in buttons]
        rows.append((Button(t.PF_ALL, f"{prefix}:0"),))
        return Reply(title, tuple(rows))
