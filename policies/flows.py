"""The form conversation over a Repository: platform-neutral, so Telegram and a web chat share it.

Every accepted answer is saved as the user's draft before the reply goes out, so a crash (kill -9)
loses at most the message being typed, and a new `FormFlow` on the same database resumes. The
pending 我的项目 "更新进展" step is kept in the repository's key-value store for the same reason.

Calls for one user are serialised by the repository's per-user lock (across processes on PostgreSQL);
different users never wait for each other. Nothing is cached in memory: every call reads the draft.
Submitting files the entry and closes the draft in one repository transaction (`submit_draft`), so
a crash leaves either the draft or the entry, and a second 提交 finds no draft and files nothing.

A user sees, updates and is offered as a duplicate the entries they filed and every entry of each
enterprise (credit code) they are an active member of; a typed credit code alone opens nothing. Filing
for a credit code goes through `gate` (the core's membership check: the first user of a code becomes
its member, a later one waits, draft kept, until a member approves).
Button data comes from the client and is checked before use: anything malformed is refused politely.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

from policies.cycle import Filing, filing_quarter, format_date, quarter_name
from policies.form import BACK, CANCEL, PROFILE_ATTRS, STALE, FormSession, FormSpec, display
from policies.models import DatedFact
from policies.platform_catalogue import describe, fold, form_answers
from policies.ports import Repository
from policies.records import (
    F_CREDIT_CODE,
    F_PLATFORM_NAME,
    F_PLATFORM_TYPE,
    F_PROGRESS,
    F_PROJECT_NAME,
    F_SIGNED_ON,
    F_STATUS,
    F_UNIVERSITY,
    Entry,
    EntryChange,
    Platform,
    Profile,
)
from policies.replies import Button, Reply, is_button_data
from policies.settings import TIMEZONE
from policies.validators import MAX_INPUT, ValidationError, validate_date, validate_text

if TYPE_CHECKING:
    from policies.platform_search import PlatformCatalogue

logger = logging.getLogger(__name__)

UPDATE_NAMESPACE = "entry_update"
QUESTION_STARTS = ("什么", "怎么", "怎样", "如何", "哪", "是否", "能否", "可否", "可以", "为什么", "为何",
                   "多少", "请问", "何时", "啥", "谁", "有没有")  # fmt: skip
QUESTION_ENDS = ("?", "？", "吗", "呢")

PAUSED = "已暂停，草稿已保存，发送 /start 可继续填写。"
NO_FORM = "当前没有进行中的填报。点击“填报结对项目”或发送 /fill 开始填报。"
TOO_LONG = f"内容过长（超过 {MAX_INPUT} 字），未做处理，请精简后重新输入。"
NOT_YOURS = "无法操作该项目：只能查看和更新您本人或您所在企业（已确认的企业成员）填报的项目。"
NO_ENTRIES = "您还没有填报过项目。点击“填报结对项目”或发送 /fill 开始填报。"
EXPIRED = "该按钮已失效，未做任何处理。请发送 /start 重新打开菜单。"
ALREADY_SUBMITTED = "该填报已提交，无需重复提交。可在“我的项目”中查看。"
FILL_BUTTON = Button("填报结对项目", "f:fill")
_ID = re.compile(r"[1-9][0-9]{0,18}")
ONE_LIST_RULE = "按要求一个高校院所一张清单、不合并：与几所高校合作，就分别填报几份。"
PLATFORM_CHOICES = 8  # catalogue platforms offered as buttons at the platform-name step
PICK_HINT = (
    "可直接点选该校目录中的平台（自动填入平台类型、联系人和电话），不在列表中请点“其他”或直接输入名称。"
)
PICK_OTHER = "其他（输入名称）"
NO_CHANGE = "无变化（沿用上季度）"


class AnswerLike(Protocol):
    """What `ask` returns: `policies.matcher.Answer` fits."""

    matched: bool
    text: str


AskFn = Callable[[str], AnswerLike | None]
# Before filing: (user id, the form's answers) -> None to go on, or the replies that stop the submit
# (the draft is kept, paused). The core's membership check (`policies.conversation.membership`).
Gate = Callable[[int, Mapping[str, Any]], Awaitable[list[Reply] | None]]


def looks_like_question(text: str) -> bool:
    """Cheap test before consulting the matcher: a question mark, a question particle or word."""
    stripped = text.strip()
    return stripped.endswith(QUESTION_ENDS) or stripped.startswith(QUESTION_STARTS)


class FormFlow:
    """start / handle_text / handle_button / pause for the form, and 我的项目 (list, update, history)."""

    def __init__(
        self,
        repo: Repository,
        spec: FormSpec,
        today: Callable[[], dt.date],
        ask: AskFn | None = None,
        facts: Callable[[], Iterable[DatedFact]] | None = None,
        platforms: PlatformCatalogue | None = None,
    ) -> None:
        """`facts`: the current policy data's dated facts (a published deadline moves the filing quarter);
        `platforms`: the catalogue, whose platforms are offered at the platform-name step."""
        self.repo = repo
        self.platforms = platforms
        self.spec = spec
        self.today = today
        self.ask = ask
        self.facts = facts
        self.gate: Gate | None = None  # set by the conversation core

    # plumbing ----------------------------------------------------------------------------------------
    # No state is kept here: drafts and pending 更新进展 steps are read from the repository on every
    # call, so any worker on the database continues where another left off.
    def _lock(self, user_id: int) -> AbstractAsyncContextManager[None]:
        return self.repo.user_lock(user_id)  # re-entrant: inside the core's own hold it is free

    async def _pending_update(self, user_id: int) -> dict[str, Any] | None:
        """The user's pending 更新进展 step, if any."""
        stored = await self.repo.kv_get(UPDATE_NAMESPACE, str(user_id))
        return dict(stored) if isinstance(stored, dict) else None

    async def _set_update(self, user_id: int, state: dict[str, Any] | None) -> None:
        if state is None:
            if await self._pending_update(user_id) is not None:  # a read is cheaper than a write
                await self.repo.kv_delete(UPDATE_NAMESPACE, str(user_id))
            return
        await self.repo.kv_put(UPDATE_NAMESPACE, str(user_id), state)

    async def _session(self, user_id: int) -> tuple[FormSession, bool] | None:
        draft = await self.repo.get_draft(user_id)
        if draft is None:
            return None
        return FormSession.from_dict(self.spec, dict(draft.state)), draft.paused

    async def _save(self, user_id: int, session: FormSession, *, paused: bool = False) -> None:
        await self.repo.save_draft(user_id, session.to_dict(), paused=paused)

    async def _delete_draft(self, user_id: int) -> None:
        await self.repo.delete_draft(user_id)

    def filing(self) -> Filing:
        """The list an entry filed today goes into: the next quarter's once this one has closed."""
        return filing_quarter(self.today(), self.facts() if self.facts is not None else ())

    def quarter(self) -> str:
        return self.filing().quarter

    # state queries ---------------------------------------------------------------------------------
    async def is_active(self, user_id: int) -> bool:
        """True when free text from this user belongs to the form (or a 更新进展 step), not the FAQ."""
        if await self._pending_update(user_id) is not None:
            return True
        draft = await self.repo.get_draft(user_id)
        return draft is not None and not draft.paused

    async def current_hint(self, user_id: int) -> list[Reply]:
        """For photos, stickers, voice... while a form is active: say what is expected."""
        update = await self._pending_update(user_id)
        if update is not None:
            needed = {"status": "项目最新状态（请点击按钮）", "signed_on": "签约日期"}
            return [
                Reply(f"请输入文字，当前需要填写：{needed.get(update.get('step', ''), '项目最新进展')}。")
            ]
        loaded = await self._session(user_id)
        if loaded is None:
            return [Reply(NO_FORM)]
        session, _ = loaded
        label = session.field.label if session.field else "请点击按钮核对并提交"
        prompt = session.prompt()
        return [Reply(f"请输入文字，当前需要填写：{label}\n\n{prompt.text}", prompt.buttons)]

    # form entry points -------------------------------------------------------------------------------
    async def start(self, user_id: int) -> list[Reply]:
        """/fill: continue an active draft, offer a paused one back, or begin a new form."""
        async with self._lock(user_id):
            return await self._with_platforms(user_id, await self._start(user_id))

    async def _start(self, user_id: int) -> list[Reply]:
        await self._set_update(user_id, None)
        loaded = await self._session(user_id)
        if loaded is not None:
            session, paused = loaded
            if not paused:
                return [_prefixed("您正在填报，请继续：", session.prompt())]
            return [self._resume_offer(session, restart=True)]
        return await self._new(user_id)

    async def offer_resume(self, user_id: int) -> list[Reply]:
        """/start: a draft in progress is paused (free text is a question again) and offered back."""
        async with self._lock(user_id):
            loaded = await self._session(user_id)
            if loaded is None:
                return []
            session, paused = loaded
            if not paused:
                await self._save(user_id, session, paused=True)
            return [self._resume_offer(session, restart=False)]

    async def pause(self, user_id: int) -> list[Reply]:
        """/cancel: keep the draft, stop routing text to it."""
        async with self._lock(user_id):
            if await self._pending_update(user_id) is not None:
                await self._set_update(user_id, None)
                return [Reply("已取消更新进展。")]
            loaded = await self._session(user_id)
            if loaded is None:
                return [Reply(NO_FORM)]
            session, paused = loaded
            if not paused:
                await self._save(user_id, session, paused=True)
            return [Reply(PAUSED)]

    def _resume_offer(self, session: FormSession, *, restart: bool) -> Reply:
        filled = len(session.final_answers())
        other = Button("重新开始", "f:restart") if restart else Button("放弃草稿", "f:discard")
        return Reply(
            f"您有一份未完成的填报（已填 {filled} 项），草稿已保存。",
            ((Button("继续填写", "f:resume"), other),),
        )

    async def _new(self, user_id: int, platform: Platform | None = None) -> list[Reply]:
        profile = await self.repo.get_profile(user_id)
        offer: dict[str, str] = {}
        if profile is not None:
            for spec in self.spec.profile_fields:
                value = getattr(profile, PROFILE_ATTRS[spec.id], "")
                if value:
                    offer[spec.id] = value
        session = FormSession.new(self.spec, offer)
        first = session.prompt()
        if platform is not None:
            first = session.fill(form_answers(platform), _picked(platform)).replies[0]
        await self._save(user_id, session)
        logger.info("Form started by user %s", user_id)
        filing = self.filing()
        intro = (
            f"开始填报《科创平台产学研结对共建项目清单》（{quarter_name(filing.quarter)}）。\n"
            f"{_late_notice(filing)}{ONE_LIST_RULE}\n"
            "每一步都可点“上一步”返回，点“取消”暂停（草稿会保存），最后可逐项核对修改再提交。"
        )
        return [Reply(intro), first]

    async def pair(self, user_id: int, platform: Platform) -> list[Reply]:
        """“与该平台结对” on a 找平台 card: start the form (or continue the draft) with the platform's
        university, name, type, liaison and phone filled in; the summary can still change them."""
        async with self._lock(user_id):
            await self._set_update(user_id, None)
            loaded = await self._session(user_id)
            if loaded is None:
                return await self._with_platforms(user_id, await self._new(user_id, platform))
            session = loaded[0]
            step = session.fill(form_answers(platform), _picked(platform))
            await self._save(user_id, session)
            logger.info("Catalogue platform %s put into the draft of user %s", platform.id, user_id)
            return await self._with_platforms(user_id, step.replies)

    async def _with_platforms(self, user_id: int, replies: list[Reply]) -> list[Reply]:
        """At the platform-name step, offer the chosen university's catalogue platforms as buttons."""
        if self.platforms is None or not replies:
            return replies
        loaded = await self._session(user_id)
        if loaded is None or loaded[1]:
            return replies
        session = loaded[0]
        spec = session.field
        last = replies[-1]
        if session.mode != "field" or spec is None or spec.id != F_PLATFORM_NAME:
            return replies
        if f"· {spec.label}" not in last.text or not any(b.data == "f:back" for r in last.buttons for b in r):
            return replies
        index = await self.platforms.index()
        options = index.by_university(str(session.answers.get(F_UNIVERSITY, "")))[:PLATFORM_CHOICES]
        if not options:
            return replies
        rows: list[tuple[Button, ...]] = [(Button(describe(p), f"f:pl:{p.id}"),) for p in options]
        rows.append((Button(PICK_OTHER, "f:pl:o"),))
        return [*replies[:-1], Reply(f"{last.text}\n{PICK_HINT}", (*rows, *last.buttons), last.keyboard)]

    async def _catalogue_platform(
        self, session: FormSession, *, platform_id: int = 0, name: str = ""
    ) -> Platform | None:
        """The catalogue platform of the draft's university with this id (a button) or name (typed)."""
        if self.platforms is None:
            return None
        university = str(session.answers.get(F_UNIVERSITY, ""))
        if platform_id:
            found = await self.platforms.get(platform_id)
            return found if found is not None and found.university == university else None
        wanted = fold(name)
        index = await self.platforms.index()
        return next((p for p in index.by_university(university) if fold(p.name) == wanted), None)

    async def _forget_catalogue_details(self, session: FormSession) -> None:
        """Another platform than the catalogue's one picked before: its type, liaison and phone go too."""
        before = session.answers.get(F_PLATFORM_NAME)
        old = await self._catalogue_platform(session, name=str(before)) if before else None
        if old is None:
            return
        for field_id, value in form_answers(old).items():
            if field_id not in (F_UNIVERSITY, F_PLATFORM_NAME) and session.answers.get(field_id) == value:
                session.answers.pop(field_id)

    async def _pick(self, user_id: int, session: FormSession, arg: str) -> list[Reply]:
        """f:pl:<platform id> (fill the platform's details) or f:pl:o (type another name)."""
        spec = session.field
        if session.mode != "field" or spec is None or spec.id != F_PLATFORM_NAME:
            return [_prefixed(STALE, session.prompt())]
        if arg == "o":
            session.mode = "other"
            await self._save(user_id, session)
            return [session.prompt()]
        platform = (
            await self._catalogue_platform(session, platform_id=int(arg)) if _ID.fullmatch(arg) else None
        )
        if platform is None:
            return await self._with_platforms(user_id, [_prefixed(STALE, session.prompt())])
        step = session.fill(form_answers(platform), _picked(platform))
        await self._save(user_id, session)
        return step.replies

    # text and buttons --------------------------------------------------------------------------------
    async def handle_text(self, user_id: int, text: str) -> list[Reply]:
        """A typed message while the form (or a 更新进展 step) is active."""
        async with self._lock(user_id):
            if len(text) > MAX_INPUT:  # refused, and the pending field asked again
                return await self._pending_prompt(user_id, TOO_LONG)
            update = await self._pending_update(user_id)
            if update is not None:
                return await self._update_text(user_id, update, text)
            loaded = await self._session(user_id)
            if loaded is None or loaded[1]:
                return [Reply(NO_FORM)]
            session = loaded[0]
            answer = self._answer_question(text)
            if answer is not None:
                return [Reply(answer), _prefixed("请继续填写：", session.prompt())]
            spec = session.field
            if spec is not None and spec.id == F_PLATFORM_NAME and session.mode in ("field", "other"):
                platform = await self._catalogue_platform(session, name=text)
                if platform is not None:  # typed a catalogue name: its type, liaison and phone come along
                    step = session.fill(form_answers(platform), _picked(platform))
                    await self._save(user_id, session)
                    return step.replies
                await self._forget_catalogue_details(session)
            step = session.answer_text(text, self.today())
            if step.changed:
                await self._save(user_id, session)
            return await self._with_platforms(user_id, step.replies)

    async def _pending_prompt(self, user_id: int, note: str) -> list[Reply]:
        """`note`, then what the form (or the 更新进展 step) is waiting for, so the user can go on."""
        update = await self._pending_update(user_id)
        if update is not None:
            entry = await self._visible_entry(user_id, int(update.get("entry_id", 0)))
            if entry is not None:
                if update.get("step") == "status":
                    return [_prefixed(note, self._status_prompt(entry))]
                return [_prefixed(note, self._update_prompt(update, entry))]
        loaded = await self._session(user_id)
        if loaded is None or loaded[1]:
            return [Reply(note)]
        return [_prefixed(note, loaded[0].prompt())]

    def _answer_question(self, text: str) -> str | None:
        if self.ask is None or not looks_like_question(text):
            return None
        try:
            answer = self.ask(text)
        except Exception:  # a broken matcher must not break the form
            logger.exception("Question matcher failed inside the form")
            return None
        return answer.text if answer is not None and answer.matched else None

    async def handle_button(self, user_id: int, data: str) -> list[Reply]:
        """An inline button: `f:...` (form) or `e:...` (我的项目). Data that no button of ours carries
        (non-ASCII, a lone surrogate, too long) is refused before anything reads it."""
        if not is_button_data(data):
            logger.info("Malformed button data from user %s refused", user_id)
            return [Reply(EXPIRED)]
        async with self._lock(user_id):
            if data.startswith("e:"):
                return await self._entry_button(user_id, data)
            return await self._with_platforms(user_id, await self._form_button(user_id, data))

    async def _form_button(self, user_id: int, data: str) -> list[Reply]:
        parts = data.split(":")
        action = parts[1] if len(parts) > 1 else ""
        if action == "fill":
            return await self._start(user_id)
        if action == "upd":  # f:upd:<id> of someone else's entry is refused; an unknown id is stale
            raw_id = parts[2] if len(parts) > 2 else ""
            if _ID.fullmatch(raw_id) is None:
                return [Reply(EXPIRED)]
            other = await self.repo.get_entry(int(raw_id))
            if other is not None and await self._visible_entry(user_id, other.id) is None:
                logger.info("User %s refused access to entry %s", user_id, raw_id)
                return [Reply(NOT_YOURS)]
        if action == "restart":
            await self._delete_draft(user_id)
            await self._set_update(user_id, None)
            return await self._new(user_id)
        loaded = await self._session(user_id)
        if action == "discard":
            await self._delete_draft(user_id)
            return [Reply("草稿已删除。需要时点击“填报结对项目”或发送 /fill 重新填写。")]
        if loaded is None:
            return [Reply("该填报已提交或已删除。" + NO_FORM)]
        session, paused = loaded
        if action == "cancel":
            await self._save(user_id, session, paused=True)
            return [Reply(PAUSED)]
        if paused:  # any form button (继续填写 or one on an older message) resumes the draft
            await self._set_update(user_id, None)
            await self._save(user_id, session)
            if action == "resume":
                return [_prefixed("继续填写：", session.prompt())]
        elif action == "resume":
            return [session.prompt()]
        if action == "submit":
            return await self._submit(user_id, session)
        if action in ("upd", "new"):
            return await self._resolve_duplicate(user_id, session, action, parts[2:])
        if action == "pl" and len(parts) == 3:
            return await self._pick(user_id, session, parts[2])
        step = session.press(data)
        if step.changed:
            await self._save(user_id, session)
        return step.replies

    # submitting ----------------------------------------------------------------------------------------
    async def _submit(self, user_id: int, session: FormSession) -> list[Reply]:
        if session.mode not in ("summary", "duplicate"):
            return [_prefixed(STALE, session.prompt())]
        if not session.complete:
            session.advance()
            await self._save(user_id, session)
            return [_prefixed("还有必填项未填写：", session.prompt())]
        if await self.repo.get_draft(user_id) is None:  # submitted by another process meanwhile
            return [Reply(ALREADY_SUBMITTED, ((Button("我的项目", "e:list"),),))]
        fields = session.final_answers()
        if self.gate is not None:
            stop = await self.gate(user_id, fields)
            if stop is not None:  # kept for later; the profile names the requester to who decides
                await self._save(user_id, session, paused=True)
                profile = _profile_of(user_id, fields)
                if profile is not None:
                    await self.repo.save_profile(profile)
                return stop
        quarter = self.quarter()
        duplicate = await self.repo.find_duplicate(
            quarter=quarter,
            credit_code=str(fields.get(F_CREDIT_CODE, "")),
            university=str(fields.get(F_UNIVERSITY, "")),
            platform_name=str(fields.get(F_PLATFORM_NAME, "")),
            project_name=str(fields.get(F_PROJECT_NAME, "")),
            visible_to=user_id,  # an entry this user may not see is never offered
        )
        if duplicate is None:
            return await self._file(user_id, session, quarter, None)
        session.mode, session.duplicate = "duplicate", {"id": duplicate.id, "quarter": quarter}
        await self._save(user_id, session)
        return [_duplicate_offer(duplicate)]

    async def _resolve_duplicate(
        self, user_id: int, session: FormSession, action: str, args: list[str]
    ) -> list[Reply]:
        dup_id = session.duplicate.get("id")
        if session.mode != "duplicate":
            return [_prefixed(STALE, session.prompt())]
        shown = await self._visible_entry(user_id, int(dup_id)) if dup_id else None
        if action == "upd" and args[:1] != [str(dup_id)]:
            return [_prefixed(STALE, _duplicate_offer(shown) if shown else session.prompt())]
        quarter = str(session.duplicate.get("quarter") or self.quarter())
        return await self._file(user_id, session, quarter, shown if action == "upd" else None)

    async def _file(
        self, user_id: int, session: FormSession, quarter: str, existing: Entry | None
    ) -> list[Reply]:
        """Submit: the entry (new, or `existing` updated) and the draft's end are one transaction."""
        answers = session.final_answers()
        profile = _profile_of(user_id, answers)
        if existing is None:
            entry = await self.repo.submit_draft(user_id, quarter, answers, profile=profile)
        else:
            # The new answers replace the old row; a field left empty this time is removed.
            changes = {spec.id: answers.get(spec.id) for spec in self.spec.fields}
            entry = await self.repo.submit_draft(
                user_id, quarter, changes, update_id=existing.id, profile=profile
            )
        if entry is None:  # another press (or process) submitted this draft already
            logger.info("Second submit of an already submitted draft by user %s ignored", user_id)
            return [Reply(ALREADY_SUBMITTED, ((Button("我的项目", "e:list"),),))]
        updated = existing is not None
        logger.info("Entry %s %s by user %s", entry.id, "updated" if updated else "created", user_id)
        verb = "已更新本季度已有项目" if updated else "提交成功"
        filing = self.filing()
        late = _late_notice(filing) if filing.quarter == entry.quarter else ""
        text = (
            f"✅ {verb}！\n{late}项目“{entry.project_name}”已记入{quarter_name(entry.quarter)}"
            f"「{entry.university}」的《科创平台产学研结对共建项目清单》。\n"
            f"{ONE_LIST_RULE}下季度请在“我的项目”中更新进展。"
        )
        return [Reply(text, ((Button("再填报一个项目", "f:restart"), Button("我的项目", "e:list")),))]

    # 我的项目 ------------------------------------------------------------------------------------------
    async def my_entries(self, user_id: int) -> list[Reply]:
        """The user's entries, one message per university, newest quarter first."""
        entries = list(await self.repo.entries_for_user(user_id))
        if not entries:
            return [Reply(NO_ENTRIES, ((FILL_BUTTON,),))]
        carried = {e.origin_id for e in entries if e.origin_id is not None}
        replies: list[Reply] = [Reply(f"您及所在企业共有 {len(entries)} 条项目记录（{ONE_LIST_RULE}）")]
        for university in sorted({e.university for e in entries}):
            mine = [e for e in entries if e.university == university]
            lines = [f"【{university}】"]
            buttons: list[tuple[Button, ...]] = []
            for quarter in sorted({e.quarter for e in mine}, reverse=True):
                lines.append(f"{quarter_name(quarter)}：")
                for e in (x for x in mine if x.quarter == quarter):
                    lines.append(
                        f"  #{e.id} {e.project_name}（{e.status or '未填状态'}）· 平台：{e.platform_name}"
                    )
                    if e.id in carried:
                        lines.append("    已结转到下一季度")
                        continue
                    buttons.append(
                        (
                            Button(f"更新进展 #{e.id}", f"e:upd:{e.id}"),
                            Button(f"查看历史 #{e.id}", f"e:hist:{e.id}"),
                        )
                    )
            replies.append(Reply("\n".join(lines), tuple(buttons)))
        return replies

    async def _visible_entry(self, user_id: int, entry_id: int) -> Entry | None:
        """The entry if this user filed it or is an active member of its enterprise; else None."""
        entry = await self.repo.get_entry(entry_id)
        if entry is None:
            return None
        if entry.user_id == user_id or await self.repo.membership(entry.credit_code, user_id) == "active":
            return entry
        return None

    async def _entry_button(self, user_id: int, data: str) -> list[Reply]:
        parts = data.split(":")
        action, args = (parts[1] if len(parts) > 1 else ""), parts[2:]
        if action == "list":
            return await self.my_entries(user_id)
        if action == "cancel":
            await self._set_update(user_id, None)
            return [Reply("已取消更新进展。")]
        if action not in ("hist", "upd", "st", "skip", "same") or not args or _ID.fullmatch(args[0]) is None:
            return [Reply(EXPIRED)]
        entry = await self._visible_entry(user_id, int(args[0]))
        if entry is None:
            logger.info("User %s refused access to entry %s", user_id, args[0])
            return [Reply(NOT_YOURS)]
        if action == "hist":
            return [await self._history(user_id, entry)]
        if action == "upd":
            return await self._begin_update(user_id, entry)
        update = await self._pending_update(user_id)
        if update is None or update.get("entry_id") != entry.id:
            return [Reply("该按钮已过期。请在“我的项目”中重新点击“更新进展”。")]
        if action == "st" and len(args) > 1:
            return await self._update_status(user_id, update, entry, args[1])
        if action == "skip":
            return await self._commit_update(user_id, update, entry)
        if action == "same":  # the quarterly "nothing changed": carried forward as it is, one tap
            return await self._commit_update(user_id, {**update, "step": "progress"}, entry)
        return [Reply("该按钮已过期。请在“我的项目”中重新点击“更新进展”。")]

    async def _begin_update(self, user_id: int, entry: Entry) -> list[Reply]:
        notes: list[Reply] = []
        loaded = await self._session(user_id)
        if loaded is not None and not loaded[1]:
            await self._save(user_id, loaded[0], paused=True)
            notes.append(Reply("正在填写的表单已暂停（草稿已保存），完成更新后发送 /fill 可继续。"))
        await self._set_update(user_id, {"entry_id": entry.id, "step": "status"})
        return [*notes, self._status_prompt(entry)]

    def _status_prompt(self, entry: Entry) -> Reply:
        status_spec = self.spec.get(F_STATUS)
        choices = status_spec.choices if status_spec else ()
        buttons = [Button(c, f"e:st:{entry.id}:{i}") for i, c in enumerate(choices)]
        rows = [tuple(buttons[i : i + 3]) for i in range(0, len(buttons), 3)]
        rows.append((Button("保持不变", f"e:st:{entry.id}:k"), Button(CANCEL, "e:cancel")))
        rows.insert(0, (Button(NO_CHANGE, f"e:same:{entry.id}"),))
        filing = self.filing()
        text = (
            f"更新进展：{entry.project_name}\n{entry.university} · {quarter_name(entry.quarter)} · "
            f"当前状态：{entry.status or '未填'}\n{_late_notice(filing)}"
            f"更新将记入{quarter_name(filing.quarter)}的清单，原记录和修改历史都会保留。\n请选择项目最新状态："
        )
        return Reply(text, tuple(rows))

    async def _update_status(
        self, user_id: int, update: dict[str, Any], entry: Entry, choice: str
    ) -> list[Reply]:
        status_spec = self.spec.get(F_STATUS)
        choices = status_spec.choices if status_spec else ()
        status = (
            entry.status
            if choice == "k"
            else choices[int(choice)]
            if choice.isdigit() and int(choice) < len(choices)
            else None
        )
        if status is None:
            return [Reply("该按钮已过期。请在“我的项目”中重新点击“更新进展”。")]
        update = {**update, F_STATUS: status}
        signed = self.spec.get(F_SIGNED_ON)
        needs_date = (
            signed is not None
            and not entry.fields.get(F_SIGNED_ON)
            and signed.is_required({F_STATUS: status})
        )
        update["step"] = "signed_on" if needs_date else "progress"
        await self._set_update(user_id, update)
        return [self._update_prompt(update, entry)]

    def _update_prompt(self, update: Mapping[str, Any], entry: Entry) -> Reply:
        cancel = Button(CANCEL, "e:cancel")
        if update.get("step") == "signed_on":
            return Reply(
                f"项目状态为“{update.get(F_STATUS)}”，请补充签约日期，例如：2025-04-18 或 2025年4月18日。",
                ((cancel,),),
            )
        current = entry.fields.get(F_PROGRESS)
        text = "请输入项目最新进展，例如：已完成中试样机调试，计划下季度小批量试制。"
        if current:
            text += f"\n上次填写：{display(current)}"
        return Reply(text, ((Button("跳过（进展不变）", f"e:skip:{entry.id}"), cancel),))

    async def _update_text(self, user_id: int, update: dict[str, Any], text: str) -> list[Reply]:
        entry = await self._visible_entry(user_id, int(update.get("entry_id", 0)))
        if entry is None:
            await self._set_update(user_id, None)
            return [Reply("该项目已不存在。")]
        answer = self._answer_question(text)
        if answer is not None:
            return [Reply(answer), self._update_prompt(update, entry)]
        if update.get("step") == "status":
            return [Reply("请点击按钮选择项目最新状态。")]
        try:
            if update.get("step") == "signed_on":
                update = {**update, F_SIGNED_ON: validate_date(text, self.today()), "step": "progress"}
                await self._set_update(user_id, update)
                return [self._update_prompt(update, entry)]
            progress_spec = self.spec.get(F_PROGRESS)
            progress = validate_text(
                text, label="最新进展", max_length=progress_spec.max_length if progress_spec else 500
            )
        except ValidationError as exc:
            return [_prefixed(exc.message, self._update_prompt(update, entry))]
        return await self._commit_update(user_id, {**update, F_PROGRESS: progress}, entry)

    async def _commit_update(self, user_id: int, update: Mapping[str, Any], entry: Entry) -> list[Reply]:
        if update.get("step") == "status":
            return [Reply("请先选择项目最新状态。")]
        changes = {
            key: update[key]
            for key in (F_STATUS, F_SIGNED_ON, F_PROGRESS)
            if key in update and update[key] != entry.fields.get(key)
        }
        quarter = self.quarter()
        updated = await self.repo.carry_forward(entry.id, quarter, user_id, changes)
        await self._set_update(user_id, None)
        logger.info("Entry %s carried into %s as %s by user %s", entry.id, quarter, updated.id, user_id)
        lines = [f"✅ 已更新：{updated.project_name}（{quarter_name(quarter)}，状态：{updated.status}）。"]
        if updated.id != entry.id:
            lines.append(
                f"已记入本季度清单（新记录 #{updated.id}），"
                f"{quarter_name(entry.quarter)}的原记录和修改历史均保留。"
            )
        return [Reply("\n".join(lines), ((Button("我的项目", "e:list"),),))]

    async def _history(self, user_id: int, entry: Entry) -> Reply:
        """Changes of this entry and the entries it was carried forward from, oldest first."""
        chain: list[Entry] = [entry]
        while chain[-1].origin_id is not None and len(chain) < 50:
            origin = await self.repo.get_entry(chain[-1].origin_id)
            if origin is None:
                break
            chain.append(origin)
        changes: list[EntryChange] = []
        for item in chain:
            changes.extend(await self.repo.history(item.id))
        changes.sort(key=lambda c: c.changed_at)
        first = chain[-1]
        lines = [f"修改记录：{entry.project_name}", f"{_when(first.created_at)} 创建（{first.quarter}）"]
        for c in changes[-50:]:
            who = "您" if c.changed_by == user_id else f"用户{c.changed_by}"
            spec = self.spec.get(c.field)
            label = spec.label if spec else c.field
            lines.append(
                f"{_when(c.changed_at)} {who}（{c.quarter}）{label}："
                f"{c.old or '（空）'} → {c.new or '（空）'}"
            )
        if not changes:
            lines.append("暂无修改记录。")
        return Reply("\n".join(lines), ((Button(f"更新进展 #{entry.id}", f"e:upd:{entry.id}"),),))


def _profile_of(user_id: int, answers: Mapping[str, Any]) -> Profile | None:
    """The enterprise details of the form's answers, remembered for the next form; None when incomplete."""
    values = {attr: str(answers.get(fid, "")) for fid, attr in PROFILE_ATTRS.items()}
    if values["enterprise_name"] and values["credit_code"]:
        return Profile(user_id=user_id, **values)
    return None


def _late_notice(filing: Filing) -> str:
    """'本季度（…）清单已于…截止并报送高校，本条将记入…清单。' when this quarter's list has closed."""
    if filing.missed is None:
        return ""
    return (
        f"本季度（{quarter_name(filing.missed.quarter)}）清单已于{format_date(filing.missed.extended_date)}"
        f"截止并报送高校，本条将记入{quarter_name(filing.quarter)}清单。\n"
    )


def _when(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")


def _prefixed(prefix: str, reply: Reply) -> Reply:
    return Reply(f"{prefix}\n\n{reply.text}", reply.buttons, reply.keyboard)


def _duplicate_offer(entry: Entry) -> Reply:
    text = (
        f"本季度已填报过相同的项目（#{entry.id}）：\n{entry.university} · {entry.platform_name} · "
        f"{entry.project_name}（状态：{entry.status or '未填'}）\n"
        "请选择：用本次填写的内容更新已有项目（保留修改历史），还是仍然新建一条？"
    )
    return Reply(
        text,
        (
            (Button("更新已有项目", f"f:upd:{entry.id}"),),
            (Button("仍然新建", "f:new"),),
            (Button(BACK, "f:back"), Button(CANCEL, "f:cancel")),
        ),
    )


def _picked(platform: Platform) -> str:
    """The note after a catalogue platform filled the form's platform fields."""
    values = form_answers(platform)
    details = "，".join(
        v for k, v in values.items() if k not in (F_UNIVERSITY, F_PLATFORM_NAME, F_PLATFORM_TYPE)
    )
    return (
        f"已填入平台：{describe(platform)}（{platform.university} · {platform.type}"
        f"{'，联系人 ' + details if details else ''}）。提交前可在核对页修改。"
    )
