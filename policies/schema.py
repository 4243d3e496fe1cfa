"""The declarative schema of `policies/data/*.yaml` and the one error type it raises.

Each data file is a mapping whose keys are *sections* (``documents``, ``faq``, ``subsidies``,
``contacts``, ``cycle``, ``dated_facts``); each section is a list of records. A file may hold any
subset of the sections, and a section may be spread over several files. ``form.yaml`` is not
policy data and is skipped by the loader.

Exceptions::

    ValueError
     └── PolicyError        one line: "<file>:<line>: <field>: <problem>"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]


def display_path(path: Path) -> str:
    """Paths inside the project are shown relative to its root, so messages read the same anywhere."""
    try:
        return path.resolve().relative_to(_PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


class PolicyError(ValueError):
    """Invalid policy data; `str()` is a single line naming file, line and field."""

    def __init__(self, file: str, line: int, field: str, message: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        where = f"{file}:{line}:" if line else f"{file}:"
        text = f"{where} {field}: {message}" if field else f"{where} {message}"
        super().__init__(" ".join(text.split()))  # never more than one line


# Value kinds a field may have. "date" accepts a YAML date or an ISO "YYYY-MM-DD" string.
STR: Final = "str"
INT: Final = "int"
DATE: Final = "date"
STR_LIST: Final = "str_list"
STR_MAP: Final = "str_map"  # a mapping whose keys are `choices` and whose values are strings


@dataclass(frozen=True)
class Field:
    """One key of a record: its kind, whether it must be present, and optional constraints."""

    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()
    pattern: str = ""  # full-match regex for str values (or for each item of a str_list)
    max_len: int = 0  # for str: characters; for str_list: ignored
    min_items: int = 0  # for str_list
    min_value: int | None = None
    max_value: int | None = None
    nonempty: bool = False  # str must not be blank
    ref: str = ""  # section whose ids this value must name (e.g. "documents")
    placeholders: tuple[str, ...] | None = None  # allowed {names} in a template string


# The kinds of fact an FAQ entry may state as fields (policies.facts.CURATED).
FACT_KINDS: Final = ("amount", "ratio", "date", "phone", "address", "url", "count", "issuer", "validity")

ID_PATTERN: Final = r"[a-z0-9][a-z0-9_.-]{0,47}"  # ASCII: ids end up in 64-byte callback data
QUARTER_PATTERN: Final = r"\d{4}Q[1-4]"

_ID = Field(STR, required=True, pattern=ID_PATTERN)
_SOURCE = Field(STR, required=True, ref="documents")

SECTIONS: Final[dict[str, dict[str, Field]]] = {
    "documents": {
        "id": _ID,
        "title": Field(STR, required=True, nonempty=True),
        "doc_number": Field(STR),
        "issuer": Field(STR),
        "date": Field(DATE),
        "phone": Field(STR),
        "url": Field(STR),
        "seed": Field(STR),
    },
    "faq": {
        "id": _ID,
        "topic": Field(STR, required=True, nonempty=True, max_len=16),
        "questions": Field(STR_LIST, required=True, min_items=1),
        "answer": Field(STR, required=True, nonempty=True),
        "source": _SOURCE,
        "clause": Field(STR),
        "keywords": Field(STR_LIST),
        "kind": Field(STR, choices=("static", "deadline", "cycle_week")),
        # amount / ratio / date / phone / address / url / count / issuer / validity -> the fact as
        # the answer states it (checked: it must be quoted from the answer).
        "facts": Field(STR_MAP, choices=FACT_KINDS),
    },
    "subsidies": {
        "id": _ID,
        "name": Field(STR, required=True, nonempty=True),
        "amount": Field(STR, required=True, nonempty=True),
        "conditions": Field(STR_LIST, required=True, min_items=1),
        "source": _SOURCE,
        "clause": Field(STR),
    },
    "contacts": {
        "id": _ID,
        "name": Field(STR, required=True, nonempty=True),
        "phone": Field(STR),
        "role": Field(STR),
        "source": Field(STR, ref="documents"),
    },
    "cycle": {
        "week": Field(INT, required=True, min_value=1, max_value=6),
        "title": Field(STR, required=True, nonempty=True),
        "actors": Field(STR_LIST, required=True, min_items=1),
        "action": Field(STR, required=True, nonempty=True),
        "source": _SOURCE,
        "reminder_audience": Field(STR, choices=("", "enterprise", "university", "all")),
        "reminder_text": Field(STR, placeholders=("quarter", "deadline", "extended_deadline")),
    },
    "dated_facts": {
        "id": _ID,
        "quarter": Field(STR, required=True, pattern=QUARTER_PATTERN),
        "kind": Field(STR, required=True, choices=("deadline", "release")),
        "date": Field(DATE, required=True),
        "extension_days": Field(INT, min_value=0, max_value=60),
        "text": Field(STR),
        "source": _SOURCE,
    },
}

# The key that must be unique within each section (across all files).
UNIQUE_KEY: Final[dict[str, str]] = {section: "id" for section in SECTIONS} | {"cycle": "week"}

SKIPPED_FILES: Final = frozenset({"form.yaml"})


def matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None
