"""Unanswered questions grouped by similarity, for the secretariat's `bot.py unanswered`.

Greedy clustering: each question (newest first) joins the first group one of whose questions it
resembles, else starts a group. Resemblance is rapidfuzz's token-set ratio over the character
bigrams of the project's normalised text (`policies.normalize`): word order and extra words matter
little. A few hundred questions a quarter make the quadratic worst case irrelevant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from policies.normalize import normalize, tokens
from policies.records import UnansweredQuestion

if TYPE_CHECKING:
    from policies.matcher import Matcher

SIMILAR = 60.0  # token-set ratio (0..100) at which two questions group: paraphrases scored 62-72,
# different questions on one topic ("鲁科贷利率是多少" / "鲁科贷怎么申请") 54


@dataclass(frozen=True)
class UnansweredGroup:
    """Questions that ask the same thing in different words, newest first."""

    questions: tuple[UnansweredQuestion, ...]

    @property
    def count(self) -> int:
        return len(self.questions)

    @property
    def newest(self) -> UnansweredQuestion:
        return self.questions[0]

    @property
    def top_candidate(self) -> str | None:
        """The FAQ id most often ranked first for the group's questions (None if none was)."""
        firsts = Counter(q.candidates[0][0] for q in self.questions if q.candidates)
        return firsts.most_common(1)[0][0] if firsts else None

    def examples(self) -> list[str]:
        """The group's distinct wordings, newest first."""
        return list(dict.fromkeys(q.question for q in self.questions))


def group_questions(questions: Iterable[UnansweredQuestion]) -> list[UnansweredGroup]:
    """Similar questions together; the most frequent group first, then the most recently asked."""
    groups: list[list[tuple[str, UnansweredQuestion]]] = []
    for q in sorted(questions, key=lambda q: q.asked_at, reverse=True):
        norm = " ".join(tokens(normalize(q.question)))
        for members in groups:
            if any(fuzz.token_set_ratio(norm, other) >= SIMILAR for other, _ in members):
                members.append((norm, q))
                break
        else:
            groups.append([(norm, q)])
    found = [UnansweredGroup(tuple(q for _, q in members)) for members in groups]
    found.sort(key=lambda g: (-g.count, -g.newest.asked_at.timestamp()))
    return found


def topic_label(matcher: Matcher, faq_id: str | None) -> str:
    """The FAQ entry a group came closest to, as `bot.py unanswered` and the dashboard name it."""
    entry = matcher.by_id(faq_id) if faq_id else None
    return f"{entry.topic}（{entry.id}）" if entry else "（无）"
