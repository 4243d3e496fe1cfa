"""Retrieval channels side by side: which entry each ranks first, on the question sets of bench/faq.py.

Run: python bench/retrieval.py [--data DIR] [--sets blind3,blind4]

Prints, for each channel and each half of the blind sets, top-1 (the first entry's answer holds
every `must` group) and top-3 recall of the answerable questions, plus the build and per-question
cost. Channels: char 1-3-gram TF-IDF (cosine), char 1-3-gram BM25 (own, pure Python; and the
bm25s package when installed, to check the two agree), a pinyin channel (toneless syllables, for
homophone typos), with and without the synonym table, best rapidfuzz ratio over the phrasings,
the homophone correction the matcher uses (retrieval.Homophones), the shipped matcher, and
reciprocal-rank fusions. Ranking only: the bands and declines are
measured by bench/faq.py on the shipped matcher.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz  # noqa: E402

from bench.faq import (  # noqa: E402
    BLIND_SET_3,
    BLIND_SET_4,
    BLIND_SET_5,
    BLIND_SET_6,
    BLIND_SET_8,
    BLIND_SET_9,
    BLIND_SET_10,
    BLIND_SET_11,
    BLIND_SET_12,
    BLIND_SET_13,
    BLIND_SET_14,
    BLIND_SET_15,
    BLIND_SET_16,
    Case,
    correct,
    load_cases,
    split_of,
)
from policies import retrieval  # noqa: E402
from policies.loader import DEFAULT_DATA_DIR, load_policy_base  # noqa: E402
from policies.matcher import Matcher, official_terms, terms  # noqa: E402
from policies.normalize import normalize  # noqa: E402

TODAY = dt.date(2026, 10, 5)
Ranker = Callable[[str], list[int]]  # question -> entry indices, best first


def ngrams(norm: str, sizes: tuple[int, ...] = (1, 2, 3)) -> list[str]:
    return retrieval.char_ngrams(norm, sizes)


class Tfidf:
    """Cosine over sublinear-tf, smoothed-idf char n-gram vectors."""

    def __init__(self, docs: list[list[str]]) -> None:
        n = len(docs)
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        self.idf = {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()}
        self.vecs = [self._vec(d) for d in docs]
        self.post: dict[str, list[int]] = defaultdict(list)
        for i, v in enumerate(self.vecs):
            for t in v:
                self.post[t].append(i)

    def _vec(self, toks: list[str]) -> dict[str, float]:
        tf = Counter(toks)
        v = {t: (1 + math.log(c)) * self.idf.get(t, 0.0) for t, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {t: x / norm for t, x in v.items() if x}

    def rank(self, toks: list[str]) -> list[int]:
        q = self._vec(toks)
        acc: dict[int, float] = defaultdict(float)
        for t, w in q.items():
            for i in self.post.get(t, ()):
                acc[i] += w * self.vecs[i][t]
        return sorted(acc, key=acc.__getitem__, reverse=True)


def bm25s_ranker(docs: list[list[str]]) -> Callable[[list[str]], list[int]] | None:
    try:
        import bm25s
    except ImportError:
        return None
    vocab = {t for d in docs for t in d}
    model = bm25s.BM25(k1=retrieval.K1, b=retrieval.B)
    model.index([d for d in docs], show_progress=False)

    def rank(toks: list[str]) -> list[int]:
        toks = [t for t in toks if t in vocab]
        if not toks:
            return []
        scores = model.get_scores(toks)
        order = sorted(range(len(docs)), key=lambda i: -scores[i])
        return [i for i in order if scores[i] > 0]

    return rank


def rrf(*rankings: list[int], k: int = 60) -> list[int]:
    acc: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for r, i in enumerate(ranking[:50]):
            acc[i] += 1.0 / (k + r + 1)
    return sorted(acc, key=acc.__getitem__, reverse=True)


def build(matcher: Matcher) -> dict[str, Ranker]:
    entries = matcher.entries
    phr = [[normalize(t) for t in (*e.questions, e.topic, *e.keywords)] for e in entries]
    ans = [normalize(e.answer) for e in entries]
    docs = [[g for p in (*ps, a) for g in ngrams(p)] for ps, a in zip(phr, ans, strict=True)]
    tfidf = Tfidf(docs)
    bm25 = retrieval.Bm25(docs)
    lib = bm25s_ranker(docs)
    fixer = retrieval.Homophones(
        [p for ps in phr for p in ps],
        ans,
        frozenset(
            "的是在了我你他她它们这那个要去想该就也都还和与及或把被给让从向为以里么呢吧啊呀哈有没不得地着过会能可应请一儿"
        ),
    )
    pin = retrieval.Bm25(
        [retrieval.pinyin_terms(" ".join(ps) + " " + a) for ps, a in zip(phr, ans, strict=True)]
    )

    def q_norm(q: str, syn: bool = True) -> str:
        n = normalize(q)
        return official_terms(n) if syn else n

    def cut(n: str) -> str:
        return " ".join(terms(n)) and retrieval.cut_question_words(n)

    def rf(q: str) -> list[int]:
        n = q_norm(q)
        best = [max(fuzz.ratio(n, p) for p in ps) for ps in phr]
        return sorted(range(len(entries)), key=lambda i: -best[i])

    def shipped(q: str) -> list[int]:
        return [i for _, i in matcher.scores(q)]

    rankers: dict[str, Ranker] = {
        "rapidfuzz ratio": rf,
        "tfidf 1-3 (no syn)": lambda q: tfidf.rank(ngrams(cut(q_norm(q, False)))),
        "tfidf 1-3 + syn": lambda q: tfidf.rank(ngrams(cut(q_norm(q)))),
        "bm25 1-3 (no syn)": lambda q: bm25.rank(ngrams(cut(q_norm(q, False)))),
        "bm25 1-3 + syn": lambda q: bm25.rank(ngrams(cut(q_norm(q)))),
        "pinyin bm25 + syn": lambda q: pin.rank(retrieval.pinyin_terms(cut(q_norm(q)))),
        "bm25 1-3 + syn + homophone fix": lambda q: bm25.rank(
            ngrams(cut(official_terms(fixer.fix(q_norm(q)))))
        ),
        "shipped matcher": shipped,
    }
    if lib is not None:
        rankers["bm25s pkg 1-3 + syn"] = lambda q: lib(ngrams(cut(q_norm(q))))
    rankers["RRF bm25+fix, rapidfuzz"] = lambda q: rrf(rankers["bm25 1-3 + syn + homophone fix"](q), rf(q))
    rankers["RRF bm25+pinyin"] = lambda q: rrf(rankers["bm25 1-3 + syn"](q), rankers["pinyin bm25 + syn"](q))
    rankers["RRF bm25+pinyin+rf"] = lambda q: rrf(
        rankers["bm25 1-3 + syn"](q), rankers["pinyin bm25 + syn"](q), rf(q)
    )
    rankers["RRF shipped+bm25+pinyin"] = lambda q: rrf(
        shipped(q), rankers["bm25 1-3 + syn"](q), rankers["pinyin bm25 + syn"](q)
    )
    return rankers


def hits(matcher: Matcher, ranker: Ranker, cases: list[Case]) -> tuple[float, float, float]:
    """(top-1 share, top-3 share, ms per question) over the answerable cases."""
    answerable = [c for c in cases if not c.abstain]
    top1 = top3 = 0
    started = time.perf_counter()
    ranked = [ranker(c.question) for c in answerable]
    ms = (time.perf_counter() - started) * 1000 / max(len(answerable), 1)
    for case, order in zip(answerable, ranked, strict=True):
        ok = [correct(case, matcher.render(matcher.entries[i], TODAY, case.question)) for i in order[:3]]
        top1 += bool(ok) and ok[0]
        top3 += any(ok)
    n = max(len(answerable), 1)
    return top1 / n, top3 / n, ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    matcher = Matcher(load_policy_base(args.data))
    rankers = build(matcher)
    halves: list[tuple[str, list[Case]]] = []
    for name, path in (("b3", BLIND_SET_3), ("b4", BLIND_SET_4)):
        cases = load_cases(path)
        halves.append((f"{name} tune", [c for c in cases if split_of(c.question) == "tune"]))
        halves.append((f"{name} VAL", [c for c in cases if split_of(c.question) == "validation"]))
    later = (
        ("b5 tune", BLIND_SET_5),
        ("b6 tune", BLIND_SET_6),
        ("b9 tune", BLIND_SET_9),
        ("b8 tune", BLIND_SET_8),
        ("b11 tune", BLIND_SET_11),
        ("b10 tune", BLIND_SET_10),
        ("b12 tune", BLIND_SET_12),
        ("b13 tune", BLIND_SET_13),
        ("b14 tune", BLIND_SET_14),
        ("b15 VAL", BLIND_SET_15),
        ("b16 VAL", BLIND_SET_16),
    )
    for name, path in later:
        if path.exists():
            halves.append((name, load_cases(path)))
    head = "".join(f"{h:>16}" for h, _ in halves)
    print(f"{'channel (top-1 / top-3 of answerable)':34}{head}{'ms/q':>8}")
    for label, ranker in rankers.items():
        cells, cost = [], []
        for _, cases in halves:
            t1, t3, ms = hits(matcher, ranker, cases)
            cells.append(f"{t1:6.1%} /{t3:6.1%}")
            cost.append(ms)
        print(f"{label:34}{''.join(f'{c:>16}' for c in cells)}{sum(cost) / len(cost):8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
