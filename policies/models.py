"""Policy data as loaded from `policies/data/*.yaml` (see `policies/loader.py` for the schema)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """A source document, cited at the end of every answer."""

    id: str  # e.g. "qdkj-2025-5"
    title: str  # 《青岛市创新联合体组建工作指引》
    doc_number: str = ""  # 文号, e.g. 青科字〔2025〕5号; empty for letters without one
    issuer: str = ""
    date: dt.date | None = None
    phone: str = ""
    url: str = ""
    seed: str = ""  # the seed file it was curated from

    @property
    def citation(self) -> str:
        """'青科字〔2025〕5号《青岛市创新联合体组建工作指引》' or just the title."""
        return f"{self.doc_number}{self.title}" if self.doc_number else self.title


@dataclass(frozen=True)
class FaqEntry:
    """One answerable topic: several phrasings, one answer, one source."""

    id: str
    topic: str  # short label for buttons, e.g. "清单截止时间"
    questions: tuple[str, ...]
    answer: str
    source: str  # Document.id
    clause: str = ""  # e.g. "三、建设要求（二）"
    keywords: tuple[str, ...] = ()
    # "static" answers are plain text; "deadline" and "cycle_week" answers are computed from the
    # cycle and today's date by policies.cycle (the YAML answer is the fallback wording).
    kind: str = "static"
    # Facts a question may ask for, by kind (amount, ratio, date, phone, address, url, count, issuer,
    # validity; see policies.facts), each quoted from `answer`: shown first when asked for.
    facts: tuple[tuple[str, str], ...] = ()

    @property
    def fact_map(self) -> dict[str, str]:
        return dict(self.facts)


@dataclass(frozen=True)
class Subsidy:
    id: str
    name: str
    amount: str  # human wording, e.g. "最高1500万元"
    conditions: tuple[str, ...]
    source: str
    clause: str = ""


@dataclass(frozen=True)
class Contact:
    id: str
    name: str  # who: 高校理事会秘书处
    phone: str
    role: str = ""
    source: str = ""


@dataclass(frozen=True)
class CycleWeek:
    """One week of the quarterly six-week cycle (seed 000, 二)."""

    week: int  # 1..6
    title: str  # 发布清单
    actors: tuple[str, ...]
    action: str
    source: str
    # Reminder sent on this week's Monday: audience "enterprise" | "university" | "all" | "" (none).
    reminder_audience: str = ""
    reminder_text: str = ""  # may use {quarter}, {deadline}, {extended_deadline}


@dataclass(frozen=True)
class DatedFact:
    """A concrete dated fact that overrides the computed cycle, e.g. the 2025Q2 deadline."""

    id: str
    quarter: str  # "2025Q2"
    kind: str  # "deadline"
    date: dt.date
    extension_days: int = 0
    text: str = ""
    source: str = ""


@dataclass(frozen=True)
class PolicyBase:
    """Everything the bot knows, immutable; `/reload` swaps in a whole new one or keeps the old."""

    documents: Mapping[str, Document]
    faqs: tuple[FaqEntry, ...]
    subsidies: tuple[Subsidy, ...] = ()
    contacts: tuple[Contact, ...] = ()
    cycle: tuple[CycleWeek, ...] = ()
    dated_facts: tuple[DatedFact, ...] = ()
    secretariat_phone: str = "13210876217"
    extra: Mapping[str, object] = field(default_factory=dict)

    def document(self, doc_id: str) -> Document:
        return self.documents[doc_id]

    def citation(self, doc_id: str, clause: str = "") -> str:
        """'来源：青科字〔2025〕5号《…》三、（二）' — the line every answer ends with."""
        doc = self.documents.get(doc_id)
        text = doc.citation if doc else doc_id
        return f"来源：{text}{(' ' + clause) if clause else ''}"
