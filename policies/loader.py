"""Load `policies/data/*.yaml` into a `PolicyBase`, failing on the first problem with file and line.

YAML is *composed* (not constructed) so every value keeps its node mark; values are then built by
hand according to `policies.schema.SECTIONS`. All strings are NFC-normalised, full-width letters
and digits made ASCII, and stripped.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import string
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from policies.models import Contact, CycleWeek, DatedFact, Document, FaqEntry, PolicyBase, Subsidy
from policies.schema import (
    DATE,
    INT,
    SECTIONS,
    SKIPPED_FILES,
    STR,
    STR_LIST,
    STR_MAP,
    UNIQUE_KEY,
    Field,
    PolicyError,
    display_path,
    matches,
)

__all__ = ["DEFAULT_DATA_DIR", "PolicyError", "load_policy_base"]

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"

# Files the bot cannot work without, with what they provide (named in the error when one is missing).
# Without cycle.yaml there are no weeks, so every reminder but the deadline ones would silently vanish.
REQUIRED_FILES: dict[str, str] = {
    "cycle.yaml": "the six weeks of the quarterly cycle and their reminders",
}

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TAG_NULL = "tag:yaml.org,2002:null"
_TAG_INT = "tag:yaml.org,2002:int"
_TAG_STR = "tag:yaml.org,2002:str"
_TAG_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

_BUILDERS: dict[str, Callable[..., Any]] = {
    "documents": Document,
    "faq": FaqEntry,
    "subsidies": Subsidy,
    "contacts": Contact,
    "cycle": CycleWeek,
    "dated_facts": DatedFact,
}


# Full-width digits and Latin letters become ASCII (phones, 文号 numbers stay searchable); Chinese
# punctuation such as ，：（） is kept, because users read these answers. Matching normalises separately.
_FULLWIDTH_ALNUM = {
    code: code - 0xFEE0
    for start, end in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for code in range(start, end + 1)
}


def clean(text: str) -> str:
    """NFC, full-width letters and digits to ASCII, strip: the only rewriting of curated text."""
    return unicodedata.normalize("NFC", text).translate(_FULLWIDTH_ALNUM).strip()


@dataclass(frozen=True)
class _Ref:
    """A value that must name an id of another section; checked once every file is read."""

    file: str
    line: int
    field: str
    section: str
    value: str


@dataclass
class _Record:
    section: str
    file: str
    index: int
    lines: dict[str, int]  # field -> line
    values: dict[str, Any]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _FileReader:
    """Turns one composed YAML file into validated records, raising PolicyError at the first fault."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = display_path(path)

    def fail(self, node: yaml.Node | None, field: str, message: str) -> PolicyError:
        return PolicyError(self.file, _line(node) if node is not None else 0, field, message)

    def compose(self) -> yaml.Node | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(self.file, 0, "", f"cannot read file: {exc}") from exc
        try:
            return yaml.compose(text, Loader=_Loader)  # type: ignore[no-any-return]
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 0
            problem = exc.problem or exc.context or "invalid YAML"
            raise PolicyError(self.file, line, "", f"YAML syntax error: {problem}") from exc
        except yaml.YAMLError as exc:
            raise PolicyError(self.file, 0, "", f"YAML syntax error: {exc}") from exc

    def records(self) -> Iterator[_Record]:
        root = self.compose()
        if root is None:
            return
        if not isinstance(root, yaml.MappingNode):
            raise self.fail(root, "", "expected a mapping of sections (documents, faq, ...)")
        seen: set[str] = set()
        for key_node, value_node in root.value:
            section = self.key(key_node, "")
            if section not in SECTIONS:
                known = ", ".join(SECTIONS)
                raise self.fail(key_node, section, f"unknown section (known: {known})")
            if section in seen:
                raise self.fail(key_node, section, "section appears twice in this file")
            seen.add(section)
            if _is_null(value_node):
                continue
            if not isinstance(value_node, yaml.SequenceNode):
                raise self.fail(value_node, section, "expected a list of records")
            for index, item in enumerate(value_node.value):
                yield self.record(section, index, item)

    def key(self, node: yaml.Node, where: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or _is_null(node):
            raise self.fail(node, where, "keys must be plain strings")
        return str(node.value)

    def record(self, section: str, index: int, node: yaml.Node) -> _Record:
        where = f"{section}[{index}]"
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "expected a mapping")
        spec = SECTIONS[section]
        lines: dict[str, int] = {}
        values: dict[str, Any] = {}
        for key_node, value_node in node.value:
            name = self.key(key_node, where)
            field = f"{where}.{name}"
            if name not in spec:
                raise self.fail(key_node, field, f"unknown key (known: {', '.join(spec)})")
            if name in lines:
                raise self.fail(key_node, field, "duplicate key")
            lines[name] = _line(value_node)
            value = self.value(spec[name], value_node, field)
            if value is not None:
                values[name] = value
        for name, rule in spec.items():
            if rule.required and name not in values:
                raise self.fail(node, f"{where}.{name}", "required field is missing")
        return _Record(section, self.file, index, lines, values)

    def value(self, rule: Field, node: yaml.Node, field: str) -> Any:
        if _is_null(node):
            return None
        if rule.kind == STR:
            return self.check_str(rule, node, self.scalar_text(node, field), field)
        if rule.kind == INT:
            if not isinstance(node, yaml.ScalarNode) or node.tag != _TAG_INT:
                raise self.fail(node, field, f"expected an integer, got {_describe(node)}")
            number = int(node.value.replace("_", ""), 0)
            if rule.min_value is not None and number < rule.min_value:
                raise self.fail(node, field, f"must be >= {rule.min_value}, got {number}")
            if rule.max_value is not None and number > rule.max_value:
                raise self.fail(node, field, f"must be <= {rule.max_value}, got {number}")
            return number
        if rule.kind == DATE:
            if not isinstance(node, yaml.ScalarNode) or node.tag not in (_TAG_TIMESTAMP, _TAG_STR):
                raise self.fail(node, field, f"expected a date YYYY-MM-DD, got {_describe(node)}")
            text = str(node.value).strip()
            if not _DATE_RE.fullmatch(text):
                raise self.fail(node, field, f"expected a date YYYY-MM-DD, got {text!r}")
            try:
                return dt.date.fromisoformat(text)
            except ValueError as exc:
                raise self.fail(node, field, f"invalid date {text!r}: {exc}") from exc
        if rule.kind == STR_LIST:
            if not isinstance(node, yaml.SequenceNode):
                raise self.fail(node, field, f"expected a list of strings, got {_describe(node)}")
            items = tuple(
                self.check_str(rule, item, self.scalar_text(item, f"{field}[{i}]"), f"{field}[{i}]")
                for i, item in enumerate(node.value)
            )
            for i, item in enumerate(items):
                if not item:
                    raise self.fail(node.value[i], f"{field}[{i}]", "must not be blank")
            if len(items) < rule.min_items:
                raise self.fail(node, field, f"needs at least {rule.min_items} item(s)")
            return items
        if rule.kind == STR_MAP:
            if not isinstance(node, yaml.MappingNode):
                raise self.fail(node, field, f"expected a mapping, got {_describe(node)}")
            pairs: dict[str, str] = {}
            for key_node, value_node in node.value:
                key = self.key(key_node, field)
                where = f"{field}.{key}"
                if rule.choices and key not in rule.choices:
                    raise self.fail(key_node, where, f"unknown kind (known: {', '.join(rule.choices)})")
                if key in pairs:
                    raise self.fail(key_node, where, "duplicate key")
                text = self.scalar_text(value_node, where)
                if not text:
                    raise self.fail(value_node, where, "must not be blank")
                pairs[key] = text
            return tuple(pairs.items())
        raise AssertionError(f"unknown field kind {rule.kind}")  # schema bug, not data

    def scalar_text(self, node: yaml.Node, field: str) -> str:
        # Plain numbers (a phone written without quotes) are kept as typed: the source text.
        if not isinstance(node, yaml.ScalarNode) or _is_null(node):
            raise self.fail(node, field, f"expected a string, got {_describe(node)}")
        return clean(str(node.value))

    def check_str(self, rule: Field, node: yaml.Node, text: str, field: str) -> str:
        if rule.nonempty and not text:
            raise self.fail(node, field, "must not be blank")
        if rule.max_len and len(text) > rule.max_len:
            raise self.fail(node, field, f"longer than {rule.max_len} characters ({len(text)})")
        if rule.choices and text not in rule.choices:
            raise self.fail(node, field, f"{text!r} is not one of {', '.join(map(repr, rule.choices))}")
        if rule.pattern and not matches(rule.pattern, text):
            raise self.fail(node, field, f"{text!r} does not match {rule.pattern}")
        if rule.placeholders is not None:
            self.check_placeholders(rule.placeholders, node, text, field)
        return text

    def check_placeholders(self, allowed: tuple[str, ...], node: yaml.Node, text: str, field: str) -> None:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            raise self.fail(node, field, f"bad template: {exc}") from exc
        for name in names:
            if name not in allowed:
                known = ", ".join(allowed)
                raise self.fail(node, field, f"unknown placeholder {{{name}}} (allowed: {known})")


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _TAG_NULL


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return repr(str(node.value))


def _data_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise PolicyError(display_path(directory), 0, "", "policy data directory not found")
    files = sorted(p for p in directory.glob("*.yaml") if p.name not in SKIPPED_FILES)
    if not files:
        raise PolicyError(display_path(directory), 0, "", "no policy data files (*.yaml)")
    names = {p.name for p in files}
    for name, purpose in REQUIRED_FILES.items():
        if name not in names:
            raise PolicyError(display_path(directory / name), 0, "", f"required file is missing ({purpose})")
    return files


def _check_unique(records: list[_Record]) -> None:
    seen: dict[tuple[str, object], _Record] = {}
    for record in records:
        key = UNIQUE_KEY[record.section]
        value = record.values[key]
        first = seen.setdefault((record.section, value), record)
        if first is not record:
            raise PolicyError(
                record.file,
                record.lines[key],
                f"{record.section}[{record.index}].{key}",
                f"duplicate {key} {value!r} (first defined at {first.file}:{first.lines[key]})",
            )


def _check_refs(records: list[_Record]) -> None:
    ids = {
        section: {r.values["id"] for r in records if r.section == section}
        for section in SECTIONS
        if "id" in SECTIONS[section]
    }
    for record in records:
        for name, rule in SECTIONS[record.section].items():
            value = record.values.get(name)
            if rule.ref and value and value not in ids[rule.ref]:
                where = f"{record.section}[{record.index}].{name}"
                label = rule.ref.rstrip("s")
                raise PolicyError(record.file, record.lines[name], where, f"unknown {label} {value!r}")


def _check_facts(records: list[_Record]) -> None:
    """An entry's facts are quoted from its answer, so the citation covers them too."""
    for record in records:
        if record.section != "faq" or "facts" not in record.values:
            continue
        answer = _squash(record.values["answer"])
        for kind, value in record.values["facts"]:
            if _squash(value) not in answer:
                where = f"faq[{record.index}].facts.{kind}"
                raise PolicyError(
                    record.file, record.lines["facts"], where, f"{value!r} is not quoted from the answer"
                )


def _squash(text: str) -> str:
    return "".join(text.split())


def _check_cycle(records: list[_Record]) -> None:
    weeks = [r for r in records if r.section == "cycle"]
    if not weeks:
        where = next((r.file for r in records if Path(r.file).name == "cycle.yaml"), "cycle.yaml")
        raise PolicyError(where, 0, "cycle", "the six weeks of the quarterly cycle are not defined")
    missing = sorted(set(range(1, 7)) - {r.values["week"] for r in weeks})
    if missing:
        last = weeks[-1]
        raise PolicyError(last.file, last.lines["week"], "cycle", f"weeks missing: {missing}")


def _build(record: _Record) -> Any:
    return _BUILDERS[record.section](**record.values)


def load_policy_base(directory: Path = DEFAULT_DATA_DIR) -> PolicyBase:
    """Read every `*.yaml` in `directory` except form.yaml; raise PolicyError on the first problem."""
    records: list[_Record] = []
    for path in _data_files(directory):
        records.extend(_FileReader(path).records())
    _check_unique(records)
    _check_refs(records)
    _check_facts(records)
    _check_cycle(records)
    if not any(r.section == "documents" for r in records):
        raise PolicyError(display_path(directory), 0, "documents", "no documents defined")

    by_section: dict[str, list[Any]] = {section: [] for section in SECTIONS}
    for record in records:
        by_section[record.section].append(_build(record))
    contacts: tuple[Contact, ...] = tuple(by_section["contacts"])
    cycle = tuple(sorted(by_section["cycle"], key=lambda w: w.week))
    base = PolicyBase(
        documents={d.id: d for d in by_section["documents"]},
        faqs=tuple(by_section["faq"]),
        subsidies=tuple(by_section["subsidies"]),
        contacts=contacts,
        cycle=cycle,
        dated_facts=tuple(by_section["dated_facts"]),
        secretariat_phone=_secretariat_phone(contacts),
    )
    logger.info(
        "loaded policy data from %s: %d documents, %d faq entries, %d subsidies",
        display_path(directory),
        len(base.documents),
        len(base.faqs),
        len(base.subsidies),
    )
    return base


def _secretariat_phone(contacts: tuple[Contact, ...]) -> str:
    """The contact with id 'secretariat' is the programme's hotline; otherwise keep the default."""
    for contact in contacts:
        if contact.id == "secretariat" and contact.phone:
            return contact.phone
    return PolicyBase.secretariat_phone  # the dataclass default
