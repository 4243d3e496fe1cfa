"""The pairing-entry form: its spec (from `data/form.yaml`) and `FormSession`, the pure state machine.

A session never does I/O: every transition mutates plain JSON-safe state and returns the
`Reply` objects to show, so `policies.flows` can save it after each accepted answer and a
restart (or a web chat) can resume from `to_dict()` exactly where the user was.

Exceptions: FormSpecError (the YAML is wrong; names file, line and field).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policies import validators
from policies.normalize import clean as canonical
from policies.records import (
    F_CREDIT_CODE,
    F_DISTRICT,
    F_ENTERPRISE_CONTACT,
    F_ENTERPRISE_NAME,
    F_ENTERPRISE_PHONE,
)
from policies.replies import Button, Reply
from policies.validators import OTHER, ValidationError

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "form.yaml"
FIELD_TYPES = frozenset({"text", "choice", "multi", "phone", "mobile", "uscc", "date"})
# Form fields that may be `profile: true`, and the `policies.records.Profile` attribute each fills.
PROFILE_ATTRS: Mapping[str, str] = {
    F_ENTERPRISE_NAME: "enterprise_name",
    F_CREDIT_CODE: "credit_code",
    F_ENTERPRISE_CONTACT: "contact_name",
    F_ENTERPRISE_PHONE: "contact_phone",
    F_DISTRICT: "district",
}
_KEYS = frozenset(
    {
        "id",
        "label",
        "prompt",
        "help",
        "type",
        "choices",
        "aliases",
        "allow_other",
        "required",
        "min_length",
        "max_length",
        "when",
        "optional_when",
        "profile",
        "allow_future",
    }
)
_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")

# Button labels (user-facing).
BACK, SKIP, CANCEL, DONE, SUBMIT = "⬅️ 上一步", "跳过", "取消", "✅ 完成", "✅ 提交"
SKIP_WORDS = frozenset({"跳过", "略过", "skip"})
OTHER_WORDS = frozenset({OTHER, "其它"})
EMPTY = "（未填）"
STALE = "该按钮已过期，请按当前步骤操作。"


class FormSpecError(ValueError):
    """form.yaml is malformed; the message names the file, the line and the field."""


Condition = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class FieldSpec:
    """One question of the form."""

    id: str
    label: str
    prompt: str
    type: str
    help: str = ""
    choices: tuple[str, ...] = ()
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    allow_other: bool = False
    required: bool = True
    min_length: int = 0
    max_length: int = 200
    when: Condition = field(default_factory=dict)
    optional_when: Condition = field(default_factory=dict)
    profile: bool = False
    allow_future: bool = False
    line: int = 0

    def applies(self, answers: Mapping[str, Any], *, optimistic: bool = False) -> bool:
        """Whether this field is asked given the answers so far. `optimistic` counts a field whose
        condition is not answered yet (for the 第N/M项 total)."""
        for other, values in self.when.items():
            if other not in answers:
                if not optimistic:
                    return False
                continue
            if answers[other] not in values:
                return False
        return True

    def is_required(self, answers: Mapping[str, Any]) -> bool:
        """Required now. With `optional_when` on an unanswered field it is optional for the moment;
        the session comes back to it if a later answer makes it required."""
        if not self.required:
            return False
        for other, values in self.optional_when.items():
            if other not in answers or answers[other] in values:
                return False
        return True

    @property
    def example(self) -> str:
        """The first example of the help text (例如：A、B -> A), for error messages."""
        match = re.search(r"例如：([^、，,；;。\s]+)", self.help)
        return match.group(1) if match else ""

    def parse(self, raw: str, today: dt.date) -> Any:
        """Validate typed text into the stored value (raises ValidationError)."""
        if self.type == "choice":
            return validators.validate_choice(
                raw,
                self.choices,
                label=self.label,
                allow_other=self.allow_other,
                min_length=self.min_length,
                max_length=self.max_length,
                aliases=self.aliases,
                example=self.example,
            )
        if self.type == "multi":
            return validators.validate_multi(
                raw, self.choices, label=self.label, allow_other=self.allow_other, aliases=self.aliases
            )
        if self.type == "phone":
            return validators.validate_phone(raw)
        if self.type == "mobile":
            return validators.validate_mobile(raw)
        if self.type == "uscc":
            return validators.validate_uscc(raw)
        if self.type == "date":
            return validators.validate_date(raw, today, allow_future=self.allow_future)
        return validators.validate_text(
            raw, label=self.label, min_length=self.min_length, max_length=self.max_length
        )

    def parse_other(self, raw: str) -> str:
        """The text typed after 其他: a listed choice when it names one (石大), else a name."""
        picked = validators.match_choice(raw, self.choices, self.aliases)
        if picked is not None and picked != OTHER:
            return picked
        return validators.validate_name(
            raw,
            label=self.label,
            min_length=self.min_length,
            max_length=self.max_length,
            example=self.example,
        )


def display(value: Any) -> str:
    """An answer as the user reads it in prompts and the summary."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class FormSpec:
    """The ordered fields of the form."""

    fields: tuple[FieldSpec, ...]
    title: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {f.id: f for f in self.fields})

    def get(self, field_id: str) -> FieldSpec | None:
        by_id: dict[str, FieldSpec] = self._by_id  # type: ignore[attr-defined]
        return by_id.get(field_id)

    def __getitem__(self, field_id: str) -> FieldSpec:
        spec = self.get(field_id)
        if spec is None:
            raise KeyError(field_id)
        return spec

    @property
    def profile_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.profile)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> FormSpec:
        """Read and check a form YAML file; FormSpecError names file, line and field."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise FormSpecError(f"{path}: cannot read: {exc}") from None
        return cls.from_text(text, str(path))

    @classmethod
    def from_text(cls, text: str, source: str = "<form>") -> FormSpec:
        try:
            data = yaml.safe_load(text)
            node = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            raise FormSpecError(f"{source}{where}: invalid YAML: {exc}") from None
        return _SpecBuilder(source).build(data, node)


class _SpecBuilder:
    """Turns parsed YAML into a FormSpec, collecting every problem with its line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []

    def error(self, line: int, field_id: str, problem: str) -> None:
        self.errors.append(f"{self.source}:{line}: field {field_id!r}: {problem}")

    def build(self, data: Any, node: yaml.Node | None) -> FormSpec:
        if not isinstance(data, dict) or not isinstance(data.get("fields"), list) or node is None:
            raise FormSpecError(f"{self.source}:1: expected a mapping with a 'fields' list")
        field_nodes = _mapping_value(node, "fields")
        items: list[yaml.Node] = list(field_nodes.value) if isinstance(field_nodes, yaml.SequenceNode) else []
        fields: list[FieldSpec] = []
        for raw, item_node in zip(data["fields"], items, strict=False):
            spec = self.field(raw, item_node, fields)
            if spec is not None:
                fields.append(spec)
        self.check_references(fields)
        if self.errors:
            raise FormSpecError("\n".join(self.errors))
        if not fields:
            raise FormSpecError(f"{self.source}:1: the form has no fields")
        return FormSpec(tuple(fields), title=str(data.get("title", "")), source=self.source)

    def field(self, raw: Any, node: yaml.Node, earlier: Sequence[FieldSpec]) -> FieldSpec | None:
        line = node.start_mark.line + 1
        key_lines: dict[str, int] = {}
        if isinstance(node, yaml.MappingNode):
            key_lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}

        def at(key: str) -> int:
            return key_lines.get(key, line)

        if not isinstance(raw, dict):
            self.error(line, "?", "expected a mapping")
            return None
        fid = raw.get("id")
        name = str(fid)
        if not isinstance(fid, str) or not _ID.fullmatch(fid):
            self.error(at("id"), name, "id must be lower_snake_case, at most 40 characters")
        elif any(f.id == fid for f in earlier):
            self.error(at("id"), name, "duplicate id")
        for key in sorted(set(raw) - _KEYS):
            self.error(at(key), name, f"unknown key {key!r}")
        for key in ("label", "prompt", "type"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                self.error(line, name, f"{key!r} is required")
        ftype = raw.get("type")
        if isinstance(ftype, str) and ftype not in FIELD_TYPES:
            self.error(at("type"), name, f"unknown type {ftype!r} (known: {', '.join(sorted(FIELD_TYPES))})")
        choices = raw.get("choices", [])
        if not isinstance(choices, list) or not all(isinstance(c, str) and c for c in choices):
            self.error(at("choices"), name, "'choices' must be a list of strings")
            choices = []
        if ftype in ("choice", "multi") and not choices:
            self.error(at("type"), name, f"type {ftype} needs 'choices'")
        if raw.get("allow_other") and OTHER not in choices:
            self.error(at("allow_other"), name, f"allow_other needs {OTHER!r} among the choices")
        aliases = self.aliases(raw.get("aliases"), [c for c in choices if c != OTHER], at("aliases"), name)
        if raw.get("profile") and fid not in PROFILE_ATTRS:
            self.error(at("profile"), name, f"only {', '.join(PROFILE_ATTRS)} can be profile fields")
        for key in ("min_length", "max_length"):
            if key in raw and (not isinstance(raw[key], int) or raw[key] < 0):
                self.error(at(key), name, f"{key!r} must be a non-negative integer")
        if self.errors:
            return None
        return FieldSpec(
            id=str(fid),
            label=raw["label"].strip(),
            prompt=raw["prompt"].strip(),
            type=str(ftype),
            help=str(raw.get("help", "")).strip(),
            choices=tuple(choices),
            aliases=aliases,
            allow_other=bool(raw.get("allow_other", False)),
            required=bool(raw.get("required", True)),
            min_length=int(raw.get("min_length", 0)),
            max_length=min(int(raw.get("max_length", 200)), validators.MAX_INPUT),
            when=self.condition(raw.get("when"), at("when"), name, "when"),
            optional_when=self.condition(
                raw.get("optional_when"), at("optional_when"), name, "optional_when"
            ),
            profile=bool(raw.get("profile", False)),
            allow_future=bool(raw.get("allow_future", False)),
            line=line,
        )

    def aliases(self, raw: Any, choices: Sequence[str], line: int, name: str) -> dict[str, tuple[str, ...]]:
        """{choice: (alias, ...)}: each key a listed choice, no alias naming two choices."""
        if raw is None:
            return {}
        if not isinstance(raw, dict) or not all(
            isinstance(v, list) and all(isinstance(a, str) and a.strip() for a in v) for v in raw.values()
        ):
            self.error(line, name, "'aliases' must map a choice to a list of names")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        owner: dict[str, str] = {}
        for choice, names in raw.items():
            if choice not in choices:
                self.error(line, name, f"'aliases': {choice!r} is not a listed choice")
                continue
            for alias in names:
                key = canonical(alias, limit=None)
                if owner.get(key, choice) != choice:
                    self.error(line, name, f"'aliases': {alias!r} names both {owner[key]!r} and {choice!r}")
                owner[key] = choice
            out[str(choice)] = tuple(str(a).strip() for a in names)
        return out

    def condition(self, raw: Any, line: int, name: str, key: str) -> dict[str, tuple[str, ...]]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.error(line, name, f"{key!r} must map a field id to a value or a list of values")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for other, values in raw.items():
            values = values if isinstance(values, list) else [values]
            out[str(other)] = tuple(str(v) for v in values)
        return out

    def check_references(self, fields: Sequence[FieldSpec]) -> None:
        by_id = {f.id: i for i, f in enumerate(fields)}
        for i, spec in enumerate(fields):
            for key, cond in (("when", spec.when), ("optional_when", spec.optional_when)):
                for other, values in cond.items():
                    if other not in by_id or other == spec.id:
                        self.error(spec.line, spec.id, f"{key!r} refers to unknown field {other!r}")
                        continue
                    if key == "when" and by_id[other] > i:
                        self.error(spec.line, spec.id, f"'when' must refer to an earlier field: {other!r}")
                    target = fields[by_id[other]]
                    unknown = [v for v in values if target.choices and v not in target.choices]
                    if unknown:
                        self.error(spec.line, spec.id, f"{key!r}: {unknown} are not choices of {other!r}")


def _mapping_value(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == key:
                return value_node
    return None


# Session -------------------------------------------------------------------------------------------

MODES = frozenset({"profile", "field", "other", "summary", "duplicate"})


@dataclass
class Step:
    """What a transition produced: replies to show, and whether the state changed (save it)."""

    replies: list[Reply]
    changed: bool = False


@dataclass
class FormSession:
    """One user's progress through the form. Pure: no I/O, JSON-serialisable state.

    mode: profile (offering the remembered enterprise), field (asking `current`), other (asking
    the text for 其他 of `current`), summary (review, 修改, 提交), duplicate (submit found the same
    project this quarter; `policies.flows` offers 更新已有项目 / 仍然新建).
    """

    spec: FormSpec
    answers: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    mode: str = "field"
    current: str | None = None
    selection: list[str] = field(default_factory=list)
    editing: bool = False
    offer: dict[str, str] = field(default_factory=dict)
    duplicate: dict[str, Any] = field(default_factory=dict)

    # construction and persistence ------------------------------------------------------------------
    @classmethod
    def new(cls, spec: FormSpec, offer: Mapping[str, str] | None = None) -> FormSession:
        """A fresh session; with `offer` (remembered profile answers) it first asks whether to use them."""
        session = cls(spec)
        if offer:
            session.offer = {k: v for k, v in offer.items() if spec.get(k) is not None and v}
        if session.offer:
            session.mode = "profile"
        else:
            session.advance()
        return session

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "mode": self.mode,
            "current": self.current,
            "answers": dict(self.answers),
            "skipped": list(self.skipped),
            "history": list(self.history),
            "selection": list(self.selection),
            "editing": self.editing,
            "offer": dict(self.offer),
            "duplicate": dict(self.duplicate),
        }

    @classmethod
    def from_dict(cls, spec: FormSpec, data: Mapping[str, Any]) -> FormSession:
        """Restore a saved session; answers to fields the form no longer has are dropped."""
        known = {f.id for f in spec.fields}
        session = cls(
            spec,
            answers={k: v for k, v in dict(data.get("answers", {})).items() if k in known},
            skipped=[k for k in data.get("skipped", []) if k in known],
            history=[k for k in data.get("history", []) if k in known],
            mode=str(data.get("mode", "field")),
            current=data.get("current"),
            selection=[str(s) for s in data.get("selection", [])],
            editing=bool(data.get("editing", False)),
            offer={str(k): str(v) for k, v in dict(data.get("offer", {})).items()},
            duplicate=dict(data.get("duplicate", {})),
        )
        if session.mode not in MODES or (
            session.mode in ("field", "other") and (session.current not in known)
        ):
            session.mode, session.current = "field", None
            session.advance()
        return session

    # queries -------------------------------------------------------------------------------------------
    @property
    def field(self) -> FieldSpec | None:
        return self.spec.get(self.current) if self.current else None

    def applicable(self, *, optimistic: bool = False) -> list[FieldSpec]:
        return [f for f in self.spec.fields if f.applies(self.answers, optimistic=optimistic)]

    def needs(self, spec: FieldSpec) -> bool:
        """Still to be asked: applies, unanswered, and not skipped (or skipped but required now)."""
        if not spec.applies(self.answers) or spec.id in self.answers:
            return False
        return spec.id not in self.skipped or spec.is_required(self.answers)

    def next_needed(self) -> FieldSpec | None:
        return next((f for f in self.spec.fields if self.needs(f)), None)

    def final_answers(self) -> dict[str, Any]:
        """The answers to store: only fields that apply, in form order."""
        return {
            f.id: self.answers[f.id]
            for f in self.spec.fields
            if f.applies(self.answers) and f.id in self.answers
        }

    @property
    def complete(self) -> bool:
        return self.next_needed() is None

    def progress(self) -> tuple[int, int]:
        """(position of the current field, fields in the form) for 第N/M项."""
        fields = self.applicable(optimistic=True)
        ids = [f.id for f in fields]
        position = ids.index(self.current) + 1 if self.current in ids else len(ids)
        return position, len(ids)

    # rendering -------------------------------------------------------------------------------------
    def prompt(self) -> Reply:
        """The message for the current step."""
        if self.mode == "profile":
            return self._profile_prompt()
        if self.mode in ("summary", "duplicate") or self.field is None:
            return self.summary()
        spec = self.field
        position, total = self.progress()
        optional = "" if spec.is_required(self.answers) else "（选填）"
        lines = [f"第{position}/{total}项 · {spec.label}{optional}"]
        if self.mode == "other":
            lines.append(f"请输入{spec.label}（其他）：")
        else:
            lines.append(spec.prompt)
            if spec.id in self.skipped and spec.is_required(self.answers):
                lines.append("根据您的回答，此项为必填。")
        if spec.help:
            lines.append(f"提示：{spec.help}")
        if spec.id in self.answers:
            lines.append(f"当前：{display(self.answers[spec.id])}（输入新内容即可修改）")
        return Reply("\n".join(lines), self._buttons(spec))

    def _buttons(self, spec: FieldSpec) -> tuple[tuple[Button, ...], ...]:
        rows: list[tuple[Button, ...]] = []
        if self.mode == "field" and spec.type in ("choice", "multi"):
            if spec.type == "choice":
                buttons = [Button(c, f"f:c:{i}:{spec.id}") for i, c in enumerate(spec.choices)]
            else:
                buttons = [
                    Button(f"{'☑' if c in self.selection else '☐'} {c}", f"f:t:{i}:{spec.id}")
                    for i, c in enumerate(spec.choices)
                ]
            width = 1 if max(len(c) for c in spec.choices) > 10 else 2 if len(spec.choices) > 3 else 3
            rows.extend(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))
            if spec.type == "multi":
                rows.append((Button(DONE, f"f:done:{spec.id}"),))
        nav = [Button(BACK, "f:back")]
        if not spec.is_required(self.answers):
            nav.append(Button(SKIP, f"f:skip:{spec.id}"))
        nav.append(Button(CANCEL, "f:cancel"))
        rows.append(tuple(nav))
        return tuple(rows)

    def _profile_prompt(self) -> Reply:
        name = self.offer.get(F_ENTERPRISE_NAME) or next(iter(self.offer.values()), "")
        details = "\n".join(f"{f.label}：{self.offer[f.id]}" for f in self.spec.fields if f.id in self.offer)
        return Reply(
            f"使用上次的企业信息：{name}？\n{details}",
            (
                (Button("是，使用", "f:prof:y"), Button("否，重新填写", "f:prof:n")),
                (Button(CANCEL, "f:cancel"),),
            ),
        )

    def summary(self, header: str = "请核对填报内容：") -> Reply:
        """All applicable answers with one 修改 button per field, then 提交."""
        fields = self.applicable()
        lines = [header]
        lines.extend(f"{i}. {f.label}：{display(self.answers.get(f.id))}" for i, f in enumerate(fields, 1))
        lines.append("如需修改请点对应按钮，确认无误请点“提交”。")
        edits = [Button(f"修改 {f.label}", f"f:edit:{f.id}") for f in fields]
        rows = [tuple(edits[i : i + 2]) for i in range(0, len(edits), 2)]
        rows.append((Button(SUBMIT, "f:submit"),))
        rows.append((Button(BACK, "f:back"), Button(CANCEL, "f:cancel")))
        return Reply("\n".join(lines), tuple(rows))

    # transitions -------------------------------------------------------------------------------------
    def answer_text(self, text: str, today: dt.date) -> Step:
        """A typed answer for the current step."""
        spec = self.field
        if self.mode not in ("field", "other") or spec is None:
            return self._again("请点击上方按钮继续。")
        word = validators.clean_input(text[: validators.MAX_INPUT]).lower()
        try:
            if self.mode == "other":
                return self._accept_other(spec, spec.parse_other(text))
            if word in SKIP_WORDS:
                if spec.is_required(self.answers):
                    return self._again(f"“{spec.label}”为必填项，不能跳过。")
                return self._skip(spec)
            if spec.allow_other and word in OTHER_WORDS:
                return self._ask_other(spec)
            value = spec.parse(text, today)
        except ValidationError as exc:
            return self._again(exc.message)
        return self._accept(spec, value)

    def press(self, data: str) -> Step:
        """A button of the form (`f:...`) other than the ones `policies.flows` handles itself."""
        parts = data.split(":")
        action, args = (parts[1] if len(parts) > 1 else ""), parts[2:]
        if action == "prof" and self.mode == "profile":
            if args[:1] == ["y"]:
                self.answers.update(self.offer)
            self.offer = {}
            self.mode = "field"
            return self._advanced(None)
        if action == "back":
            return self._back()
        if action == "edit" and args:
            return self._edit(args[0])
        spec = self.field
        # Buttons carry the field they belong to, so a press on an old message cannot fill another field.
        guard = args[1] if action in ("c", "t") and len(args) > 1 else args[0] if args else None
        if self.mode not in ("field", "other") or spec is None or (guard is not None and guard != spec.id):
            return self._again(STALE)
        if action == "skip":
            if spec.is_required(self.answers):
                return self._again(f"“{spec.label}”为必填项，不能跳过。")
            return self._skip(spec)
        if action in ("c", "t") and args and args[0].isdigit() and int(args[0]) < len(spec.choices):
            choice = spec.choices[int(args[0])]
            if action == "c" and spec.type == "choice":
                if choice == OTHER and spec.allow_other:
                    return self._ask_other(spec)
                return self._accept(spec, choice)
            if action == "t" and spec.type == "multi":
                if choice in self.selection:
                    self.selection.remove(choice)
                else:
                    self.selection.append(choice)
                return Step([self.prompt()], changed=True)
        if action == "done" and spec.type == "multi":
            return self._done(spec)
        return self._again(STALE)

    def fill(self, values: Mapping[str, Any], note: str) -> Step:
        """Several answers at once (a platform picked from the catalogue fills name, type, liaison and
        phone), then on to the next field still needed; the summary can still change each of them."""
        spec = self.field
        self.answers.update({k: v for k, v in values.items() if self.spec.get(k) is not None and v})
        self.skipped = [k for k in self.skipped if k not in self.answers]
        if self.mode == "profile":
            return Step([_noted(note, self.prompt())], changed=True)
        if self.mode == "duplicate":
            self.mode, self.duplicate = "summary", {}
        if spec is not None and self.mode in ("field", "other") and not self.editing:
            self.history.append(spec.id)
        self.editing = False
        self.advance()
        return Step([_noted(note, self.prompt())], changed=True)

    def _done(self, spec: FieldSpec) -> Step:
        if not self.selection:
            if spec.is_required(self.answers):
                return self._again(f"请至少选择一项{spec.label}，再点“完成”。")
            return self._skip(spec)
        if OTHER in self.selection and spec.allow_other:
            return self._ask_other(spec)
        return self._accept(spec, [c for c in spec.choices if c in self.selection])

    def _ask_other(self, spec: FieldSpec) -> Step:
        self.mode = "other"
        return Step([self.prompt()], changed=True)

    def _accept_other(self, spec: FieldSpec, text: str) -> Step:
        if spec.type == "multi":
            picked = [c for c in spec.choices if c in self.selection and c != OTHER]
            return self._accept(spec, picked if text in picked else [*picked, text])
        return self._accept(spec, text)

    def _accept(self, spec: FieldSpec, value: Any) -> Step:
        self.answers[spec.id] = value
        if spec.id in self.skipped:
            self.skipped.remove(spec.id)
        return self._advanced(spec, f"已记录 {spec.label}：{display(value)}")

    def _skip(self, spec: FieldSpec) -> Step:
        self.answers.pop(spec.id, None)
        if spec.id not in self.skipped:
            self.skipped.append(spec.id)
        return self._advanced(spec, f"已跳过 {spec.label}")

    def _advanced(self, spec: FieldSpec | None, note: str = "") -> Step:
        if spec is not None and not self.editing:
            self.history.append(spec.id)
        self.advance()
        reply = self.prompt()
        if note:
            reply = Reply(f"{note}\n\n{reply.text}", reply.buttons, reply.keyboard)
        return Step([reply], changed=True)

    def advance(self) -> None:
        """Move to the first field still needed, or to the summary when none is."""
        nxt = self.next_needed()
        self.selection = []
        if nxt is None:
            self.mode, self.current, self.editing = "summary", None, False
            return
        self.mode, self.current = "field", nxt.id
        self._load_selection(nxt)

    def _load_selection(self, spec: FieldSpec) -> None:
        value = self.answers.get(spec.id)
        self.selection = []
        if spec.type == "multi" and isinstance(value, list):
            self.selection = [c for c in spec.choices if c in value]
            if any(v not in spec.choices for v in value) and OTHER in spec.choices:
                self.selection.append(OTHER)

    def _back(self) -> Step:
        if self.mode == "other":
            self.mode = "field"
            return Step([self.prompt()], changed=True)
        if self.mode == "duplicate":
            self.mode, self.duplicate = "summary", {}
            return Step([self.prompt()], changed=True)
        if self.mode == "field" and self.editing:
            self.mode, self.current, self.editing = "summary", None, False
            return Step([self.prompt()], changed=True)
        while self.history:
            target = self.spec.get(self.history.pop())
            if target is not None and target.applies(self.answers):
                self.mode, self.current, self.editing = "field", target.id, False
                self._load_selection(target)
                return Step([self.prompt()], changed=True)
        if self.mode == "profile":
            return self._again("请选择是否使用上次的企业信息。")
        return self._again("已经是第一项了。")

    def _edit(self, field_id: str) -> Step:
        spec = self.spec.get(field_id)
        if spec is None or not spec.applies(self.answers) or self.mode not in ("summary", "duplicate"):
            return self._again(STALE)
        self.mode, self.current, self.editing, self.duplicate = "field", spec.id, True, {}
        self._load_selection(spec)
        return Step([self.prompt()], changed=True)

    def _again(self, message: str) -> Step:
        """Refuse with `message` and ask the current step again."""
        reply = self.prompt()
        return Step([Reply(f"{message}\n\n{reply.text}", reply.buttons, reply.keyboard)])


def _noted(note: str, reply: Reply) -> Reply:
    return Reply(f"{note}\n\n{reply.text}", reply.buttons, reply.keyboard) if note else reply
