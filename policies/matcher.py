"""Answer free-text policy questions from the curated FAQ, or decline honestly.

Every FaqEntry contributes phrasings (its questions, topic and keywords), normalised once at
construction. A question is scored against every entry by two signals:

* coverage: IDF-weighted character bigrams of the question found in the entry's phrasings
  (how much of the question the entry explains, and how much of its best phrasing was asked);
* fuzzy: rapidfuzz similarity of the normalised question to the entry's best phrasing, which
  tolerates typos and reordering.

Below `THRESHOLD` the bot does not guess: it says it has no exact answer, offers the closest
topics and the secretariat's phone. Deadline and cycle-week entries are answered with dates
computed for `today` by `policies.cycle`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from policies import cycle
from policies.models import FaqEntry, PolicyBase
from policies.normalize import clean, normalize, tokens

logger = logging.getLogger(__name__)

# Calibrated on /work/shared/faq_dev.yaml and the held-out questions in tests (see bench/faq.py).
THRESHOLD = 50.0
ALTERNATIVES = 3

# Question words and generic verbs: they say what kind of answer is wanted, not which topic.
GENERIC_TOKENS = frozenset(
    "什么 多少 怎么 么办 如何 哪些 哪里 哪个 哪家 是否 可以 需要 有没 没有 能不 不能 是什 是多 时候 "
    "么时 候提 有多 少家 要求 规定 政策 办理 一个 我们 企业 公司 咨询 这个 的是".split()
)
GENERIC_WEIGHT = 0.25

# Mixing weights of the two signals (sum to 1), and of question vs phrasing coverage.
W_COVERAGE = 0.65
W_FUZZY = 0.35
W_QUERY_COVER = 0.6
# Bonus (score points) for an entry of the kind the question's wording asks for.
INTENT_BONUS = 12.0

_DEADLINE_RE = re.compile(r"截止|截至|最晚|最迟|期限|延期|延长|ddl|deadline|哪天交|几号交|什么时候交|前提交")
_WEEK_RE = re.compile(r"第几周|哪周|哪一周|什么时候|何时|几月|哪天|日期|时间")
_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_WEEK_NUM_RE = re.compile(r"第([1-6一二三四五六])周")
_QUARTER_RE = re.compile(r"(?:(\d{4})年?|(今年|明年|去年))?第?([1-4一二三四])季度|(\d{4})q([1-4])")
_RELATIVE_QUARTER = (("下个季度", 1), ("下一季度", 1), ("下季度", 1), ("上个季度", -1), ("上季度", -1))


@dataclass(frozen=True)
class Answer:
    """What the bot says to one question; `text` ends with the citation line when matched."""

    question: str
    matched: bool
    entry: FaqEntry | None
    text: str
    source: str  # the citation line ('来源：…'), empty when declined
    score: float  # 0..100
    alternatives: tuple[FaqEntry, ...] = ()


@dataclass(frozen=True)
class _Phrasing:
    entry: int  # index into Matcher.entries
    text: str  # normalised
    weight: float  # total IDF weight of its tokens
    tokens: frozenset[str]


class Matcher:
    """Scores questions against a PolicyBase's FAQ; build once per base (cheap, ~ms)."""

    def __init__(self, base: PolicyBase, threshold: float = THRESHOLD) -> None:
        self.base = base
        self.threshold = threshold
        self.entries: tuple[FaqEntry, ...] = base.faqs
        self._by_id = {entry.id: entry for entry in self.entries}
        bags: list[set[str]] = []
        raw: list[tuple[int, str]] = []  # (entry index, normalised phrasing) for questions + topic
        for i, entry in enumerate(self.entries):
            bag: set[str] = set()
            for text in (*entry.questions, entry.topic):
                norm = normalize(text)
                if norm:
                    raw.append((i, norm))
                    bag.update(tokens(norm))
            for keyword in entry.keywords:
                bag.update(tokens(normalize(keyword)))
            bags.append(bag)
        df: dict[str, int] = defaultdict(int)
        for bag in bags:
            for token in bag:
                df[token] += 1
        n = max(len(self.entries), 1)
        self._unknown_weight = math.log(1 + n)
        self._idf = {token: self._weigh(token, math.log(1 + n / count)) for token, count in df.items()}
        self._postings: dict[str, list[int]] = defaultdict(list)
        for i, bag in enumerate(bags):
            for token in bag:
                self._postings[token].append(i)
        self._keywords = [
            tuple(k for k in map(normalize, entry.keywords) if len(k) >= 2) for entry in self.entries
        ]
        self._phrasings: list[_Phrasing] = []
        for i, norm in raw:
            toks = frozenset(tokens(norm))
            self._phrasings.append(_Phrasing(i, norm, sum(self._idf[t] for t in toks) or 1.0, toks))
        self._choices = [p.text for p in self._phrasings]
        self._phrasings_of: dict[int, list[_Phrasing]] = defaultdict(list)
        for p in self._phrasings:
            self._phrasings_of[p.entry].append(p)

    @staticmethod
    def _weigh(token: str, idf: float) -> float:
        return idf * GENERIC_WEIGHT if token in GENERIC_TOKENS else idf

    def _token_weight(self, token: str) -> float:
        weight = self._idf.get(token)
        if weight is None:
            weight = self._unknown_weight * (GENERIC_WEIGHT if token in GENERIC_TOKENS else 1.0)
        return weight

    # --- scoring -------------------------------------------------------------------------------

    def scores(self, question: str) -> list[tuple[float, int]]:
        """(score, entry index) for every entry with any signal, best first."""
        norm = normalize(question)
        if not norm:
            return []
        qtokens = set(tokens(norm))
        qweights = {t: self._token_weight(t) for t in qtokens}
        qtotal = sum(qweights.values()) or 1.0
        # Coverage of the question by each entry's bag (inverted index: only entries sharing a token).
        covered: dict[int, float] = defaultdict(float)
        for token in qtokens:
            for i in self._postings.get(token, ()):
                covered[i] += qweights[token]
        # Fuzzy similarity against every phrasing in one C++ call.
        fuzzy: dict[int, float] = {}
        limit = min(len(self._choices), 60)
        for _, value, index in process.extract(norm, self._choices, scorer=fuzz.WRatio, limit=limit):
            i = self._phrasings[index].entry
            if value > fuzzy.get(i, 0.0):
                fuzzy[i] = value
        bonus = self._intent_bonus(norm)
        results: list[tuple[float, int]] = []
        for i in covered.keys() | fuzzy.keys():
            qcov = covered.get(i, 0.0) / qtotal
            pcov = 0.0
            for p in self._phrasings_of.get(i, ()):
                shared = sum(qweights[t] for t in p.tokens & qtokens)
                pcov = max(pcov, shared / p.weight)
            coverage = 100.0 * (W_QUERY_COVER * qcov + (1 - W_QUERY_COVER) * pcov)
            if any(k in norm for k in self._keywords[i]):
                coverage = min(100.0, coverage + 10.0)
            score = W_COVERAGE * coverage + W_FUZZY * fuzzy.get(i, 0.0)
            if qcov > 0:
                score += bonus.get(self.entries[i].kind, 0.0)
            results.append((min(score, 100.0), i))
        results.sort(key=lambda r: (-r[0], r[1]))
        return results

    @staticmethod
    def _intent_bonus(norm: str) -> dict[str, float]:
        bonus: dict[str, float] = {}
        if _DEADLINE_RE.search(norm):
            bonus["deadline"] = INTENT_BONUS
        if _WEEK_RE.search(norm) or _WEEK_NUM_RE.search(norm):
            bonus["cycle_week"] = INTENT_BONUS / 2
        return bonus

    def rank(self, question: str, limit: int = ALTERNATIVES) -> list[tuple[FaqEntry, float]]:
        """The `limit` best entries with their scores."""
        return [(self.entries[i], score) for score, i in self.scores(question)[:limit]]

    def alternatives(self, question: str, limit: int = ALTERNATIVES) -> tuple[FaqEntry, ...]:
        """The `limit` closest topics (for buttons), padded with the first FAQ topics."""
        return self._padded([entry for entry, _ in self.rank(question, limit)], limit)

    def _padded(self, found: list[FaqEntry], limit: int) -> tuple[FaqEntry, ...]:
        """`found` filled up to `limit` with the first FAQ topics, so a decline always offers some."""
        for entry in self.entries:
            if len(found) >= limit:
                break
            if entry not in found:
                found.append(entry)
        return tuple(found)

    def by_id(self, faq_id: str) -> FaqEntry | None:
        return self._by_id.get(faq_id)

    # --- answers -------------------------------------------------------------------------------

    def answer(self, question: str, today: dt.date) -> Answer:
        """The answer to `question` on `today`, or an honest decline below the threshold."""
        ranked = self.scores(question)
        if ranked and ranked[0][0] >= self.threshold:
            score, best = ranked[0]
            entry = self.entries[best]
            others = tuple(self.entries[i] for _, i in ranked[1 : 1 + ALTERNATIVES])
            return self._answer_for(question, entry, today, score, others)
        alternatives = self._padded([self.entries[i] for _, i in ranked[:ALTERNATIVES]], ALTERNATIVES)
        score = ranked[0][0] if ranked else 0.0
        return Answer(question, False, None, self._decline_text(alternatives), "", score, alternatives)

    def answer_entry(self, faq_id: str, today: dt.date, question: str = "") -> Answer | None:
        """The answer of one topic (a topic button was pressed), None if the id is unknown."""
        entry = self.by_id(faq_id)
        if entry is None:
            return None
        return self._answer_for(question or entry.topic, entry, today, 100.0, ())

    def _answer_for(
        self, question: str, entry: FaqEntry, today: dt.date, score: float, others: tuple[FaqEntry, ...]
    ) -> Answer:
        citation = self.base.citation(entry.source, entry.clause)
        body = self.render(entry, today, question)
        return Answer(question, True, entry, f"{body}\n{citation}", citation, score, others)

    def render(self, entry: FaqEntry, today: dt.date, question: str = "") -> str:
        """The answer body (without citation): computed dates first for deadline/cycle entries."""
        text = entry.answer.strip()
        asked = clean(question)
        if entry.kind == "deadline" or (entry.kind == "cycle_week" and _DEADLINE_RE.search(asked)):
            return f"{self._deadline_text(asked, today)}\n{text}"
        if entry.kind == "cycle_week":
            computed = self._week_text(entry, asked, today)
            return f"{computed}\n{text}" if computed else text
        return text

    def _decline_text(self, alternatives: tuple[FaqEntry, ...]) -> str:
        lines = ["抱歉，这个问题我没有找到确切的答案，不想给您不准确的信息。"]
        if alternatives:
            lines.append("您可能想了解：")
            lines.extend(f"{n}. {entry.topic}" for n, entry in enumerate(alternatives, 1))
        lines.append(f"如需人工咨询，请致电高校理事会秘书处：{self.base.secretariat_phone}。")
        return "\n".join(lines)

    # --- computed dates ------------------------------------------------------------------------

    def _deadline_text(self, asked: str, today: dt.date) -> str:
        """The deadline of the quarter the question names, else of the current (or next) quarter."""
        facts = self.base.dated_facts
        quarter = _asked_quarter(asked, today)
        if quarter is not None:
            d = cycle.deadline(quarter, facts)
            if d.date >= today:
                return _deadline_sentence(d, today)
            text = _deadline_sentence(d, today).removesuffix("。") + "；该期限已过。"
            upcoming = cycle.next_deadline(today, facts)
            return text if upcoming.quarter == quarter else f"{text}\n{_deadline_sentence(upcoming, today)}"
        current = cycle.deadline(cycle.quarter_of(today), facts)
        if today <= current.date:
            return _deadline_sentence(current, today)
        text = f"{_quarter_label(current.quarter, today)}的截止日期{cycle.format_date(current.date)}已过"
        if current.extendable and today <= current.extended_date:
            text += f"，已联系延期的最晚可至{cycle.format_date(current.extended_date)}"
        return f"{text}。{_deadline_sentence(cycle.next_deadline(today, facts), today)}"

    def _week_text(self, entry: FaqEntry, asked: str, today: dt.date) -> str:
        week = _week_number(asked) or _entry_week(entry)
        quarter = cycle.cycle_quarter(today)
        lines: list[str] = []
        if week is None:
            weeks = sorted(self.base.cycle, key=lambda w: w.week)
            if not weeks:
                return ""
            lines.append(f"{_quarter_label(quarter, today)}六周安排：")
            for w in weeks:
                start, end = cycle.week_range(quarter, w.week)
                lines.append(f"第{w.week}周（{cycle.format_range(start, end)}）：{w.title}")
        else:
            start, end = cycle.week_range(quarter, week)
            title = next((f"：{w.title}" for w in self.base.cycle if w.week == week), "")
            label = _quarter_label(quarter, today)
            lines.append(f"{label}第{week}周（{cycle.format_range(start, end)}）{title}。")
            if end < today:
                nq = cycle.next_quarter(quarter)
                span = cycle.format_range(*cycle.week_range(nq, week))
                lines.append(f"{label}的第{week}周已过，{_quarter_label(nq, today)}第{week}周为{span}。")
            if week == cycle.SUBMISSION_WEEK:
                lines.append(self._deadline_text("", today))
        now = cycle.cycle_position(today)
        if now is not None:
            lines.append(f"今天（{cycle.format_date(today)}）是{_quarter_label(now[0], today)}第{now[1]}周。")
        return "\n".join(lines)


def _deadline_sentence(d: cycle.Deadline, today: dt.date) -> str:
    return f"{_quarter_label(d.quarter, today)}企业提交清单的截止日期是{_deadline_phrase(d)}。"


def _deadline_phrase(d: cycle.Deadline) -> str:
    """'2026年10月16日（星期五，第3周），可联系延长一周至2026年10月23日'."""
    week = (d.date - cycle.week_start(d.quarter, 1)).days // 7 + 1
    where = f"，第{week}周" if 1 <= week <= cycle.CYCLE_WEEKS else ""
    text = f"{cycle.format_date(d.date)}（{cycle.WEEKDAYS[d.date.weekday()]}{where}）"
    if d.extendable:
        days = (d.extended_date - d.date).days
        span = "一周" if days == 7 else f"{days}天"
        text += f"，可联系延长{span}至{cycle.format_date(d.extended_date)}"
    return text


def _quarter_label(quarter: str, today: dt.date) -> str:
    """'本季度（2026Q4）', '下季度（2027Q1）' or '2025年第二季度（2025Q2）'."""
    current = cycle.quarter_of(today)
    if quarter == current:
        return f"本季度（{quarter}）"
    if quarter == cycle.next_quarter(current):
        return f"下季度（{quarter}）"
    return f"{cycle.quarter_name(quarter)}（{quarter}）"


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _NUMERALS[text]


def _asked_quarter(asked: str, today: dt.date) -> str | None:
    """The quarter a question names ('2025年第二季度', '2025Q2', '下季度'), None if it names none."""
    for words, step in _RELATIVE_QUARTER:
        if words in asked:
            current = cycle.quarter_of(today)
            return cycle.next_quarter(current) if step > 0 else cycle.previous_quarter(current)
    m = _QUARTER_RE.search(asked)
    if not m:
        return None
    if m.group(4):
        return cycle.quarter_label(int(m.group(4)), int(m.group(5)))
    year = today.year
    if m.group(1):
        year = int(m.group(1))
    elif m.group(2):
        year += {"今年": 0, "明年": 1, "去年": -1}[m.group(2)]
    return cycle.quarter_label(year, _number(m.group(3)))


def _week_number(text: str) -> int | None:
    m = _WEEK_NUM_RE.search(text)
    return _number(m.group(1)) if m else None


def _entry_week(entry: FaqEntry) -> int | None:
    """The cycle week an entry is about: from its id ('...week5', 'w5') or its answer's first '第N周'."""
    m = re.search(r"(?:week|w)[-_]?([1-6])(?!\d)", entry.id)
    if m:
        return int(m.group(1))
    for text in (entry.topic, entry.answer):
        found = _week_number(clean(text))
        if found:
            return found
    return None
